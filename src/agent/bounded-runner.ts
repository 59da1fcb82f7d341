// Runs a sync function no more often than every minInterval, and at least every
// maxInterval, never two at once, as kube-proxy's BoundedFrequencyRunner does:
// a burst of watch events becomes one sync, and a quiet cluster still gets a
// periodic resync that repairs drift.
import type { Clock, Timer } from './clock.ts'

export interface BoundedRunnerOptions {
  minIntervalMs: number
  maxIntervalMs: number
  clock: Clock
  onError?: (err: unknown) => void
}

export class BoundedFrequencyRunner {
  private lastRun = Number.NEGATIVE_INFINITY
  private running = false
  private pending = false
  private stopped = true
  private timer: Timer | null = null
  private timerAt = Number.POSITIVE_INFINITY

  constructor(
    private readonly fn: () => unknown,
    private readonly opts: BoundedRunnerOptions,
  ) {
    if (!(opts.minIntervalMs >= 0) || !(opts.maxIntervalMs >= opts.minIntervalMs)) {
      throw new RangeError('bounded runner: need 0 <= minIntervalMs <= maxIntervalMs')
    }
  }

  /** Arms the periodic run; nothing runs until run() or maxInterval. */
  start(): void {
    this.stopped = false
    this.scheduleAt(this.opts.clock.now() + this.opts.maxIntervalMs)
  }

  stop(): void {
    this.stopped = true
    this.timer?.cancel()
    this.timer = null
    this.timerAt = Number.POSITIVE_INFINITY
  }

  /** Asks for a run as soon as minInterval allows. Many calls before it happens make one run. */
  run(): void {
    this.pending = true
    if (!this.running) this.scheduleAt(this.earliest())
  }

  /** Asks for a run no later than ms from now (after a failed sync). */
  retryAfter(ms: number): void {
    this.pending = true
    if (!this.running) this.scheduleAt(Math.max(this.earliest(), this.opts.clock.now() + ms))
  }

  private earliest(): number {
    return Math.max(this.opts.clock.now(), this.lastRun + this.opts.minIntervalMs)
  }

  private scheduleAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return
    this.timer?.cancel()
    this.timerAt = at
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = null
      this.timerAt = Number.POSITIVE_INFINITY
      void this.execute()
    }, Math.max(0, at - this.opts.clock.now()))
  }

  private async execute(): Promise<void> {
    if (this.stopped || this.running) return
    this.running = true
    this.pending = false
    this.lastRun = this.opts.clock.now()
    try {
      await this.fn()
    } catch (err) {
      this.opts.onError?.(err)
    } finally {
      this.running = false
    }
    this.scheduleAt(this.pending ? this.earliest() : this.lastRun + this.opts.maxIntervalMs)
  }
}
