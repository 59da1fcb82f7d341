// IPVS over generic netlink (include/uapi/linux/ip_vs.h): virtual services and their real
// servers (dests), encoded as the kernel's ip_vs_genl_parse_service/_dest expect and decoded
// from its dumps. Pure; callers hand in validated values (see ipvs.ts).
import { align4, attr, getStr, getU16, getU16be, getU32, parseAttrs, putHdr, u32, zeroed, type Attrs } from './attrs.ts'
import * as C from './constants.ts'
import { genlBody, genlHeader } from './codec-genl.ts'
import { formatIp } from './input.ts'

export const IPVS_GENL_NAME = 'IPVS'
export const IPVS_GENL_VERSION = 1

export const IPVS_CMD_NEW_SERVICE = 1
export const IPVS_CMD_SET_SERVICE = 2
export const IPVS_CMD_DEL_SERVICE = 3
export const IPVS_CMD_GET_SERVICE = 4
export const IPVS_CMD_NEW_DEST = 5
export const IPVS_CMD_SET_DEST = 6
export const IPVS_CMD_DEL_DEST = 7
export const IPVS_CMD_GET_DEST = 8
export const IPVS_CMD_SET_CONFIG = 12
export const IPVS_CMD_GET_CONFIG = 13
export const IPVS_CMD_FLUSH = 17

const CMD_ATTR_SERVICE = 1
const CMD_ATTR_DEST = 2
const CMD_ATTR_TIMEOUT_TCP = 4
const CMD_ATTR_TIMEOUT_TCP_FIN = 5
const CMD_ATTR_TIMEOUT_UDP = 6

const SVC_AF = 1
const SVC_PROTOCOL = 2
const SVC_ADDR = 3
const SVC_PORT = 4
const SVC_SCHED_NAME = 6
const SVC_FLAGS = 7
const SVC_TIMEOUT = 8
const SVC_NETMASK = 9

const DEST_ADDR = 1
const DEST_PORT = 2
const DEST_FWD_METHOD = 3
const DEST_WEIGHT = 4
const DEST_U_THRESH = 5
const DEST_L_THRESH = 6
const DEST_ACTIVE_CONNS = 7
const DEST_INACT_CONNS = 8
const DEST_PERSIST_CONNS = 9
const DEST_ADDR_FAMILY = 11

/** IP_VS_SVC_F_PERSISTENT: sessionAffinity ClientIP is IPVS persistence. */
export const SVC_F_PERSISTENT = 0x1
/** The flags pontoon sets; the kernel keeps others it owns (HASHED) out of our mask. */
const SVC_FLAGS_MASK = 0xffffffff & ~0x2

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp'
export const PROTOCOLS: Record<IpvsProtocol, number> = { tcp: 6, udp: 17, sctp: 132 }
export type IpvsForward = 'masq' | 'local' | 'tunnel' | 'route' | 'bypass'
export const FORWARDS: IpvsForward[] = ['masq', 'local', 'tunnel', 'route', 'bypass'] // IP_VS_CONN_F_* in order

/** A virtual service's identity, validated: family and address bytes from the address module. */
/** `addr`: the address bytes, or for IPv4 the address as a number (no buffer to make for each of ~100,000) */
export interface ServiceKey { family: 4 | 6; addr: Buffer | number; protocol: IpvsProtocol; port: number }
export interface ServiceSpec extends ServiceKey { scheduler: string; flags: number; timeout: number }
export interface DestKey { family: 4 | 6; addr: Buffer | number; port: number }
export interface DestSpec extends DestKey { forward: IpvsForward; weight: number; upperThreshold: number; lowerThreshold: number }

/** What the kernel reports. Addresses as text. */
export interface IpvsService { protocol: IpvsProtocol; address: string; port: number; scheduler: string; flags: number; timeout: number; netmask: number }
export interface IpvsDest {
  address: string; port: number; forward: IpvsForward; weight: number
  upperThreshold: number; lowerThreshold: number
  activeConns: number; inactiveConns: number; persistConns: number
}
export interface IpvsTimeouts { tcp: number; tcpFin: number; udp: number }

const af = (f: 4 | 6): number => (f === 4 ? C.AF_INET : C.AF_INET6)

// Each nest is written into one buffer of its final size, the same bytes as nesting
// attr() results: a cold sync encodes ~100,000 of them, and a buffer per attribute
// plus the copies that join them cost more than the kernel's work in a slow guest.
const putU16 = (b: Buffer, off: number, type: number, v: number): number => { b.writeUInt16LE(v & 0xffff, putHdr(b, off, 6, type)); return off + 8 }
const putU16be = (b: Buffer, off: number, type: number, v: number): number => { b.writeUInt16BE(v & 0xffff, putHdr(b, off, 6, type)); return off + 8 }
const putU32 = (b: Buffer, off: number, type: number, v: number): number => { b.writeUInt32LE(v >>> 0, putHdr(b, off, 8, type)); return off + 8 }
// union nf_inet_addr: 16 bytes whatever the family, as libipvs sends it.
function putAddr(b: Buffer, off: number, type: number, addr: Buffer | number): number {
  if (typeof addr === 'number') b.writeUInt32BE(addr >>> 0, putHdr(b, off, 20, type))
  else addr.copy(b, putHdr(b, off, 20, type))
  return off + 20
}

