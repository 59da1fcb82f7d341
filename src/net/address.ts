// The one address parser: every IP or CIDR that enters pontoon (API fields, the
// agent's normalisers, netlink input, IPAM config, flags) is read here, so all of
// them give the same verdict on the same string. Strict on purpose: an IPv4
// address is exactly four decimal octets without leading zeros, because libc reads
// "012.1.2.3" as octal and "10.1" as 10.0.0.1, and a string that two programs read
// as two addresses lets a bad address past a check (CVE-2021-29923, KEP-4858).
// IPv6 follows RFC 4291 text form (an IPv4 tail only in that same strict form), no
// zone unless the caller asks. IPv4-mapped IPv6 is refused, or read as the IPv4
// address when a caller must match Go's To4() (host-local's config).
// ipaddr.js turns checked IPv6 text into bytes and does the prefix math (four checked
// decimal octets are an IPv4 address's number as they stand); a bigint
// copy of the address gives ordering and offsets for the allocators.
import ipaddr from 'ipaddr.js'

export type Family = 4 | 6
export type IPFamily = 'IPv4' | 'IPv6'

export interface Addr {
  readonly family: Family
  /** the address as an unsigned integer (32 or 128 bits) */
  readonly n: bigint
  /** only when the caller allowed a zone and one was written ("fe80::1%eth0") */
  readonly zone?: string
}

export interface Cidr {
  /** the address as written (host bits kept when the caller allowed them) */
  readonly addr: Addr
  readonly prefix: number
}

export type AddressErrorCode =
  | 'EADDR_TYPE' // not a string
  | 'EADDR_SYNTAX' // not an address in any form we accept
  | 'EADDR_LEADING_ZERO' // an IPv4 octet written with a leading 0 (octal to libc)
  | 'EADDR_MAPPED' // an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
  | 'EADDR_ZONE' // an IPv6 zone ("%eth0") where none is allowed
  | 'ECIDR_SYNTAX' // no "/", or the address part is not an address
  | 'ECIDR_PREFIX' // the prefix length is not 0..32 / 0..128 in plain decimal
  | 'ECIDR_HOST_BITS' // bits set after the prefix where a subnet is wanted

export class AddressError extends Error {
  constructor(readonly code: AddressErrorCode, readonly input: unknown, readonly reason: string) {
    super(reason)
    this.name = 'AddressError'
  }
}

export interface IpOptions {
  /** 'reject' (default) or 'unmap': read ::ffff:a.b.c.d as the IPv4 address a.b.c.d */
  mapped?: 'reject' | 'unmap'
  /** accept an IPv6 zone ("%eth0"); refused by default */
  zone?: boolean
}

export interface CidrOptions extends IpOptions {
  /** 'reject' (default): a subnet, e.g. a podCIDR; 'keep': an interface address such as 10.0.0.5/24 */
  hostBits?: 'reject' | 'keep'
}

const IP_REASON = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
const CIDR_REASON = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'

const OCTET = /^(0|[1-9]\d{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/
const ZONE = /^[0-9A-Za-z_.-]{1,15}$/

export function bits(f: Family): number {
  return f === 4 ? 32 : 128
}

export function familyName(f: Family): IPFamily {
  return f === 4 ? 'IPv4' : 'IPv6'
}

const V4_SYNTAX = -1
const V4_LEADING_ZERO = -2

/**
 * Four decimal octets of 1-3 digits, each at most 255: the address as a number, or V4_SYNTAX, or
 * V4_LEADING_ZERO when only leading zeros are wrong (so the message can say so). One pass over the
 * characters and no allocation: the agent reads 100,000 endpoint addresses in a cold list.
 */
function scanV4(s: string): number {
  let value = 0
  let parts = 0
  let digits = 0
  let octet = 0
  let zeroFirst = false
  let leadingZero = false
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46 /* the end closes the last octet like a '.' */
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return V4_SYNTAX
      if (digits === 1) zeroFirst = c === 48
      else if (zeroFirst) leadingZero = true
      octet = octet * 10 + (c - 48)
    } else if (c === 46 /* . */) {
      if (digits === 0 || octet > 255 || ++parts > 4) return V4_SYNTAX
      value = value * 256 + octet
      digits = 0
      octet = 0
    } else {
      return V4_SYNTAX
    }
  }
  if (parts !== 4) return V4_SYNTAX
  return leadingZero ? V4_LEADING_ZERO : value
}

