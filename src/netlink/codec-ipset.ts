// ipset over nfnetlink (subsystem NFNL_SUBSYS_IPSET, include/uapi/linux/netfilter/ipset/
// ip_set.h): the commands pontoon uses, encoded as the ipset tool (v7.17) sends them, and
// the kernel's list, header and type replies decoded. Pure. Only the six set types the
// proxy backends create are known here; their element syntax is the tool's own
// ("10.96.0.10,tcp:80"), read with the project's one address module.
import { constants } from 'node:os'
import { attr, getStr, getU8, getU16be, getU32be, nested, NLA_F_NESTED, parseAttrs, str, u8, u16be, u32be, zeroed, type Attrs } from './attrs.ts'
import * as C from './constants.ts'
import { NetlinkInputError } from './errors.ts'
import { ipv4Value } from '../net/address.ts'
import { formatIp, parseCidr, parseIp, type IpBytes } from './input.ts'

export const NFNL_SUBSYS_IPSET = 6
/** The protocol this code speaks, and the oldest the kernel may answer with that we still can. */
export const IPSET_PROTOCOL = 7
export const IPSET_PROTOCOL_MIN = 6
/** IPSET_MAXNAMELEN counts the NUL */
export const MAX_NAME_BYTES = 31

export const CMD_PROTOCOL = 1
export const CMD_CREATE = 2
export const CMD_DESTROY = 3
export const CMD_FLUSH = 4
export const CMD_SWAP = 6
export const CMD_LIST = 7
export const CMD_ADD = 9
export const CMD_DEL = 10
export const CMD_HEADER = 12
export const CMD_TYPE = 13

// command-level attributes
const ATTR_PROTOCOL = 1
const ATTR_SETNAME = 2
const ATTR_TYPENAME = 3
const ATTR_SETNAME2 = 3 // at swap
const ATTR_REVISION = 4
const ATTR_FAMILY = 5
const ATTR_FLAGS = 6
const ATTR_DATA = 7
const ATTR_ADT = 8
const ATTR_LINENO = 9
const ATTR_PROTOCOL_MIN = 10 // also REVISION_MIN in a TYPE reply
// data-level attributes
const ATTR_IP = 1
const ATTR_CIDR = 3
const ATTR_PORT = 4
const ATTR_PORT_TO = 5
const ATTR_PROTO = 7
const ATTR_MAXELEM = 19
const ATTR_IP2 = 20
const ATTR_CIDR2 = 21
const ATTR_IPADDR_IPV4 = 1
const ATTR_IPADDR_IPV6 = 2

const FLAG_LIST_SETNAME = 1 << 1
const errnos = constants.errno

/** The kernel takes these attributes in network byte order and, when sent, expects the flag that says so. */
export const NLA_F_NET_BYTEORDER = 0x4000
const be = (type: number): number => type | NLA_F_NET_BYTEORDER

export type SetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'hash:net' | 'bitmap:port'
export const SET_TYPES: readonly SetType[] = ['hash:ip', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'hash:net', 'bitmap:port']
/** IPv4 or IPv6 for the hash types; bitmap:port has no family (NFPROTO_UNSPEC). */
export type SetFamily = 4 | 6 | undefined

/**
 * The newest revision of each type this code was checked against (kernel 6.18 and the
 * ipset 7.17 tool agree on these). A newer kernel's newer revision would give sets an
 * older `ipset` on the node could not print; an older kernel's max is taken when lower.
 */
export const MAX_REVISION: Record<SetType, number> = {
  'hash:ip': 6, 'hash:ip,port': 7, 'hash:ip,port,ip': 6, 'hash:ip,port,net': 8, 'hash:net': 7, 'bitmap:port': 3,
}

export const PROTOS = { tcp: 6, udp: 17, sctp: 132 } as const
export type Proto = keyof typeof PROTOS
const PROTO_NAMES = new Map<number, Proto>(Object.entries(PROTOS).map(([k, v]) => [v, k as Proto]))

/** One element, checked: the parts its type has. */
export interface Element {
  ip?: IpBytes
  cidr?: number
  proto?: Proto
  port?: number
  ip2?: IpBytes
  cidr2?: number
}

