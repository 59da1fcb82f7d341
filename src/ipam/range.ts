// One allocatable range and a range set (the ranges one address is taken from),
// with host-local's defaults: gateway = network + 1, rangeStart = network + 1,
// rangeEnd = the last address (for IPv4 the one before broadcast).
import { CniError, ErrCode } from '../cni/errors.ts'
import {
  type Addr, type Cidr, type CidrOptions, bits, contains, formatIp, formatCidr, lastOf, networkOf, offset, tryParseCidr, tryParseIp,
} from '../net/address.ts'

export interface RawRange {
  subnet: string
  rangeStart?: string | undefined
  rangeEnd?: string | undefined
  gateway?: string | undefined
}

export interface Range {
  subnet: Cidr
  rangeStart: Addr
  rangeEnd: Addr
  gateway: Addr
  /** the subnet's all-ones address (IPv4 broadcast) */
  last: Addr
}

export type RangeSet = Range[]

/**
 * How host-local reads addresses in its config: Go's net.ParseIP makes ::ffff:a.b.c.d
 * the IPv4 address, and a CIDR is parsed with its host bits (this file refuses them
 * in a subnet with its own message; routes mask them, as host-local does).
 */
export const HOST_LOCAL: CidrOptions = { mapped: 'unmap', hostBits: 'keep' }

function invalid(path: string, msg: string): CniError {
  return new CniError(ErrCode.InvalidConfig, `${path}: ${msg}`)
}

function addrField(path: string, value: string | undefined, subnet: Cidr): Addr | undefined {
  if (value === undefined) return undefined
  const a = tryParseIp(value, HOST_LOCAL)
  if (!a) throw invalid(path, `"${value}" is not an IP address`)
  if (!contains(subnet, a)) throw invalid(path, `${formatIp(a)} is not in subnet ${formatCidr(subnet)}`)
  return a
}

/** Validate one range and fill in host-local's defaults. `path` names it in errors, e.g. ipam.ranges[0][1]. */
export function canonicalizeRange(raw: RawRange, path: string): Range {
  const c = tryParseCidr(raw.subnet, HOST_LOCAL)
  if (!c) throw invalid(`${path}.subnet`, `"${raw.subnet}" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)`)
  const max = bits(c.addr.family)
  // A /31 or /32 (/127, /128) has no address besides the network and gateway.
  if (c.prefix > max - 2) throw invalid(`${path}.subnet`, `${formatCidr(c)} is too small to allocate from`)
  const net = networkOf(c)
  if (net.n !== c.addr.n) {
    throw invalid(`${path}.subnet`, `${formatCidr(c)} has host bits set; the network address for /${c.prefix} is ${formatIp(net)}`)
  }
  const subnet: Cidr = { addr: net, prefix: c.prefix }
  const last = lastOf(subnet)
  const gateway = addrField(`${path}.gateway`, raw.gateway, subnet) ?? offset(net, 1n)
  const rangeStart = addrField(`${path}.rangeStart`, raw.rangeStart, subnet) ?? offset(net, 1n)
  const rangeEnd = addrField(`${path}.rangeEnd`, raw.rangeEnd, subnet) ?? (subnet.addr.family === 4 ? offset(last, -1n) : last)
  if (rangeStart.n > rangeEnd.n) {
    throw invalid(`${path}.rangeStart`, `${formatIp(rangeStart)} is after rangeEnd ${formatIp(rangeEnd)}`)
  }
  return { subnet, rangeStart, rangeEnd, gateway, last }
}

export function rangeContains(r: Range, a: Addr): boolean {
  return a.family === r.subnet.addr.family && a.n >= r.rangeStart.n && a.n <= r.rangeEnd.n
}

export function rangesOverlap(a: Range, b: Range): boolean {
  return a.subnet.addr.family === b.subnet.addr.family && a.rangeStart.n <= b.rangeEnd.n && b.rangeStart.n <= a.rangeEnd.n
}

export function rangeFor(set: RangeSet, a: Addr): Range | undefined {
  return set.find((r) => rangeContains(r, a))
}

export function rangeString(r: Range): string {
  return `${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)}`
}

/** host-local's form, used in its error messages: "10.0.0.1-10.0.0.254,10.1.0.1-10.1.0.254". */
/** Addresses a range never hands out: its gateway and, for IPv4, the network and broadcast addresses. */
export function isReservedInRange(r: Range, a: Addr): boolean {
  if (a.n === r.gateway.n) return true
  if (r.subnet.addr.family !== 4) return false
  return a.n === r.subnet.addr.n || a.n === r.last.n
}