const KEY_BYTES = 8 + 8 + 20 + 8
function putKey(b: Buffer, off: number, k: ServiceKey): number {
  off = putU16(b, off, SVC_AF, af(k.family))
  off = putU16(b, off, SVC_PROTOCOL, PROTOCOLS[k.protocol])
  off = putAddr(b, off, SVC_ADDR, k.addr)
  return putU16be(b, off, SVC_PORT, k.port)
}

/** CMD_ATTR_SERVICE holding only the key: what every real-server message carries. */
export function serviceKeyNest(k: ServiceKey): Buffer {
  const b = zeroed(4 + KEY_BYTES)
  putKey(b, putHdr(b, 0, 4 + KEY_BYTES, CMD_ATTR_SERVICE), k)
  return b
}

function serviceNest(s: ServiceSpec): Buffer {
  const name = Buffer.from(s.scheduler, 'utf8')
  const nameBytes = align4(4 + name.length + 1)
  const len = 4 + KEY_BYTES + nameBytes + 12 + 8 + 8
  const b = zeroed(len)
  let off = putKey(b, putHdr(b, 0, len, CMD_ATTR_SERVICE), s)
  name.copy(b, putHdr(b, off, 4 + name.length + 1, SVC_SCHED_NAME))
  off += nameBytes
  off = putHdr(b, off, 12, SVC_FLAGS)
  b.writeUInt32LE(s.flags >>> 0, off)
  b.writeUInt32LE(SVC_FLAGS_MASK >>> 0, off + 4)
  off = putU32(b, off + 8, SVC_TIMEOUT, s.timeout)
  // IPv4 persistence groups clients by a netmask; IPv6 by a prefix length (what libipvs sends).
  putU32(b, off, SVC_NETMASK, s.family === 4 ? 0xffffffff : 128)
  return b
}

const DEST_BYTES = 4 + 20 + 8 * 6
function destNest(d: DestSpec): Buffer {
  const b = zeroed(DEST_BYTES)
  let off = putHdr(b, 0, DEST_BYTES, CMD_ATTR_DEST)
  off = putAddr(b, off, DEST_ADDR, d.addr)
  off = putU16be(b, off, DEST_PORT, d.port)
  off = putU32(b, off, DEST_FWD_METHOD, FORWARDS.indexOf(d.forward))
  off = putU32(b, off, DEST_WEIGHT, d.weight)
  off = putU32(b, off, DEST_U_THRESH, d.upperThreshold)
  off = putU32(b, off, DEST_L_THRESH, d.lowerThreshold)
  putU16(b, off, DEST_ADDR_FAMILY, af(d.family))
  return b
}

function destKeyNest(d: DestKey): Buffer {
  const len = 4 + 20 + 8 + 8
  const b = zeroed(len)
  let off = putHdr(b, 0, len, CMD_ATTR_DEST)
  off = putAddr(b, off, DEST_ADDR, d.addr)
  off = putU16be(b, off, DEST_PORT, d.port)
  putU16(b, off, DEST_ADDR_FAMILY, af(d.family))
  return b
}

// shared, never written to: the socket copies payloads into its send buffer
const headers = new Map<number, Buffer>()
function header(cmd: number): Buffer {
  let h = headers.get(cmd)
  if (!h) headers.set(cmd, h = genlHeader(cmd, IPVS_GENL_VERSION))
  return h
}
const msg = (cmd: number, attrs: Buffer[]): Buffer[] => [header(cmd), ...attrs]