export const messageType = (cmd: number): number => (NFNL_SUBSYS_IPSET << 8) | cmd
export const isSetType = (s: string): s is SetType => (SET_TYPES as readonly string[]).includes(s)

const familyByte = (f: SetFamily): number => (f === 4 ? C.AF_INET : f === 6 ? C.AF_INET6 : C.AF_UNSPEC)

/** struct nfgenmsg: family, version NFNETLINK_V0, res_id 0. The tool sends AF_INET whatever the set. */
function nfgen(): Buffer {
  return Buffer.from([C.AF_INET, 0, 0, 0])
}

const msg = (protocol: number, attrs: Buffer[]): Buffer[] => [nfgen(), attr(ATTR_PROTOCOL, u8(protocol)), ...attrs]

const NAME = /^[A-Za-z0-9_.:+-]+$/
/** A set name as the kernel stores it: 1..31 bytes; ours are printable tokens without spaces. */
export function checkSetName(op: string, field: string, s: unknown): string {
  if (typeof s !== 'string' || s.length === 0 || Buffer.byteLength(s) > MAX_NAME_BYTES || !NAME.test(s)) {
    throw new NetlinkInputError(op, field, s, `not a set name (1-${MAX_NAME_BYTES} of A-Z a-z 0-9 _ . : + -)`)
  }
  return s
}

export const protocolMsg = (protocol = IPSET_PROTOCOL): Buffer[] => msg(protocol, [])

export const typeMsg = (type: SetType, family: SetFamily, protocol = IPSET_PROTOCOL): Buffer[] =>
  msg(protocol, [attr(ATTR_TYPENAME, str(type)), attr(ATTR_FAMILY, u8(familyByte(family)))])

export interface CreateSpec {
  name: string
  type: SetType
  family: SetFamily
  revision: number
  /** hash types */
  maxelem?: number
  /** bitmap:port */
  range?: readonly [number, number]
}

export function createMsg(s: CreateSpec, protocol = IPSET_PROTOCOL): Buffer[] {
  const data = s.type === 'bitmap:port'
    ? [attr(be(ATTR_PORT), u16be(s.range![0])), attr(be(ATTR_PORT_TO), u16be(s.range![1]))]
    : [attr(be(ATTR_MAXELEM), u32be(s.maxelem!))]
  return msg(protocol, [
    attr(ATTR_SETNAME, str(s.name)), attr(ATTR_TYPENAME, str(s.type)), attr(ATTR_REVISION, u8(s.revision)),
    attr(ATTR_FAMILY, u8(familyByte(s.family))), nested(ATTR_DATA, data, true),
  ])
}

const named = (name: string, protocol: number): Buffer[] => msg(protocol, [attr(ATTR_SETNAME, str(name))])
export const destroyMsg = (name: string, protocol = IPSET_PROTOCOL): Buffer[] => named(name, protocol)
export const flushMsg = (name: string, protocol = IPSET_PROTOCOL): Buffer[] => named(name, protocol)
export const headerMsg = (name: string, protocol = IPSET_PROTOCOL): Buffer[] => named(name, protocol)
/** A dump of one set, header and members. */
export const listSetMsg = (name: string, protocol = IPSET_PROTOCOL): Buffer[] => named(name, protocol)
export const swapMsg = (a: string, b: string, protocol = IPSET_PROTOCOL): Buffer[] =>
  msg(protocol, [attr(ATTR_SETNAME, str(a)), attr(ATTR_SETNAME2, str(b))])
/** A dump of every set's name only (`ipset list -n`). */
export const listNamesMsg = (protocol = IPSET_PROTOCOL): Buffer[] => msg(protocol, [attr(be(ATTR_FLAGS), u32be(FLAG_LIST_SETNAME))])

