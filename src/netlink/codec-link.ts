// Encoding of link requests and decoding of link replies (struct ifinfomsg + IFLA_*). Pure.
import {
  attr, getS32, getStr, getU16be, getU32, getU8, nested, parseAttrs, str, u16be, u32, u8,
} from './attrs.ts'
import * as C from './constants.ts'
import { formatIp, formatMac } from './input.ts'
import type { Link, VxlanInfo } from './types.ts'

const IFLA_EXT_MASK = 29
const RTEXT_FILTER_SKIP_STATS = 1 << 3
const IFLA_INFO_SLAVE_KIND = 4
const IFLA_INFO_SLAVE_DATA = 5

export function ifinfomsg(family: number, index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt8(family, 0)
  b.writeInt32LE(index, 4)
  b.writeUInt32LE(flags >>> 0, 8)
  b.writeUInt32LE(change >>> 0, 12)
  return b
}

/** Statistics are most of a link reply and we never read them. */
export const skipStats = (): Buffer => attr(IFLA_EXT_MASK, u32(RTEXT_FILTER_SKIP_STATS))

export const byName = (name: string): Buffer[] => [ifinfomsg(C.AF_UNSPEC, 0), attr(C.IFLA_IFNAME, str(name)), skipStats()]
export const byIndex = (index: number): Buffer[] => [ifinfomsg(C.AF_UNSPEC, index), skipStats()]

export interface CommonLinkAttrs { name: string; mtu?: number; mac?: Buffer; alias?: string }
function common(a: CommonLinkAttrs): Buffer[] {
  const out = [attr(C.IFLA_IFNAME, str(a.name))]
  if (a.mtu !== undefined) out.push(attr(C.IFLA_MTU, u32(a.mtu)))
  if (a.mac) out.push(attr(C.IFLA_ADDRESS, a.mac))
  if (a.alias !== undefined) out.push(attr(C.IFLA_IFALIAS, str(a.alias)))
  return out
}

const linkinfo = (kind: string, data?: Buffer[]): Buffer =>
  nested(C.IFLA_LINKINFO, [attr(C.IFLA_INFO_KIND, str(kind)), ...(data ? [nested(C.IFLA_INFO_DATA, data)] : [])])

export const newBridge = (a: CommonLinkAttrs): Buffer[] => [ifinfomsg(C.AF_UNSPEC, 0), ...common(a), linkinfo('bridge')]
export const newDummy = (a: CommonLinkAttrs): Buffer[] => [ifinfomsg(C.AF_UNSPEC, 0), ...common(a), linkinfo('dummy')]

/** A veth pair whose peer is created straight in the namespace behind peerNsFd. */
export function newVeth(a: CommonLinkAttrs, peer: CommonLinkAttrs & { nsFd?: number }): Buffer[] {
  const peerMsg = [ifinfomsg(C.AF_UNSPEC, 0), ...common(peer)]
  if (peer.nsFd !== undefined) peerMsg.push(attr(C.IFLA_NET_NS_FD, u32(peer.nsFd)))
  return [ifinfomsg(C.AF_UNSPEC, 0), ...common(a), linkinfo('veth', [attr(C.VETH_INFO_PEER, peerMsg)])]
}

export interface VxlanAttrs { vni: number; port: number; learning: boolean; local?: Buffer; dev?: number }
export function newVxlan(a: CommonLinkAttrs, v: VxlanAttrs): Buffer[] {
  const data = [attr(C.IFLA_VXLAN_ID, u32(v.vni)), attr(C.IFLA_VXLAN_PORT, u16be(v.port)), attr(C.IFLA_VXLAN_LEARNING, u8(v.learning ? 1 : 0))]
  if (v.dev !== undefined) data.push(attr(C.IFLA_VXLAN_LINK, u32(v.dev)))
  if (v.local) data.push(attr(v.local.length === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, v.local))
  return [ifinfomsg(C.AF_UNSPEC, 0), ...common(a), linkinfo('vxlan', data)]
}