export const newService = (s: ServiceSpec): Buffer[] => msg(IPVS_CMD_NEW_SERVICE, [serviceNest(s)])
export const setService = (s: ServiceSpec): Buffer[] => msg(IPVS_CMD_SET_SERVICE, [serviceNest(s)])
export const delService = (k: ServiceKey): Buffer[] => msg(IPVS_CMD_DEL_SERVICE, [serviceKeyNest(k)])
export const getServices = (): Buffer[] => msg(IPVS_CMD_GET_SERVICE, [])
export const getService = (k: ServiceKey): Buffer[] => msg(IPVS_CMD_GET_SERVICE, [serviceKeyNest(k)])
/** `key` may be a serviceKeyNest shared by many messages (a batch encodes each service's once). */
export const newDest = (k: ServiceKey | Buffer, d: DestSpec): Buffer[] => msg(IPVS_CMD_NEW_DEST, [keyNestOf(k), destNest(d)])
export const setDest = (k: ServiceKey | Buffer, d: DestSpec): Buffer[] => msg(IPVS_CMD_SET_DEST, [keyNestOf(k), destNest(d)])
export const delDest = (k: ServiceKey | Buffer, d: DestKey): Buffer[] => msg(IPVS_CMD_DEL_DEST, [keyNestOf(k), destKeyNest(d)])
export const getDests = (k: ServiceKey): Buffer[] => msg(IPVS_CMD_GET_DEST, [serviceKeyNest(k)])
export const flush = (): Buffer[] => msg(IPVS_CMD_FLUSH, [])
export const getConfig = (): Buffer[] => msg(IPVS_CMD_GET_CONFIG, [])
export const setConfig = (t: IpvsTimeouts): Buffer[] =>
  msg(IPVS_CMD_SET_CONFIG, [attr(CMD_ATTR_TIMEOUT_TCP, u32(t.tcp)), attr(CMD_ATTR_TIMEOUT_TCP_FIN, u32(t.tcpFin)), attr(CMD_ATTR_TIMEOUT_UDP, u32(t.udp))])

const keyNestOf = (k: ServiceKey | Buffer): Buffer => (Buffer.isBuffer(k) ? k : serviceKeyNest(k))

// The address bytes a family uses out of the 16 the kernel always sends.
function decodeAddr(family: number | undefined, b: Buffer | undefined): string | undefined {
  if (!b) return undefined
  if (family === C.AF_INET && b.length >= 4) return formatIp(b.subarray(0, 4))
  if (family === C.AF_INET6 && b.length >= 16) return formatIp(b.subarray(0, 16))
  return undefined
}

const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOLS).map(([k, v]) => [v, k as IpvsProtocol]))

function nestedIn(msgBuf: Buffer, type: number): Attrs | undefined {
  const inner = genlBody(msgBuf).attrs.get(type)
  return inner ? parseAttrs(inner) : undefined
}

/** A service from a GET_SERVICE reply; undefined for one pontoon cannot describe (fwmark services). */
export function decodeService(m: Buffer): IpvsService | undefined {
  const a = nestedIn(m, CMD_ATTR_SERVICE)
  if (!a) return undefined
  const protocol = PROTOCOL_NAMES.get(getU16(a.get(SVC_PROTOCOL)) ?? -1)
  const address = decodeAddr(getU16(a.get(SVC_AF)), a.get(SVC_ADDR))
  const port = getU16be(a.get(SVC_PORT))
  if (!protocol || address === undefined || port === undefined) return undefined
  const flags = a.get(SVC_FLAGS)
  return {
    protocol, address, port,
    scheduler: getStr(a.get(SVC_SCHED_NAME)) ?? '',
    flags: flags && flags.length >= 4 ? flags.readUInt32LE(0) : 0,
    timeout: getU32(a.get(SVC_TIMEOUT)) ?? 0,
    netmask: getU32(a.get(SVC_NETMASK)) ?? 0,
  }
}

export function decodeDest(m: Buffer, serviceFamily: 4 | 6): IpvsDest | undefined {
  const a = nestedIn(m, CMD_ATTR_DEST)
  if (!a) return undefined
  const family = getU16(a.get(DEST_ADDR_FAMILY)) ?? af(serviceFamily)
  const address = decodeAddr(family, a.get(DEST_ADDR))
  const port = getU16be(a.get(DEST_PORT))
  const forward = FORWARDS[(getU32(a.get(DEST_FWD_METHOD)) ?? -1) & 0x7]
  if (address === undefined || port === undefined || !forward) return undefined
  return {
    address, port, forward,
    weight: getU32(a.get(DEST_WEIGHT)) ?? 0,
    upperThreshold: getU32(a.get(DEST_U_THRESH)) ?? 0,
    lowerThreshold: getU32(a.get(DEST_L_THRESH)) ?? 0,
    activeConns: getU32(a.get(DEST_ACTIVE_CONNS)) ?? 0,
    inactiveConns: getU32(a.get(DEST_INACT_CONNS)) ?? 0,
    persistConns: getU32(a.get(DEST_PERSIST_CONNS)) ?? 0,
  }
}

export function decodeTimeouts(m: Buffer): IpvsTimeouts {
  const { attrs } = genlBody(m)
  return { tcp: getU32(attrs.get(CMD_ATTR_TIMEOUT_TCP)) ?? 0, tcpFin: getU32(attrs.get(CMD_ATTR_TIMEOUT_TCP_FIN)) ?? 0, udp: getU32(attrs.get(CMD_ATTR_TIMEOUT_UDP)) ?? 0 }
}
