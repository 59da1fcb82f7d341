// An allocation range: a service or cluster CIDR as a base and a size, so the
// allocators count offsets into it. Parsing and formatting are the address module's.
import { type Addr, AddressError, type Cidr, type IPFamily, bits, familyName, formatCidr, formatIp, parseCidr, sizeOf, tryParseCidr, tryParseIp } from '../../net/address.ts'

export interface IpRange {
  cidr: string
  family: IPFamily
  bits: number
  prefix: number
  base: bigint
  size: bigint
}

/** A range flag (--service-cidr, --cluster-cidr) is a subnet: 10.96.0.5/16 is refused, not guessed at. Throws AddressError. */
export function parseRange(cidr: string): IpRange {
  let c: Cidr
  try {
    c = parseCidr(cidr)
  } catch (e) {
    const err = e as AddressError
    throw new AddressError(err.code, cidr, `invalid CIDR ${JSON.stringify(cidr)}: ${err.reason}`)
  }
  return { cidr: formatCidr(c), family: familyName(c.addr.family), bits: bits(c.addr.family), prefix: c.prefix, base: c.addr.n, size: sizeOf(c) }
}

export function bigToIp(n: bigint, family: IPFamily): string {
  return formatIp({ family: family === 'IPv4' ? 4 : 6, n })
}

function offsetOfAddr(r: IpRange, a: Addr | undefined): bigint | undefined {
  if (!a || familyName(a.family) !== r.family || a.n < r.base || a.n >= r.base + r.size) return undefined
  return a.n - r.base
}

/** The offset of `ip` inside the range, or undefined when it is outside (or not a strict IP of that family). */
export function offsetOf(r: IpRange, ip: string): bigint | undefined {
  return offsetOfAddr(r, tryParseIp(ip))
}

/** The offset of a subnet's first address, or undefined when it is not a /`prefix` subnet inside the range. */
export function subnetOffsetOf(r: IpRange, cidr: string, prefix: number): bigint | undefined {
  const c = tryParseCidr(cidr)
  return c && c.prefix === prefix ? offsetOfAddr(r, c.addr) : undefined
}
