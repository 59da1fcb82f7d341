// Encoding of neighbour and FDB requests and decoding of replies (struct ndmsg + NDA_*). Pure.
// ARP/NDP entries use AF_INET/AF_INET6; bridge and vxlan FDB entries use AF_BRIDGE.
import { attr, getU32, parseAttrs } from './attrs.ts'
import * as C from './constants.ts'
import { familyOf } from './codec-addr.ts'
import { formatIp, formatMac, type IpBytes } from './input.ts'
import type { FdbEntry, Neigh } from './types.ts'

export function ndmsg(family: number, index: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt8(family, 0)
  b.writeInt32LE(index, 4)
  b.writeUInt16LE(state, 8)
  b.writeUInt8(flags, 10)
  return b
}

export function neighMsg(index: number, ip: IpBytes, mac: Buffer | undefined, state: number): Buffer[] {
  const out = [ndmsg(familyOf(ip.family), index, state, 0), attr(C.NDA_DST, ip.bytes)]
  if (mac) out.push(attr(C.NDA_LLADDR, mac))
  return out
}

/** FDB entries we program live in the device itself (NTF_SELF), as `bridge fdb ... self` does. */
export function fdbMsg(index: number, mac: Buffer, dst: IpBytes | undefined): Buffer[] {
  const out = [ndmsg(C.AF_BRIDGE, index, C.NUD_PERMANENT | C.NUD_NOARP, C.NTF_SELF), attr(C.NDA_LLADDR, mac)]
  if (dst) out.push(attr(C.NDA_DST, dst.bytes))
  return out
}

export const dumpNeigh = (family: number): Buffer[] => [ndmsg(family, 0, 0, 0)]

export function decodeNeigh(msg: Buffer): Neigh | undefined {
  const fam = msg.readUInt8(0)
  if (fam !== C.AF_INET && fam !== C.AF_INET6) return undefined
  const a = parseAttrs(msg.subarray(12))
  const dst = a.get(C.NDA_DST)
  if (!dst) return undefined
  const state = msg.readUInt16LE(8)
  const n: Neigh = { index: msg.readInt32LE(4), ip: formatIp(dst), state, permanent: (state & C.NUD_PERMANENT) !== 0 }
  const mac = a.get(C.NDA_LLADDR)
  if (mac && mac.length === 6) n.mac = formatMac(mac)
  return n
}

export function decodeFdb(msg: Buffer): FdbEntry | undefined {
  if (msg.readUInt8(0) !== C.AF_BRIDGE) return undefined
  const a = parseAttrs(msg.subarray(12))
  const mac = a.get(C.NDA_LLADDR)
  if (!mac || mac.length !== 6) return undefined
  const state = msg.readUInt16LE(8)
  const e: FdbEntry = {
    index: msg.readInt32LE(4),
    mac: formatMac(mac),
    permanent: (state & C.NUD_PERMANENT) !== 0,
    self: (msg.readUInt8(10) & C.NTF_SELF) !== 0,
  }
  const dst = a.get(C.NDA_DST)
  if (dst) e.dst = formatIp(dst)
  const master = getU32(a.get(C.NDA_MASTER))
  if (master) e.masterIndex = master
  return e
}
