// A fixed-size ring of the most recent events. Every resourceVersion is one
// event, so the ring covers a contiguous range; a watch from before that range
// cannot be served and gets 410 Expired.
import type { StoreEvent } from './event.ts'

export class History {
  private readonly ring: (StoreEvent | undefined)[]
  private start = 0
  private count = 0
  constructor(readonly capacity: number) {
    this.ring = new Array(capacity)
  }

  push(ev: StoreEvent): void {
    if (this.capacity === 0) return
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count) % this.capacity] = ev
      this.count++
    } else {
      this.ring[this.start] = ev
      this.start = (this.start + 1) % this.capacity
    }
  }

  private at(i: number): StoreEvent {
    return this.ring[(this.start + i) % this.capacity]!
  }

  /** The oldest resourceVersion still held, or undefined when empty. */
  oldest(): number | undefined {
    return this.count ? this.at(0).rv : undefined
  }

  /**
   * Events after `rv`, oldest first, or undefined when some of them have
   * already fallen out of the ring (the caller answers 410).
   */
  since(rv: number, current: number): StoreEvent[] | undefined {
    if (rv >= current) return []
    const first = this.oldest()
    if (first === undefined || rv + 1 < first) return undefined
    // binary search for the first event with ev.rv > rv
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.at(mid).rv <= rv) lo = mid + 1
      else hi = mid
    }
    const out: StoreEvent[] = []
    for (let i = lo; i < this.count; i++) out.push(this.at(i))
    return out
  }

  /** The last n events, oldest first (what the log keeps at compaction). */
  tail(n: number): StoreEvent[] {
    const k = Math.min(n, this.count)
    const out: StoreEvent[] = []
    for (let i = this.count - k; i < this.count; i++) out.push(this.at(i))
    return out
  }
}
