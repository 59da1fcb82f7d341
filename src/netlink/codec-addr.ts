// Encoding of address requests and decoding of replies (struct ifaddrmsg + IFA_*). Pure.
import { attr, getU32, parseAttrs, u32, zeroed } from './attrs.ts'
import * as C from './constants.ts'
import { formatIp, type Prefix } from './input.ts'
import type { Addr } from './types.ts'

const IFA_BROADCAST = 4
const IFA_F_TENTATIVE = 0x40

export const familyOf = (f: 4 | 6 | undefined): number => (f === 4 ? C.AF_INET : f === 6 ? C.AF_INET6 : C.AF_UNSPEC)

export function ifaddrmsg(family: number, prefixLen: number, index: number, flags = 0): Buffer {
  const b = zeroed(8)
  b.writeUInt8(family, 0)
  b.writeUInt8(prefixLen, 1)
  b.writeUInt8(flags & 0xff, 2)
  b.writeUInt32LE(index, 4)
  return b
}

/** IPv4 broadcast of a prefix, as `ip addr add ... brd +` and the CNI plugins' netlink library set it. */
function broadcast(p: Prefix): Buffer {
  const host = (2 ** (32 - p.len) - 1) >>> 0
  const b = Buffer.from(p.bytes)
  b.writeUInt32BE((b.readUInt32BE(0) | host) >>> 0)
  return b
}

export function newAddr(index: number, p: Prefix, noDad: boolean): Buffer[] {
  const fam = familyOf(p.family)
  const flags = noDad && p.family === 6 ? C.IFA_F_NODAD : 0
  const out = [ifaddrmsg(fam, p.len, index, flags), attr(C.IFA_LOCAL, p.bytes), attr(C.IFA_ADDRESS, p.bytes)]
  if (p.family === 4 && p.len < 31) out.push(attr(IFA_BROADCAST, broadcast(p)))
  if (flags) out.push(attr(C.IFA_FLAGS, u32(flags)))
  return out
}

export const delAddr = (index: number, p: Prefix): Buffer[] =>
  [ifaddrmsg(familyOf(p.family), p.len, index), attr(C.IFA_LOCAL, p.bytes), attr(C.IFA_ADDRESS, p.bytes)]

export const dumpAddrs = (family?: 4 | 6): Buffer[] => [ifaddrmsg(familyOf(family), 0, 0)]

export function decodeAddr(msg: Buffer): Addr | undefined {
  const fam = msg.readUInt8(0)
  if (fam !== C.AF_INET && fam !== C.AF_INET6) return undefined
  const a = parseAttrs(msg.subarray(8))
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
  const ip = a.get(C.IFA_LOCAL) ?? a.get(C.IFA_ADDRESS)
  if (!ip) return undefined
  const flags = getU32(a.get(C.IFA_FLAGS)) ?? msg.readUInt8(2)
  return {
    index: msg.readUInt32LE(4),
    cidr: `${formatIp(ip)}/${msg.readUInt8(1)}`,
    family: fam === C.AF_INET ? 4 : 6,
    tentative: (flags & IFA_F_TENTATIVE) !== 0,
  }
}
