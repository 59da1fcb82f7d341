// CIDR math on bigints, so IPv4 and IPv6 share one code path.
import ipaddr from 'ipaddr.js'
import { bigIntToIp, ipToBigInt } from '../../net/ip-bigint.ts'

export interface IpRange {
  cidr: string
  family: 'IPv4' | 'IPv6'
  bits: number
  prefix: number
  base: bigint
  size: bigint
}

export class CidrError extends Error {
  readonly code = 'EBADCIDR'
}

export const ipToBig = ipToBigInt

export function bigToIp(n: bigint, family: 'IPv4' | 'IPv6'): string {
  return bigIntToIp(n, family === 'IPv4' ? 4 : 6).toString()
}

export function parseRange(cidr: string): IpRange {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number]
  try {
    parsed = ipaddr.parseCIDR(cidr)
  } catch {
    throw new CidrError(`invalid CIDR "${cidr}"`)
  }
  const [addr, prefix] = parsed
  const family = addr.kind() === 'ipv4' ? 'IPv4' : 'IPv6'
  const bits = family === 'IPv4' ? 32 : 128
  const size = 1n << BigInt(bits - prefix)
  const base = (ipToBig(addr) / size) * size
  return { cidr: `${bigToIp(base, family)}/${prefix}`, family, bits, prefix, base, size }
}

/** The offset of `ip` inside the range, or undefined when it is outside (or not an IP of that family). */
export function offsetOf(r: IpRange, ip: string): bigint | undefined {
  if (!ipaddr.isValid(ip)) return undefined
  const a = ipaddr.parse(ip)
  if ((a.kind() === 'ipv4') !== (r.family === 'IPv4')) return undefined
  const n = ipToBig(a)
  if (n < r.base || n >= r.base + r.size) return undefined
  return n - r.base
}
