// Time, passed in: the sync loop runs on the system clock, its tests on a manual one.
export interface Timer {
  cancel(): void
}

export interface Clock {
  now(): number
  setTimer(fn: () => void, ms: number): Timer
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = setTimeout(fn, ms)
    return { cancel: () => clearTimeout(t) }
  },
}

/** A clock that moves only when told to; timers fire in time order. */
export class ManualClock implements Clock {
  private time = 0
  private seq = 0
  private timers = new Map<number, { at: number; fn: () => void }>()

  now(): number {
    return this.time
  }

  setTimer(fn: () => void, ms: number): Timer {
    const id = ++this.seq
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn })
    return { cancel: () => this.timers.delete(id) }
  }

  get pendingTimers(): number {
    return this.timers.size
  }

  /** Move time forward, firing each due timer at its own time and letting its promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      await settle()
      let next: [number, { at: number; fn: () => void }] | undefined
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry
      if (!next) break
      this.timers.delete(next[0])
      this.time = next[1].at
      next[1].fn()
    }
    this.time = end
    await settle()
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