/** The checked IPv4 address as a number; throws SYNTAX, or LEADING_ZERO when only the zeros are wrong. */
function checkV4(s: string, input: unknown): number {
  const v = scanV4(s)
  if (v === V4_SYNTAX) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
  if (v === V4_LEADING_ZERO) throw new AddressError('EADDR_LEADING_ZERO', input, 'must not have leading 0s')
  return v
}

/**
 * RFC 4291 section 2.2: eight groups of 1-4 hex digits, one "::" for a run of zero groups, an optional IPv4 tail.
 * Returns the text with the tail rewritten as two hex groups: ipaddr.js reads "::1.2.3.4" as ::ffff:1.2.3.4.
 */
function checkV6(s: string, input: unknown): string {
  const halves = s.split('::')
  if (halves.length > 2) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
  const groups = halves.map((h) => (h === '' ? [] : h.split(':')))
  const all = groups.flat()
  const last = all[all.length - 1]
  let count = all.length
  if (last !== undefined && last.includes('.')) {
    // The tail is the last 32 bits; it cannot sit before a "::".
    if (groups.length === 2 && groups[1]!.length === 0) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
    checkV4(last, input)
    all.pop()
    count += 1
  }
  if (!all.every((g) => HEX_GROUP.test(g))) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
  if (halves.length === 1 ? count !== 8 : count > 7) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
  if (count === all.length) return s
  const [a, b, c, d] = last!.split('.').map(Number) as [number, number, number, number]
  return `${s.slice(0, s.length - last!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
}

function toBig(bytes: ArrayLike<number>): bigint {
  let n = 0n
  for (let i = 0; i < bytes.length; i++) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

/**
 * A dotted-quad IPv4 address as a number, by the same strict rules as parseIp, or undefined
 * for anything else (IPv6 too): for encoders that write ~100,000 addresses and fall back to
 * parseIp for its typed error.
 */
export function ipv4Value(s: string): number | undefined {
  const v = scanV4(s)
  return v < 0 ? undefined : v
}

/** Parse an IP address, or throw an AddressError naming what is wrong with it. */
export function parseIp(input: unknown, opts: IpOptions = {}): Addr {
  if (typeof input !== 'string') throw new AddressError('EADDR_TYPE', input, IP_REASON)
  let s = input
  let zone: string | undefined
  const pct = s.indexOf('%')
  if (pct >= 0) {
    zone = s.slice(pct + 1)
    s = s.slice(0, pct)
    if (!s.includes(':')) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
    if (!opts.zone) throw new AddressError('EADDR_ZONE', input, 'must not have a zone (%...)')
    if (!ZONE.test(zone)) throw new AddressError('EADDR_SYNTAX', input, IP_REASON)
  }
  if (!s.includes(':')) return { family: 4, n: BigInt(checkV4(s, input)) }
  const v6 = ipaddr.IPv6.parse(checkV6(s, input))
  if (v6.isIPv4MappedAddress()) {
    if (opts.mapped !== 'unmap') throw new AddressError('EADDR_MAPPED', input, 'must not be an IPv4-mapped IPv6 address')
    return { family: 4, n: toBig(v6.toIPv4Address().toByteArray()) }
  }
  const n = toBig(v6.toByteArray())
  return zone === undefined ? { family: 6, n } : { family: 6, n, zone }
}

/** Parse a CIDR. Whether bits may be set after the prefix is the caller's choice (`hostBits`). */
export function parseCidr(input: unknown, opts: CidrOptions = {}): Cidr {
  if (typeof input !== 'string') throw new AddressError('EADDR_TYPE', input, CIDR_REASON)
  const slash = input.indexOf('/')
  if (slash < 0) throw new AddressError('ECIDR_SYNTAX', input, CIDR_REASON)
  let addr: Addr
  try {
    addr = parseIp(input.slice(0, slash), opts)
  } catch (e) {
    const err = e as AddressError
    // Keep the precise verdict (leading zero, mapped) but report the whole input.
    const syntax = err.code === 'EADDR_SYNTAX'
    throw new AddressError(syntax ? 'ECIDR_SYNTAX' : err.code, input, syntax ? CIDR_REASON : err.reason)
  }
  // An unmapped ::ffff:a.b.c.d/n keeps its IPv6 length, which cannot describe an IPv4 network.
  if (addr.family === 4 && input.slice(0, slash).includes(':')) throw new AddressError('EADDR_MAPPED', input, 'must not have an IPv4-mapped IPv6 address')
  const p = input.slice(slash + 1)
  const max = bits(addr.family)
  if (!OCTET.test(p) || Number(p) > max) throw new AddressError('ECIDR_PREFIX', input, `prefix length must be 0..${max} without leading 0s`)
  const c: Cidr = { addr, prefix: Number(p) }
  if (opts.hostBits !== 'keep' && networkOf(c).n !== addr.n) {
    throw new AddressError('ECIDR_HOST_BITS', input, `must not have bits set beyond the prefix length (did you mean ${formatCidr({ addr: networkOf(c), prefix: c.prefix })}?)`)
  }
  return c
}

/** parseIp without the throw, for callers that word their own error. */
export function tryParseIp(input: unknown, opts?: IpOptions): Addr | undefined {
  try {
    return parseIp(input, opts)
  } catch {
    return undefined
  }
}

/** parseCidr without the throw, for callers that word their own error. */
export function tryParseCidr(input: unknown, opts?: CidrOptions): Cidr | undefined {
  try {
    return parseCidr(input, opts)
  } catch {
    return undefined
  }
}

/** 'IPv4', 'IPv6', or undefined when the input is not a strict address. */
export function ipFamily(input: unknown): IPFamily | undefined {
  // The common case without parseIp's objects and throws: a string with no ':' is IPv4 or nothing.
  if (typeof input === 'string' && !input.includes(':')) return scanV4(input) >= 0 ? 'IPv4' : undefined
  const a = tryParseIp(input)
  return a && familyName(a.family)
}

export function ipToBytes(a: Addr): Buffer {
  if (a.family === 4) {
    // no BigInt shifts: a cold sync turns ~100,000 endpoint addresses into bytes, and in a TCG guest the
    // BigInt loop was a visible part of it
    const b = Buffer.allocUnsafe(4)
    b.writeUInt32BE(Number(a.n) >>> 0, 0)
    return b
  }
  const b = Buffer.alloc(16)
  let n = a.n
  for (let i = b.length - 1; i >= 0; i--) {
    b[i] = Number(n & 0xffn)
    n >>= 8n
  }
  return b
}

/** An address from 4 or 16 network-order bytes (what the kernel reports). */
export function ipFromBytes(bytes: ArrayLike<number>): Addr {
  if (bytes.length !== 4 && bytes.length !== 16) throw new AddressError('EADDR_SYNTAX', bytes, 'an address is 4 or 16 bytes')
  return { family: bytes.length === 4 ? 4 : 6, n: toBig(bytes) }
}

/** ipaddr.js's object for the address (no zone): the prefix math below is its. */
function lib(a: Addr): ipaddr.IPv4 | ipaddr.IPv6 {
  return ipaddr.fromByteArray([...ipToBytes(a)])
}

/** The canonical text form: dotted quad, or RFC 5952 for IPv6 (lower case, longest zero run as "::"). */
export function formatIp(a: Addr): string {
  const s = lib(a).toString()
  return a.zone === undefined ? s : `${s}%${a.zone}`
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.addr)}/${c.prefix}`
}