// elementData writes its attributes straight into one buffer: a full sync encodes 100,000
// elements, and a dozen small buffers concatenated per element were most of its time.
const addrBytes = (a: IpBytes | undefined): number => (a ? 8 + a.bytes.length : 0)
function putHeader(b: Buffer, off: number, len: number, type: number): number {
  b.writeUInt16LE(len, off)
  b.writeUInt16LE(type, off + 2)
  return off + 4
}
function putAddr(b: Buffer, off: number, type: number, a: IpBytes): number {
  off = putHeader(b, off, 8 + a.bytes.length, type | NLA_F_NESTED)
  off = putHeader(b, off, 4 + a.bytes.length, be(a.family === 4 ? ATTR_IPADDR_IPV4 : ATTR_IPADDR_IPV6))
  a.bytes.copy(b, off)
  return off + a.bytes.length
}

/** One element as an IPSET_ATTR_DATA container, attributes in the tool's order, with its restore line. */
export function elementData(e: Element, lineno: number): Buffer {
  const len = 4 + addrBytes(e.ip) + addrBytes(e.ip2) + 8 /* LINENO */ +
    (e.cidr !== undefined ? 8 : 0) + (e.port !== undefined ? 8 : 0) + (e.proto !== undefined ? 8 : 0) + (e.cidr2 !== undefined ? 8 : 0)
  const b = zeroed(len)
  let off = putHeader(b, 0, len, ATTR_DATA | NLA_F_NESTED)
  if (e.ip) off = putAddr(b, off, ATTR_IP, e.ip)
  if (e.cidr !== undefined) { b.writeUInt8(e.cidr, putHeader(b, off, 5, ATTR_CIDR)); off += 8 }
  if (e.port !== undefined) { b.writeUInt16BE(e.port, putHeader(b, off, 6, be(ATTR_PORT))); off += 8 }
  if (e.proto !== undefined) { b.writeUInt8(PROTOS[e.proto], putHeader(b, off, 5, ATTR_PROTO)); off += 8 }
  if (e.ip2) off = putAddr(b, off, ATTR_IP2, e.ip2)
  if (e.cidr2 !== undefined) { b.writeUInt8(e.cidr2, putHeader(b, off, 5, ATTR_CIDR2)); off += 8 }
  b.writeUInt32BE(lineno >>> 0, putHeader(b, off, 8, be(ATTR_LINENO)))
  return b
}

/**
 * elementData of IPv4 elements in the forms the renderers write (hash:ip, hash:ip,port,
 * hash:ip,port,ip, bitmap:port), parsed and written straight into one buffer with no
 * objects between, or undefined for any other form or anything unusual, which the caller
 * then parses the checked way (and gets its error). The same bytes as elementData.
 */
export function fastElementData(type: SetType, family: SetFamily, text: string, lineno: number): Buffer | undefined {
  let ip = -1
  let port = -1
  let proto = -1
  let ip2 = -1
  if (type === 'bitmap:port') {
    port = portValue(text)
    if (port < 0) return undefined
  } else {
    if (family !== 4) return undefined
    const c1 = text.indexOf(',')
    if (type === 'hash:ip') {
      if (c1 >= 0) return undefined
      ip = ipv4Value(text) ?? -1
    } else if (type === 'hash:ip,port' || type === 'hash:ip,port,ip') {
      const c2 = text.indexOf(',', c1 + 1)
      if (c1 < 0 || (type === 'hash:ip,port') !== (c2 < 0) || (c2 >= 0 && text.indexOf(',', c2 + 1) >= 0)) return undefined
      ip = ipv4Value(text.slice(0, c1)) ?? -1
      const pp = text.slice(c1 + 1, c2 < 0 ? text.length : c2)
      const colon = pp.indexOf(':')
      const name = colon < 0 ? '' : pp.slice(0, colon)
      proto = name === 'tcp' ? PROTOS.tcp : name === 'udp' ? PROTOS.udp : name === 'sctp' ? PROTOS.sctp : -1
      port = portValue(pp.slice(colon + 1))
      if (proto < 0 || port < 0) return undefined
      if (c2 >= 0) {
        ip2 = ipv4Value(text.slice(c2 + 1)) ?? -1
        if (ip2 < 0) return undefined
      }
    } else {
      return undefined
    }
    if (ip < 0) return undefined
  }
  const len = 4 + (ip >= 0 ? 12 : 0) + (port >= 0 ? 8 : 0) + (proto >= 0 ? 8 : 0) + (ip2 >= 0 ? 12 : 0) + 8
  const b = zeroed(len)
  let off = putHeader(b, 0, len, ATTR_DATA | NLA_F_NESTED)
  if (ip >= 0) off = putV4(b, off, ATTR_IP, ip)
  if (port >= 0) { b.writeUInt16BE(port, putHeader(b, off, 6, be(ATTR_PORT))); off += 8 }
  if (proto >= 0) { b.writeUInt8(proto, putHeader(b, off, 5, ATTR_PROTO)); off += 8 }
  if (ip2 >= 0) off = putV4(b, off, ATTR_IP2, ip2)
  b.writeUInt32BE(lineno >>> 0, putHeader(b, off, 8, be(ATTR_LINENO)))
  return b
}

