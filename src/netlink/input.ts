// Validation and byte conversion of what callers hand us: addresses, prefixes,
// MACs, interface names. Pure. Every failure is a NetlinkInputError naming the field.
import { AddressError, formatIp as formatAddr, ipFromBytes, ipToBytes, parseCidr as parseAddrCidr, parseIp as parseAddr } from '../net/address.ts'
import { NetlinkInputError } from './errors.ts'

export interface IpBytes { family: 4 | 6; bytes: Buffer }
export interface Prefix extends IpBytes { len: number }

/** The address module's verdict, as an input error naming the field; nothing reaches the kernel. */
function addressInput<T>(op: string, field: string, s: unknown, parse: () => T): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof AddressError) throw new NetlinkInputError(op, field, s, e.reason)
    throw e
  }
}

export function parseIp(op: string, field: string, s: unknown): IpBytes {
  const a = addressInput(op, field, s, () => parseAddr(s))
  return { family: a.family, bytes: ipToBytes(a) }
}

/** 'a.b.c.d/n' or 'x::y/n'. Host bits are kept: an interface address is a CIDR with host bits. */
export function parseCidr(op: string, field: string, s: unknown): Prefix {
  const c = addressInput(op, field, s, () => parseAddrCidr(s, { hostBits: 'keep' }))
  return { family: c.addr.family, bytes: ipToBytes(c.addr), len: c.prefix }
}

export function formatIp(bytes: Buffer): string {
  return formatAddr(ipFromBytes(bytes))
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
