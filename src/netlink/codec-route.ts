// Encoding of route requests and decoding of replies (struct rtmsg + RTA_*). Pure.
// Defaults follow `ip route`: add uses protocol boot and scope link without a
// gateway; delete leaves type, protocol and scope open so any match goes.
import { attr, getU32, parseAttrs, u32 } from './attrs.ts'
import * as C from './constants.ts'
import { familyOf } from './codec-addr.ts'
import { formatIp, type IpBytes, type Prefix } from './input.ts'
import type { Route } from './types.ts'

/** A Route after validation: addresses as bytes, family settled. */
export interface RouteSpec {
  family: 4 | 6
  dst: Prefix
  gw?: IpBytes
  index?: number
  table: number
  scope?: number
  protocol?: number
  metric?: number
  onlink: boolean
}

export function rtmsg(family: number, dstLen: number, table: number, protocol: number, scope: number, type: number, flags: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt8(family, 0)
  b.writeUInt8(dstLen, 1)
  b.writeUInt8(table < 256 ? table : 252 /* RT_TABLE_COMPAT: the real id is in RTA_TABLE */, 4)
  b.writeUInt8(protocol, 5)
  b.writeUInt8(scope, 6)
  b.writeUInt8(type, 7)
  b.writeUInt32LE(flags, 8)
  return b
}

export function routeMsg(r: RouteSpec, forDelete: boolean): Buffer[] {
  const scope = r.scope ?? (forDelete ? C.RT_SCOPE_NOWHERE : r.gw ? C.RT_SCOPE_UNIVERSE : C.RT_SCOPE_LINK)
  const protocol = r.protocol ?? (forDelete ? 0 : C.RTPROT_BOOT)
  const type = forDelete ? 0 : C.RTN_UNICAST
  const out = [rtmsg(familyOf(r.family), r.dst.len, r.table, protocol, scope, type, r.onlink ? C.RTNH_F_ONLINK : 0), attr(C.RTA_TABLE, u32(r.table))]
  if (r.dst.len > 0) out.push(attr(C.RTA_DST, r.dst.bytes))
  if (r.gw) out.push(attr(C.RTA_GATEWAY, r.gw.bytes))
  if (r.index !== undefined) out.push(attr(C.RTA_OIF, u32(r.index)))
  if (r.metric !== undefined) out.push(attr(C.RTA_PRIORITY, u32(r.metric)))
  return out
}

export const dumpRoutes = (family: 4 | 6): Buffer[] => [rtmsg(familyOf(family), 0, 0, 0, 0, 0, 0)]

export interface DecodedRoute extends Route { table: number; type: number; cloned: boolean }

export function decodeRoute(msg: Buffer): DecodedRoute | undefined {
  const fam = msg.readUInt8(0)
  if (fam !== C.AF_INET && fam !== C.AF_INET6) return undefined
  const dstLen = msg.readUInt8(1)
  const flags = msg.readUInt32LE(8)
  const a = parseAttrs(msg.subarray(12))
  const dst = a.get(C.RTA_DST)
  const r: DecodedRoute = {
    dst: dst ? `${formatIp(dst)}/${dstLen}` : fam === C.AF_INET ? '0.0.0.0/0' : '::/0',
    table: getU32(a.get(C.RTA_TABLE)) ?? msg.readUInt8(4),
    scope: msg.readUInt8(6),
    protocol: msg.readUInt8(5),
    type: msg.readUInt8(7),
    cloned: (flags & C.RTM_F_CLONED) !== 0,
  }
  const gw = a.get(C.RTA_GATEWAY)
  if (gw) r.gw = formatIp(gw)
  const oif = getU32(a.get(C.RTA_OIF))
  if (oif !== undefined) r.index = oif
  const metric = getU32(a.get(C.RTA_PRIORITY))
  if (metric !== undefined) r.metric = metric
  if (flags & C.RTNH_F_ONLINK) r.onlink = true
  return r
}
