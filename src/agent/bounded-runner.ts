// Runs a sync function no more often than minInterval allows, and at least every
// maxInterval, never two at once, as kube-proxy's BoundedFrequencyRunner does: a
// burst of watch events becomes one sync, and a quiet cluster still gets a
// periodic resync that repairs drift.
//
// Like kube-proxy's, the rate limit is a token bucket (one token per minInterval,
// up to `burst` saved), so a change after a quiet spell runs at once even if the
// periodic sync just ran. Unlike kube-proxy's, a failed run backs off on its own:
// with minInterval 0 nothing else would stop a failing sync from running again at
// once, forever.
import type { Clock, Timer } from './clock.ts'

export interface BoundedRunnerOptions {
  minIntervalMs: number
  maxIntervalMs: number
  clock: Clock
  /** runs allowed back to back after a quiet spell (kube-proxy's burstRuns); 1 when absent */
  burst?: number
  /** after a failed run the next waits initialMs, doubling up to maxMs; a success resets it (default 1 s up to maxInterval) */
  retry?: { initialMs: number; maxMs: number }
  onError?: (err: unknown) => void
}

export class BoundedFrequencyRunner {
  private readonly burst: number
  private readonly retryInitialMs: number
  private readonly retryMaxMs: number
  private tokens: number
  private tokensAt = 0
  private lastRun = 0
  private running = false
  private pending = false
  private stopped = true
  private retryAt = Number.POSITIVE_INFINITY
  private notBefore = Number.NEGATIVE_INFINITY
  private failures = 0
  private timer: Timer | null = null
  private timerAt = Number.POSITIVE_INFINITY

  constructor(
    private readonly fn: () => unknown,
    private readonly opts: BoundedRunnerOptions,
  ) {
    if (!(opts.minIntervalMs >= 0) || !(opts.maxIntervalMs >= opts.minIntervalMs) || !(opts.maxIntervalMs > 0)) {
      throw new RangeError('bounded runner: need 0 <= minIntervalMs <= maxIntervalMs, and maxIntervalMs > 0')
    }
    this.burst = opts.burst ?? 1
    if (!Number.isInteger(this.burst) || this.burst < 1) throw new RangeError('bounded runner: burst must be an integer >= 1')
    this.retryInitialMs = opts.retry?.initialMs ?? Math.min(1000, opts.maxIntervalMs)
    this.retryMaxMs = opts.retry?.maxMs ?? opts.maxIntervalMs
    if (!(this.retryInitialMs > 0) || !(this.retryMaxMs >= this.retryInitialMs)) {
      throw new RangeError('bounded runner: need 0 < retry.initialMs <= retry.maxMs')
    }
    this.tokens = this.burst
  }

  /** Arms the periodic run; nothing runs until run() or maxInterval. */
  start(): void {
    this.stopped = false
    this.lastRun = this.opts.clock.now()
    this.reschedule()
  }

  stop(): void {
    this.stopped = true
    this.cancelTimer()
  }

  /** Asks for a run as soon as the rate limit allows. Many calls before it happens make one run. */
  run(): void {
    this.pending = true
    this.reschedule()
  }

  /**
   * Asks for a run no later than ms from now (still within the rate limit). Works
   * from inside a run too: it then asks for the run after this one.
   */
  retryAfter(ms: number): void {
    this.retryAt = Math.min(this.retryAt, this.opts.clock.now() + Math.max(0, ms))
    this.reschedule()
  }

  /** Consecutive failed runs (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures
  }

  private tokensNow(now: number): number {
    if (this.opts.minIntervalMs === 0) return this.burst
    return Math.min(this.burst, this.tokens + (now - this.tokensAt) / this.opts.minIntervalMs)
  }

  /** When the bucket next holds a whole token. */
  private tokenReadyAt(now: number): number {
    const have = this.tokensNow(now)
    return have >= 1 ? now : now + (1 - have) * this.opts.minIntervalMs
  }

  private nextAt(now: number): number {
    let due = Math.min(this.lastRun + this.opts.maxIntervalMs, this.retryAt)
    if (this.pending) due = now
    return Math.max(due, now, this.tokenReadyAt(now), this.notBefore)
  }

  private reschedule(): void {
    if (this.stopped || this.running) return
    const now = this.opts.clock.now()
    const at = this.nextAt(now)
    if (at === this.timerAt) return
    this.cancelTimer()
    this.timerAt = at
    this.timer = this.opts.clock.setTimer(() => {
      this.timer = null
      this.timerAt = Number.POSITIVE_INFINITY
      void this.execute()
    }, at - now)
  }

  private cancelTimer(): void {
    this.timer?.cancel()
    this.timer = null
    this.timerAt = Number.POSITIVE_INFINITY
  }

  private async execute(): Promise<void> {
    const start = this.opts.clock.now()
    this.tokens = this.tokensNow(start) - 1
    this.tokensAt = start
    this.running = true
    this.pending = false
    this.retryAt = Number.POSITIVE_INFINITY
    let failed = false
    try {
      await this.fn()
    } catch (err) {
      failed = true
      this.opts.onError?.(err)
    }
    const end = this.opts.clock.now()
    this.running = false
    this.lastRun = end
    if (failed) {
      const delay = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** this.failures)
      this.failures++
      this.notBefore = end + delay
      this.retryAt = Math.min(this.retryAt, this.notBefore)
    } else {
      this.failures = 0
      this.notBefore = Number.NEGATIVE_INFINITY
    }
    this.reschedule()
  }
}
