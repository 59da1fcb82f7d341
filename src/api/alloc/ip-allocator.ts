// ClusterIP allocation from the service CIDR. The network and (IPv4) broadcast
// addresses are never handed out. State is rebuilt from stored Services at
// start, so nothing here needs its own persistence.
import { bigToIp, offsetOf, parseRange, type IpRange } from './ip-range.ts'

export class IpAllocator {
  readonly range: IpRange
  private readonly used = new Set<bigint>()
  private cursor = 1n
  private readonly first: bigint
  private readonly last: bigint

  constructor(cidr: string) {
    this.range = parseRange(cidr)
    this.first = 1n
    this.last = this.range.family === 'IPv4' ? this.range.size - 2n : this.range.size - 1n
  }

  /** Why `ip` cannot be taken, or undefined once it is taken. */
  allocate(ip: string): string | undefined {
    const off = offsetOf(this.range, ip)
    if (off === undefined || off < this.first || off > this.last) return `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.range.cidr}`
    if (this.used.has(off)) return `the provided IP (${ip}) is already allocated`
    this.used.add(off)
    return undefined
  }

  /** The next free address, or undefined when the range is full. */
  next(): string | undefined {
    const span = this.last - this.first + 1n
    for (let i = 0n; i < span; i++) {
      const off = this.first + ((this.cursor - this.first + i) % span)
      if (!this.used.has(off)) {
        this.used.add(off)
        this.cursor = off + 1n
        return bigToIp(this.range.base + off, this.range.family)
      }
    }
    return undefined
  }

  release(ip: string): void {
    const off = offsetOf(this.range, ip)
    if (off !== undefined) this.used.delete(off)
  }

  has(ip: string): boolean {
    const off = offsetOf(this.range, ip)
    return off !== undefined && this.used.has(off)
  }
}
