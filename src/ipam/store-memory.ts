// An in-process Store for table tests of the allocator and the plugin commands.
import { type Addr, formatIp, tryParseIp } from '../net/address.ts'
import type { Reservation, Store } from './store.ts'

export class MemoryStore implements Store {
  /** formatted address -> holder */
  readonly held = new Map<string, { containerId: string; ifname: string }>()
  readonly last = new Map<number, Addr>()
  locked = false

  lock(): void {
    if (this.locked) throw new Error('MemoryStore: lock() while already locked')
    this.locked = true
  }

  unlock(): void {
    this.locked = false
  }

  close(): void {}

  probe(): void {}

  reserve(id: string, ifname: string, addr: Addr, rangeSet: number): boolean {
    const key = formatIp(addr)
    if (this.held.has(key)) return false
    this.held.set(key, { containerId: id.trim(), ifname })
    this.last.set(rangeSet, addr)
    return true
  }

  lastReserved(rangeSet: number): Addr | undefined {
    return this.last.get(rangeSet)
  }

  release(addr: Addr): boolean {
    return this.held.delete(formatIp(addr))
  }

  list(): Reservation[] {
    return [...this.held].map(([ip, h]) => ({ addr: tryParseIp(ip)!, ...h }))
  }
}
