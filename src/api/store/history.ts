// A fixed-size ring of the most recent durable events. The ring holds every
// event after its `floor` resourceVersion (versions may have gaps: a write
// rolled back after a failed fsync leaves its version unused), so a watch or a
// list from a version below the floor cannot be served and gets 410 Expired.
import type { StoreEvent } from './event.ts'

export class History {
  private readonly ring: (StoreEvent | undefined)[]
  private start = 0
  private count = 0
  private low: number

  constructor(
    readonly capacity: number,
    floor = 0,
  ) {
    this.ring = new Array(capacity)
    this.low = floor
  }

  /** Forget every event; the ring holds everything after `floor` (what a reload starts from). */
  clear(floor: number): void {
    this.ring.fill(undefined)
    this.start = 0
    this.count = 0
    this.low = floor
  }

  push(ev: StoreEvent): void {
    if (this.capacity === 0) {
      this.low = ev.rv
      return
    }
    if (this.count < this.capacity) {
      this.ring[(this.start + this.count) % this.capacity] = ev
      this.count++
      return
    }
    this.low = this.ring[this.start]!.rv
    this.ring[this.start] = ev
    this.start = (this.start + 1) % this.capacity
  }

  private at(i: number): StoreEvent {
    return this.ring[(this.start + i) % this.capacity]!
  }

  /** Every event after this resourceVersion is held. */
  floor(): number {
    return this.low
  }

  /** The oldest resourceVersion still held, or undefined when empty. */
  oldest(): number | undefined {
    return this.count ? this.at(0).rv : undefined
  }

  /** Events after `rv`, oldest first, or undefined when some of them are no longer held (the caller answers 410). */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.low) return undefined
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