function putV4(b: Buffer, off: number, type: number, v: number): number {
  off = putHeader(b, off, 12, type | NLA_F_NESTED)
  off = putHeader(b, off, 8, be(ATTR_IPADDR_IPV4))
  b.writeUInt32BE(v >>> 0, off)
  return off + 4
}

/** port()'s rule (0-65535, no leading zero) as a number, or -1. */
function portValue(s: string): number {
  if (s.length === 0 || s.length > 5 || (s.length > 1 && s.charCodeAt(0) === 48)) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return n > 65535 ? -1 : n
}

/**
 * Many adds (or deletes) to one set in one message, as `ipset restore` sends them: the
 * kernel applies them in order and stops at the first it refuses, writing that element's
 * line into the command-level LINENO of the request it echoes back.
 */
export function adtMsg(name: string, firstLine: number, data: readonly Buffer[], protocol = IPSET_PROTOCOL): Buffer[] {
  return msg(protocol, [attr(ATTR_SETNAME, str(name)), attr(be(ATTR_LINENO), u32be(firstLine)), nested(ATTR_ADT, [...data], true)])
}

// ---------------------------------------------------------------- elements

const PORT = /^(0|[1-9]\d{0,4})$/
function port(op: string, s: string | undefined, whole: string): number {
  if (s === undefined || !PORT.test(s) || Number(s) > 65535) throw new NetlinkInputError(op, 'element', whole, 'the port must be a number 0-65535')
  return Number(s)
}

function proto(op: string, s: string | undefined, whole: string): { proto: Proto; rest: string } {
  const i = s === undefined ? -1 : s.indexOf(':')
  const p = i < 0 ? '' : s!.slice(0, i)
  if (!Object.hasOwn(PROTOS, p)) throw new NetlinkInputError(op, 'element', whole, 'expected proto:port with proto tcp, udp or sctp')
  return { proto: p as Proto, rest: s!.slice(i + 1) }
}

function address(op: string, s: string | undefined, family: SetFamily, whole: string): IpBytes {
  const a = parseIp(op, 'element', s ?? '')
  if (a.family !== family) throw new NetlinkInputError(op, 'element', whole, `${s} is not an IPv${family} address, as the set's family is`)
  return a
}

/** "IP" or "IP/len" of the set's family: the prefix only when written. */
function net(op: string, s: string | undefined, family: SetFamily, whole: string): { ip: IpBytes; cidr?: number } {
  if (s === undefined || !s.includes('/')) return { ip: address(op, s, family, whole) }
  const c = parseCidr(op, 'element', s)
  if (c.family !== family) throw new NetlinkInputError(op, 'element', whole, `${s} is not an IPv${family} network, as the set's family is`)
  return { ip: { family: c.family, bytes: c.bytes }, cidr: c.len }
}

const PARTS: Record<SetType, number> = { 'hash:ip': 1, 'hash:ip,port': 2, 'hash:ip,port,ip': 3, 'hash:ip,port,net': 3, 'hash:net': 1, 'bitmap:port': 1 }
const SYNTAX: Record<SetType, string> = {
  'hash:ip': 'IP', 'hash:ip,port': 'IP,proto:port', 'hash:ip,port,ip': 'IP,proto:port,IP',
  'hash:ip,port,net': 'IP,proto:port,CIDR', 'hash:net': 'CIDR', 'bitmap:port': 'PORT',
}