export const setFlags = (index: number, flags: number, change: number): Buffer[] => [ifinfomsg(C.AF_UNSPEC, index, flags, change)]
export const setAttr = (index: number, a: Buffer): Buffer[] => [ifinfomsg(C.AF_UNSPEC, index), a]
export const setMaster = (index: number, master: number): Buffer[] => setAttr(index, attr(C.IFLA_MASTER, u32(master)))
export const setMtu = (index: number, mtu: number): Buffer[] => setAttr(index, attr(C.IFLA_MTU, u32(mtu)))
export const setMac = (index: number, mac: Buffer): Buffer[] => setAttr(index, attr(C.IFLA_ADDRESS, mac))
export const setAlias = (index: number, alias: string): Buffer[] => setAttr(index, attr(C.IFLA_IFALIAS, str(alias)))

/**
 * Bridge port hairpin, sent as RTM_SETLINK with family AF_BRIDGE. The kernel only
 * reads IFLA_PROTINFO as port attributes when it carries NLA_F_NESTED.
 */
export const setHairpin = (index: number, on: boolean): Buffer[] =>
  [ifinfomsg(C.AF_BRIDGE, index), nested(C.IFLA_PROTINFO, [attr(C.IFLA_BRPORT_MODE, u8(on ? 1 : 0))], true)]

export function delLink(target: { index: number } | { name: string }): Buffer[] {
  return 'index' in target ? [ifinfomsg(C.AF_UNSPEC, target.index)] : [ifinfomsg(C.AF_UNSPEC, 0), attr(C.IFLA_IFNAME, str(target.name))]
}

function decodeVxlan(data: Buffer): VxlanInfo {
  const a = parseAttrs(data)
  const local = a.get(C.IFLA_VXLAN_LOCAL) ?? a.get(C.IFLA_VXLAN_LOCAL6)
  const out: VxlanInfo = {
    vni: getU32(a.get(C.IFLA_VXLAN_ID)) ?? 0,
    port: getU16be(a.get(C.IFLA_VXLAN_PORT)) ?? 0,
    learning: getU8(a.get(C.IFLA_VXLAN_LEARNING)) === 1,
  }
  if (local) out.local = formatIp(local)
  const dev = getU32(a.get(C.IFLA_VXLAN_LINK))
  if (dev) out.linkIndex = dev
  return out
}

export function decodeLink(msg: Buffer): Link {
  const index = msg.readInt32LE(4)
  const flags = msg.readUInt32LE(8)
  const a = parseAttrs(msg.subarray(16))
  const link: Link = {
    index,
    name: getStr(a.get(C.IFLA_IFNAME)) ?? '',
    mac: formatMac(a.get(C.IFLA_ADDRESS)),
    mtu: getU32(a.get(C.IFLA_MTU)) ?? 0,
    up: (flags & C.IFF_UP) !== 0,
    promisc: (flags & C.IFF_PROMISC) !== 0,
  }
  const alias = getStr(a.get(C.IFLA_IFALIAS))
  if (alias) link.alias = alias
  const master = getU32(a.get(C.IFLA_MASTER))
  if (master) link.masterIndex = master
  const peer = getU32(a.get(C.IFLA_LINK))
  if (peer && peer !== index) link.linkIndex = peer
  const nsid = getS32(a.get(C.IFLA_LINK_NETNSID))
  if (nsid !== undefined && nsid >= 0) link.linkNetnsId = nsid
  const info = a.get(C.IFLA_LINKINFO)
  if (info) {
    const i = parseAttrs(info)
    const kind = getStr(i.get(C.IFLA_INFO_KIND))
    if (kind) link.kind = kind
    const data = i.get(C.IFLA_INFO_DATA)
    if (kind === 'vxlan' && data) link.vxlan = decodeVxlan(data)
    const slaveData = i.get(IFLA_INFO_SLAVE_DATA)
    if (getStr(i.get(IFLA_INFO_SLAVE_KIND)) === 'bridge' && slaveData) {
      link.hairpin = getU8(parseAttrs(slaveData).get(C.IFLA_BRPORT_MODE)) === 1
    }
  }
  return link
}