/** Re-print an address in canonical form; undefined when it is not one. */
export function canonicalIp(input: unknown, opts?: IpOptions): string | undefined {
  const a = tryParseIp(input, opts)
  return a && formatIp(a)
}

function libCidr(c: Cidr): string {
  return `${lib(c.addr).toString()}/${c.prefix}`
}

/** The first address of the CIDR (host bits cleared). */
export function networkOf(c: Cidr): Addr {
  const s = libCidr(c)
  const net = c.addr.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(s) : ipaddr.IPv6.networkAddressFromCIDR(s)
  return { family: c.addr.family, n: toBig(net.toByteArray()) }
}

/** The last address of the CIDR (the IPv4 broadcast; for IPv6 simply the last). */
export function lastOf(c: Cidr): Addr {
  const s = libCidr(c)
  const last = c.addr.family === 4 ? ipaddr.IPv4.broadcastAddressFromCIDR(s) : ipaddr.IPv6.broadcastAddressFromCIDR(s)
  return { family: c.addr.family, n: toBig(last.toByteArray()) }
}

/** How many addresses the CIDR spans. */
export function sizeOf(c: Cidr): bigint {
  return 1n << BigInt(bits(c.addr.family) - c.prefix)
}

export function contains(c: Cidr, a: Addr): boolean {
  return a.family === c.addr.family && lib(a).match(lib(c.addr), c.prefix)
}

export function offset(a: Addr, by: bigint): Addr {
  return { family: a.family, n: a.n + by }
}