/** An element in the tool's syntax for a set of this type and family; anything else is an input error naming it. */
export function parseElement(op: string, type: SetType, family: SetFamily, text: string): Element {
  const parts = text.split(',')
  if (parts.length !== PARTS[type]) throw new NetlinkInputError(op, 'element', text, `a ${type} element is ${SYNTAX[type]}`)
  switch (type) {
    case 'hash:ip': return { ip: address(op, parts[0], family, text) }
    case 'hash:net': return net(op, parts[0], family, text)
    case 'bitmap:port': return { port: port(op, parts[0], text) }
    // no spreads: a cold sync parses ~40,000 elements
    case 'hash:ip,port': {
      const ip = address(op, parts[0], family, text)
      const pp = proto(op, parts[1], text)
      return { ip, proto: pp.proto, port: port(op, pp.rest, text) }
    }
    case 'hash:ip,port,ip': {
      const ip = address(op, parts[0], family, text)
      const pp = proto(op, parts[1], text)
      return { ip, proto: pp.proto, port: port(op, pp.rest, text), ip2: address(op, parts[2], family, text) }
    }
    case 'hash:ip,port,net': {
      const n = net(op, parts[2], family, text)
      const ip = address(op, parts[0], family, text)
      const pp = proto(op, parts[1], text)
      const e: Element = { ip, proto: pp.proto, port: port(op, pp.rest, text), ip2: n.ip }
      if (n.cidr !== undefined) e.cidr2 = n.cidr
      return e
    }
  }
}

const withPrefix = (ip: IpBytes, len: number | undefined): string =>
  len === undefined || len === ip.bytes.length * 8 ? formatIp(ip.bytes) : `${formatIp(ip.bytes)}/${len}`

/** The element as the tool prints it: a host prefix is left off, as `ipset save` does. */
export function formatElement(type: SetType, e: Element): string {
  const pp = `${e.proto}:${e.port}`
  switch (type) {
    case 'hash:ip': return formatIp(e.ip!.bytes)
    case 'hash:net': return withPrefix(e.ip!, e.cidr)
    case 'bitmap:port': return String(e.port)
    case 'hash:ip,port': return `${formatIp(e.ip!.bytes)},${pp}`
    case 'hash:ip,port,ip': return `${formatIp(e.ip!.bytes)},${pp},${formatIp(e.ip2!.bytes)}`
    case 'hash:ip,port,net': return `${formatIp(e.ip!.bytes)},${pp},${withPrefix(e.ip2!, e.cidr2)}`
  }
}

// ---------------------------------------------------------------- replies

/** A reply's attributes, after the 4-byte nfgenmsg. */
export const body = (m: Buffer): Attrs => parseAttrs(m.subarray(4))

export interface ProtocolReply { protocol: number; min: number }
export function decodeProtocol(m: Buffer): ProtocolReply | undefined {
  const a = body(m)
  const protocol = getU8(a.get(ATTR_PROTOCOL))
  if (protocol === undefined) return undefined
  return { protocol, min: getU8(a.get(ATTR_PROTOCOL_MIN)) ?? protocol }
}

/** TYPE: the newest and oldest revision the kernel has of a type for a family. */
export interface TypeReply { revision: number; revisionMin: number }
export function decodeType(m: Buffer): TypeReply | undefined {
  const a = body(m)
  const revision = getU8(a.get(ATTR_REVISION))
  if (revision === undefined) return undefined
  return { revision, revisionMin: getU8(a.get(ATTR_PROTOCOL_MIN)) ?? revision }
}

const familyOf = (b: number | undefined): SetFamily | null =>
  b === C.AF_INET ? 4 : b === C.AF_INET6 ? 6 : b === C.AF_UNSPEC ? undefined : null

