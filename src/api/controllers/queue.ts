// A deduplicating work queue drained on the next turn of the event loop, so a
// controller never writes from inside the store's event dispatch and a burst of
// events for one key costs one sync. A failed sync is not dropped: the key
// comes back after an exponential backoff per key (client-go's rate-limited
// queue does the same), reset by the first success. A fresh add of a key that
// waits for its retry runs it at once.

export interface Backoff {
  /** delay after the first failure (ms); each further failure doubles it */
  baseMs: number
  /** the longest delay (ms) */
  maxMs: number
}

/** The timer functions the queue schedules retries with; injectable for tests. */
export interface Timers {
  set(fn: () => void, ms: number): unknown
  clear(handle: unknown): void
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 100, maxMs: 60_000 }

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
}

export interface QueueOptions {
  backoff?: Backoff
  timers?: Timers
}

/** The delay before retry number `failures` (1 for the first). */
export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, failures - 1))
}

export class WorkQueue {
  private readonly keys = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly retries = new Map<string, unknown>()
  private scheduled = false
  private stopped = false
  private readonly backoff: Backoff
  private readonly timers: Timers
  constructor(
    private readonly work: (key: string) => void,
    private readonly onError: (key: string, e: unknown, retryInMs: number) => void,
    opts: QueueOptions = {},
  ) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF
    this.timers = opts.timers ?? realTimers
  }

  add(key: string): void {
    if (this.stopped) return
    const pending = this.retries.get(key)
    if (pending !== undefined) {
      this.timers.clear(pending)
      this.retries.delete(key)
    }
    this.keys.add(key)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.drain())
    }
  }

  /** Keys waiting for a retry, with their failure counts. */
  waiting(): Map<string, number> {
    return new Map([...this.retries.keys()].map((k) => [k, this.failures.get(k) ?? 0]))
  }

  private drain(): void {
    this.scheduled = false
    const keys = [...this.keys]
    this.keys.clear()
    for (const k of keys) {
      if (this.stopped) return
      try {
        this.work(k)
        this.failures.delete(k)
      } catch (e) {
        const n = (this.failures.get(k) ?? 0) + 1
        this.failures.set(k, n)
        const delay = backoffDelay(this.backoff, n)
        this.onError(k, e, delay)
        this.retries.set(
          k,
          this.timers.set(() => {
            this.retries.delete(k)
            this.add(k)
          }, delay),
        )
      }
    }
  }

  stop(): void {
    this.stopped = true
    this.keys.clear()
    for (const h of this.retries.values()) this.timers.clear(h)
    this.retries.clear()
  }
}
