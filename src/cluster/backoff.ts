// Exponential backoff with jitter for reconnecting to the API: a restarting
// API server sees a spread of agents, not a thundering herd.
export interface BackoffOptions {
  initialMs: number
  maxMs: number
  /** 0..1: each delay is drawn from [d*(1-jitter), d] */
  jitter: number
  random?: () => number
}

export class Backoff {
  private attempt = 0
  private readonly random: () => number

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random
  }

  next(): number {
    const base = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** this.attempt)
    if (base < this.opts.maxMs) this.attempt++
    return Math.round(base * (1 - this.opts.jitter * this.random()))
  }

  reset(): void {
    this.attempt = 0
  }
}