/** HEADER (or a list reply's first message): a set's type and family; typeName is set whatever the type. */
export interface SetHeader { name: string; typeName: string; type?: SetType; family: SetFamily | null; revision: number }
export function decodeHeader(m: Buffer): SetHeader | undefined {
  const a = body(m)
  const name = getStr(a.get(ATTR_SETNAME))
  const typeName = getStr(a.get(ATTR_TYPENAME))
  if (name === undefined || typeName === undefined) return undefined
  return { name, typeName, ...(isSetType(typeName) ? { type: typeName } : {}), family: familyOf(getU8(a.get(ATTR_FAMILY))), revision: getU8(a.get(ATTR_REVISION)) ?? 0 }
}

export const decodeSetName = (m: Buffer): string | undefined => getStr(body(m).get(ATTR_SETNAME))

function decodeAddr(b: Buffer | undefined): IpBytes | undefined {
  if (!b) return undefined
  const a = parseAttrs(b)
  const v4 = a.get(ATTR_IPADDR_IPV4)
  if (v4 && v4.length === 4) return { family: 4, bytes: Buffer.from(v4) }
  const v6 = a.get(ATTR_IPADDR_IPV6)
  if (v6 && v6.length === 16) return { family: 6, bytes: Buffer.from(v6) }
  return undefined
}

/** One DATA container of a list reply; undefined when it lacks a part its type has. */
export function decodeElement(type: SetType, data: Buffer): Element | undefined {
  const a = parseAttrs(data)
  const e: Element = {}
  const ip = decodeAddr(a.get(ATTR_IP))
  const ip2 = decodeAddr(a.get(ATTR_IP2))
  const p = getU16be(a.get(ATTR_PORT))
  const proto = PROTO_NAMES.get(getU8(a.get(ATTR_PROTO)) ?? -1)
  const cidr = getU8(a.get(ATTR_CIDR))
  const cidr2 = getU8(a.get(ATTR_CIDR2))
  if (type === 'bitmap:port') return p === undefined ? undefined : { port: p }
  if (!ip) return undefined
  e.ip = ip
  if (type === 'hash:ip') return e
  if (type === 'hash:net') return cidr === undefined ? e : { ...e, cidr }
  if (p === undefined || !proto) return undefined
  e.port = p
  e.proto = proto
  if (type === 'hash:ip,port') return e
  if (!ip2) return undefined
  e.ip2 = ip2
  if (type === 'hash:ip,port,net' && cidr2 !== undefined) e.cidr2 = cidr2
  return e
}

/** The DATA containers of a list reply message (its ADT attribute), in order. */
export function listedData(m: Buffer): Buffer[] {
  const adt = body(m).get(ATTR_ADT)
  return adt ? parseAttrs(adt).all(ATTR_DATA) : []
}

/**
 * The line the kernel blamed, from the request an error echoes (nlmsghdr + nfgenmsg +
 * attributes): for an ADT message, the refused element's; else the one we sent.
 */
export function errorLine(echo: Buffer | undefined): number | undefined {
  if (!echo || echo.length < 20) return undefined
  const len = Math.min(echo.readUInt32LE(0), echo.length)
  return getU32be(parseAttrs(echo.subarray(20, len)).get(ATTR_LINENO))
}

// ---------------------------------------------------------------- errors

// include/uapi/linux/netfilter/ipset/ip_set.h, ip_set_hash.h, ip_set_bitmap.h
export const IPSET_ERR_PROTOCOL = 4097
export const IPSET_ERR_FIND_TYPE = 4098
export const IPSET_ERR_MAX_SETS = 4099
export const IPSET_ERR_BUSY = 4100
export const IPSET_ERR_EXIST_SETNAME2 = 4101
export const IPSET_ERR_TYPE_MISMATCH = 4102
export const IPSET_ERR_EXIST = 4103
export const IPSET_ERR_INVALID_CIDR = 4104
export const IPSET_ERR_INVALID_FAMILY = 4106
export const IPSET_ERR_REFERENCED = 4108
export const IPSET_ERR_IPADDR_IPV4 = 4109
export const IPSET_ERR_IPADDR_IPV6 = 4110
export const IPSET_ERR_TYPE_SPECIFIC = 4352

