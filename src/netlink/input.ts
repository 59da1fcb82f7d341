// Validation and byte conversion of what callers hand us: addresses, prefixes,
// MACs, interface names. Pure. Every failure is a NetlinkInputError naming the field.
import ipaddr from 'ipaddr.js'
import { NetlinkInputError } from './errors.ts'

export interface IpBytes { family: 4 | 6; bytes: Buffer }
export interface Prefix extends IpBytes { len: number }

export function parseIp(op: string, field: string, s: unknown): IpBytes {
  if (typeof s !== 'string' || !ipaddr.isValid(s)) throw new NetlinkInputError(op, field, s, 'not an IP address')
  const a = ipaddr.parse(s)
  return { family: a.kind() === 'ipv4' ? 4 : 6, bytes: Buffer.from(a.toByteArray()) }
}

/** 'a.b.c.d/n' or 'x::y/n'. Host bits are kept: an interface address is a CIDR with host bits. */
export function parseCidr(op: string, field: string, s: unknown): Prefix {
  if (typeof s !== 'string') throw new NetlinkInputError(op, field, s, 'not a CIDR')
  const slash = s.indexOf('/')
  if (slash < 0) throw new NetlinkInputError(op, field, s, 'missing /prefix-length')
  const ip = parseIp(op, field, s.slice(0, slash))
  const lenText = s.slice(slash + 1)
  const len = Number(lenText)
  const max = ip.family === 4 ? 32 : 128
  if (!/^\d{1,3}$/.test(lenText) || len > max) throw new NetlinkInputError(op, field, s, `prefix length must be 0..${max}`)
  return { ...ip, len }
}

export function formatIp(bytes: Buffer): string {
  return ipaddr.fromByteArray([...bytes]).toString()
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i
export function parseMac(op: string, field: string, s: unknown): Buffer {
  if (typeof s !== 'string' || !MAC_RE.test(s)) throw new NetlinkInputError(op, field, s, 'not a MAC address (aa:bb:cc:dd:ee:ff)')
  return Buffer.from(s.replace(/:/g, ''), 'hex')
}

export const formatMac = (b: Buffer | undefined): string =>
  b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : ''

/** The kernel's dev_valid_name(): 1..15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export function checkIfName(op: string, field: string, s: unknown): string {
  if (typeof s !== 'string' || s.length === 0 || Buffer.byteLength(s) > 15 || s === '.' || s === '..' || /[/:\s]/.test(s)) {
    throw new NetlinkInputError(op, field, s, 'not a valid interface name (1-15 bytes, no / : or spaces)')
  }
  return s
}

export function checkIndex(op: string, field: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > 0x7fffffff) throw new NetlinkInputError(op, field, n, 'not an interface index')
  return n
}

export function checkU32(op: string, field: string, n: unknown, min = 0, max = 0xffffffff): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new NetlinkInputError(op, field, n, `must be an integer in ${min}..${max}`)
  return n
}
