// Addresses as host-local sees them. ipaddr.js does the parsing, formatting and
// CIDR math; a bigint copy of the address gives ordering and "next address",
// which the allocator walks through. IPv4-mapped IPv6 addresses become IPv4,
// as Go's To4() canonicalisation does, so a file name is the same string that
// host-local would write.
import ipaddr from 'ipaddr.js'
import { bigIntToIp, ipToBigInt } from '../net/ip-bigint.ts'

export type Family = 4 | 6

export interface Addr {
  readonly family: Family
  readonly n: bigint
}

export interface Cidr {
  /** the address as written (may have host bits set) */
  readonly addr: Addr
  readonly prefix: number
}

export function bits(f: Family): number {
  return f === 4 ? 32 : 128
}

function fromIp(ip: ipaddr.IPv4 | ipaddr.IPv6): Addr {
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address()
  return { family: ip.kind() === 'ipv4' ? 4 : 6, n: ipToBigInt(ip) }
}

function toIp(a: Addr): ipaddr.IPv4 | ipaddr.IPv6 {
  return bigIntToIp(a.n, a.family)
}

/** Strict parse (dotted quad for IPv4, no zone for IPv6); undefined when not an address. */
export function parseAddr(s: string): Addr | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return fromIp(ipaddr.IPv4.parse(s))
  if (!s.includes('%') && ipaddr.IPv6.isValid(s)) return fromIp(ipaddr.IPv6.parse(s))
  return undefined
}

/** `a.b.c.d/n` or `x::/n`; undefined when malformed. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/')
  if (slash < 0) return undefined
  const addr = parseAddr(s.slice(0, slash))
  const p = s.slice(slash + 1)
  if (!addr || !/^(0|[1-9]\d{0,2})$/.test(p)) return undefined
  const prefix = Number(p)
  // An IPv4-mapped subnet keeps its IPv6 prefix length, which cannot describe an IPv4 network.
  if (prefix > bits(addr.family) || (addr.family === 4 && !ipaddr.IPv4.isValidFourPartDecimal(s.slice(0, slash)))) return undefined
  return { addr, prefix }
}

export function formatAddr(a: Addr): string {
  return toIp(a).toString()
}

export function formatCidr(c: Cidr): string {
  return `${formatAddr(c.addr)}/${c.prefix}`
}

export function networkAddress(c: Cidr): Addr {
  const s = formatCidr(c)
  return fromIp(c.addr.family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(s) : ipaddr.IPv6.networkAddressFromCIDR(s))
}

/** The all-ones host address (IPv4 broadcast; for IPv6 simply the last address). */
export function lastAddress(c: Cidr): Addr {
  const s = formatCidr(c)
  return fromIp(c.addr.family === 4 ? ipaddr.IPv4.broadcastAddressFromCIDR(s) : ipaddr.IPv6.broadcastAddressFromCIDR(s))
}

export function inCidr(a: Addr, c: Cidr): boolean {
  if (a.family !== c.addr.family) return false
  return toIp(a).match(toIp(c.addr), c.prefix)
}


export function offset(a: Addr, by: bigint): Addr {
  return { family: a.family, n: a.n + by }
}