const CORE: Record<number, [string, string]> = {
  [IPSET_ERR_PROTOCOL]: ['IPSET_ERR_PROTOCOL', 'Kernel error received: ipset protocol error'],
  [IPSET_ERR_FIND_TYPE]: ['IPSET_ERR_FIND_TYPE', 'Kernel error received: set type not supported'],
  [IPSET_ERR_MAX_SETS]: ['IPSET_ERR_MAX_SETS', 'Kernel error received: maximal number of sets reached, cannot create more.'],
  [IPSET_ERR_BUSY]: ['IPSET_ERR_BUSY', 'Set cannot be destroyed: it is in use by a kernel component'],
  [IPSET_ERR_EXIST_SETNAME2]: ['IPSET_ERR_EXIST_SETNAME2', 'Sets cannot be swapped: the second set does not exist'],
  [IPSET_ERR_TYPE_MISMATCH]: ['IPSET_ERR_TYPE_MISMATCH', 'The sets cannot be swapped: their type does not match'],
  [IPSET_ERR_INVALID_CIDR]: ['IPSET_ERR_INVALID_CIDR', 'The value of the CIDR parameter of the IP address is invalid'],
  [IPSET_ERR_INVALID_FAMILY]: ['IPSET_ERR_INVALID_FAMILY', 'Protocol family not supported by the set type'],
  [IPSET_ERR_REFERENCED]: ['IPSET_ERR_REFERENCED', 'Set is in use by another system'],
  [IPSET_ERR_IPADDR_IPV4]: ['IPSET_ERR_IPADDR_IPV4', 'An IPv4 address is expected, but not received'],
  [IPSET_ERR_IPADDR_IPV6]: ['IPSET_ERR_IPADDR_IPV6', 'An IPv6 address is expected, but not received'],
}
const HASH = [
  ['IPSET_ERR_HASH_FULL', 'Hash is full, cannot add more elements'],
  ['IPSET_ERR_HASH_ELEM', 'Null-valued element, cannot be stored in a hash type of set'],
  ['IPSET_ERR_INVALID_PROTO', 'Invalid protocol specified'],
  ['IPSET_ERR_MISSING_PROTO', 'Protocol missing, but must be specified'],
  ['IPSET_ERR_HASH_RANGE_UNSUPPORTED', 'Range is not supported in the "net" component of the element'],
  ['IPSET_ERR_HASH_RANGE', 'Invalid range, covers the whole address space'],
] as const
const BITMAP = [
  ['IPSET_ERR_BITMAP_RANGE', 'Element is out of the range of the set'],
  ['IPSET_ERR_BITMAP_RANGE_SIZE', 'The range you specified exceeds the size limit of the set type'],
] as const

/**
 * The code and the ipset tool's own words (lib/errcode.c) for a kernel error: the
 * type-specific codes (4352 on) mean different things for hash and bitmap sets, and a
 * few plain errnos mean something particular for one command.
 */
export function describeError(errno: number, cmd: number, type?: string): { code: string; message: string } | undefined {
  if (errno >= IPSET_ERR_TYPE_SPECIFIC) {
    const table = type?.startsWith('hash:') ? HASH : type?.startsWith('bitmap:') ? BITMAP : undefined
    const e = table?.[errno - IPSET_ERR_TYPE_SPECIFIC]
    return e ? { code: e[0], message: e[1] } : undefined
  }
  if (errno === IPSET_ERR_EXIST) {
    if (cmd === CMD_DEL) return { code: 'IPSET_ERR_EXIST', message: "Element cannot be deleted from the set: it's not added" }
    return { code: 'IPSET_ERR_EXIST', message: "Element cannot be added to the set: it's already added" }
  }
  const core = CORE[errno]
  if (core) return { code: core[0], message: core[1] }
  if (errno === errnos.ENOENT) return { code: 'ENOENT', message: 'The set with the given name does not exist' }
  if (errno === errnos.EEXIST && cmd === CMD_CREATE) return { code: 'EEXIST', message: 'Set cannot be created: set with the same name already exists' }
  return undefined
}
