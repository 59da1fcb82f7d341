// Per-node pod CIDRs: fixed-size subnets (a /24 by default) carved from the cluster CIDR.
import { bigToIp, parseRange, subnetOffsetOf, type IpRange } from './ip-range.ts'

export class CidrAllocator {
  readonly range: IpRange
  private readonly used = new Set<bigint>()
  private readonly count: bigint
  private readonly step: bigint

  constructor(cidr: string, readonly subnetPrefix = 24) {
    this.range = parseRange(cidr)
    if (subnetPrefix < this.range.prefix || subnetPrefix > this.range.bits) throw new Error(`subnet /${subnetPrefix} does not fit in ${this.range.cidr}`)
    this.step = 1n << BigInt(this.range.bits - subnetPrefix)
    this.count = this.range.size / this.step
  }

  /** Mark a subnet as taken. Returns false when it is not one of this range's subnets or already taken. */
  allocate(cidr: string): boolean {
    const idx = this.indexOf(cidr)
    if (idx === undefined || this.used.has(idx)) return false
    this.used.add(idx)
    return true
  }

  next(): string | undefined {
    for (let i = 0n; i < this.count; i++) {
      if (!this.used.has(i)) {
        this.used.add(i)
        return `${bigToIp(this.range.base + i * this.step, this.range.family)}/${this.subnetPrefix}`
      }
    }
    return undefined
  }

  release(cidr: string): void {
    const idx = this.indexOf(cidr)
    if (idx !== undefined) this.used.delete(idx)
  }

  private indexOf(cidr: string): bigint | undefined {
    const off = subnetOffsetOf(this.range, cidr, this.subnetPrefix)
    if (off === undefined || off % this.step !== 0n) return undefined
    return off / this.step
  }
}
