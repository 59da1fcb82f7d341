// Set and map elements as nfnetlink messages (NFT_MSG_NEWSETELEM /
// NFT_MSG_DELSETELEM), for the elements that would otherwise go through
// libnftables as text: at 10,000 Services its parser is most of a cold sync
// (bench/proxy-nft-sync.ts). Pure: element text in, message payloads out; the
// socket that sends them as one transaction is src/netlink/nfnl-batch.ts.
//
// The layout follows the kernel (net/netfilter/nf_tables_api.c,
// nft_add_set_elem / nft_del_setelem) and libnftnl's set_elem.c:
//   nfgenmsg { family, version 0, res_id 0 }
//   NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET (strings)
//   NFTA_SET_ELEM_LIST_ELEMENTS { NFTA_LIST_ELEM {
//     NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE bytes }
//     NFTA_SET_ELEM_DATA { NFTA_DATA_VALUE bytes | NFTA_DATA_VERDICT { CODE be32, CHAIN } } } ... }
// A concatenated key or value puts each field in its own 4-byte-aligned
// register, zero-padded; a single field is its own length. A DELSETELEM without
// an element list flushes the set (nft_set_flush).
import { parseIp, ipToBytes } from '../../net/address.ts'
import { NLA_F_NESTED, align4 } from '../../netlink/attrs.ts'

export const NFNL_SUBSYS_NFTABLES = 10
export const NFT_MSG_NEWSETELEM = 12
export const NFT_MSG_DELSETELEM = 14
const NFTA_SET_ELEM_LIST_TABLE = 1
const NFTA_SET_ELEM_LIST_SET = 2
const NFTA_SET_ELEM_LIST_ELEMENTS = 3
const NFTA_LIST_ELEM = 1
const NFTA_SET_ELEM_KEY = 1
const NFTA_SET_ELEM_DATA = 2
const NFTA_DATA_VALUE = 1
const NFTA_DATA_VERDICT = 2
const NFTA_VERDICT_CODE = 1
const NFTA_VERDICT_CHAIN = 2
/** NLM_F_CREATE: `add element` (an identical element already there is no error; other data is EEXIST) */
const NLM_F_CREATE = 0x400
/** an attribute's length is 16 bits: the element list of one message stays below it */
export const MAX_LIST_BYTES = 0xffff - 64
/** the kernel's chain name limit (NFT_CHAIN_MAXNAMELEN, with its NUL) */
const CHAIN_MAXNAMELEN = 256

/** One field of a key or value, as the kernel stores it. */
export type WireField = 'addr4' | 'addr6' | 'proto' | 'port' | 'slot'

/** How a set's elements are laid out: key fields, and for maps the data (fields or a verdict). */
export interface ElementLayout {
  key: readonly WireField[]
  data?: readonly WireField[] | 'verdict'
}

export interface WireElement {
  key: string
  value?: string
}

/** One message of a batch: its nfnetlink type (subsystem << 8 | message), flags and payload. */
export interface WireMessage {
  type: number
  flags: number
  payload: Buffer
  /** the set it writes, for naming it in an error */
  set: string
}

export class ElementEncodeError extends Error {
  readonly code = 'NFT_ELEMENT'
  constructor(readonly set: string, readonly element: string, why: string) {
    super(`${set}: element ${JSON.stringify(element)}: ${why}`)
    this.name = 'ElementEncodeError'
  }
}

const FIELD_LEN: Record<WireField, number> = { addr4: 4, addr6: 16, proto: 1, port: 2, slot: 4 }
const PROTO: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 }
/** verdict codes of <linux/netfilter.h> and <linux/netfilter/nf_tables.h> */
const VERDICT: Record<string, number> = { drop: 0, accept: 1, continue: -1, return: -5, jump: -3, goto: -4 }

/** Bytes of one key or value of `fields` (concatenations padded per register). */
export function valueLength(fields: readonly WireField[]): number {
  if (fields.length === 1) return FIELD_LEN[fields[0]!]
  return fields.reduce((n, f) => n + align4(FIELD_LEN[f]), 0)
}

/** Parsed addresses of one encoding run: VIPs recur in every slot of their frontend. */
type AddrCache = Map<string, Buffer | string>

/** a decimal number of at most 10 digits, or -1 (cheaper than a regex at 100,000 elements) */
function decimal(text: string): number {
  if (text.length === 0 || text.length > 10) return -1
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Write one field; returns an error text instead of throwing (the caller knows the set and element). */
function fieldInto(out: Buffer, at: number, field: WireField, text: string, cache: AddrCache): string | undefined {
  if (field === 'addr4' || field === 'addr6') {
    let b = cache.get(text)
    if (b === undefined) {
      try {
        const a = parseIp(text)
        b = a.family === (field === 'addr4' ? 4 : 6) ? ipToBytes(a) : `${text} is not an IPv${field === 'addr4' ? 4 : 6} address`
      } catch (e) {
        b = (e as Error).message
      }
      cache.set(text, b)
    }
    if (typeof b === 'string') return b
    b.copy(out, at)
    return undefined
  }
  if (field === 'proto') {
    const p = PROTO[text]
    if (p === undefined) return `${text} is not tcp, udp or sctp`
    out[at] = p
    return undefined
  }
  const n = decimal(text)
  // a port is network order; numgen's result (a slot) is a host-order register
  if (field === 'port') {
    if (n < 0 || n > 0xffff) return `${text} is not a port`
    out.writeUInt16BE(n, at)
  } else {
    if (n < 0 || n > 0xffffffff) return `${text} is not a slot number`
    out.writeUInt32LE(n, at)
  }
  return undefined
}

/** Write a key or value given as nft text (`10.96.0.1 . tcp . 80`) at `at` of a zeroed buffer. */
function valueInto(out: Buffer, at: number, set: string, fields: readonly WireField[], text: string, cache: AddrCache): void {
  const parts = text.split(' . ')
  if (parts.length !== fields.length) throw new ElementEncodeError(set, text, `${parts.length} fields, the set has ${fields.length}`)
  const single = fields.length === 1
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!
    const why = fieldInto(out, at, f, parts[i]!, cache)
    if (why !== undefined) throw new ElementEncodeError(set, text, why)
    at += single ? FIELD_LEN[f] : align4(FIELD_LEN[f])
  }
}

/** The bytes of a key or value given as nft text (`10.96.0.1 . tcp . 80`). */
export function encodeValue(set: string, fields: readonly WireField[], text: string): Buffer {
  const out = Buffer.alloc(valueLength(fields))
  valueInto(out, 0, set, fields, text, new Map())
  return out
}

/** `goto lb-x`, `jump x`, `return`, `drop`, `accept` -> code and chain. */
export function parseVerdict(set: string, text: string): { code: number; chain?: string } {
  const m = /^(goto|jump) ([A-Za-z0-9_.-]+)$/.exec(text)
  if (m) {
    if (m[2]!.length >= CHAIN_MAXNAMELEN) throw new ElementEncodeError(set, text, 'chain name too long')
    return { code: VERDICT[m[1]!]!, chain: m[2]! }
  }
  const code = Object.hasOwn(VERDICT, text) && text !== 'goto' && text !== 'jump' ? VERDICT[text] : undefined
  if (code === undefined) throw new ElementEncodeError(set, text, 'not a verdict (goto/jump <chain>, return, drop, accept, continue)')
  return { code }
}

/** header of an attribute of `len` payload bytes at `at`; returns where its payload starts */
function header(out: Buffer, at: number, type: number, len: number): number {
  out.writeUInt16LE(4 + len, at)
  out.writeUInt16LE(type, at + 2)
  return at + 4
}

/** One element, checked and measured; written by `elementInto`. */
interface Planned {
  e: WireElement
  bytes: number
  verdict?: { code: number; chain?: string }
  withData: boolean
}

function planElement(set: string, layout: ElementLayout, e: WireElement, withData: boolean): Planned {
  const keyAttr = 8 + align4(valueLength(layout.key))
  if (!withData) return { e, bytes: 4 + keyAttr, withData }
  if (layout.data === undefined) {
    if (e.value !== undefined) throw new ElementEncodeError(set, e.key, 'the set is not a map, but the element has a value')
    return { e, bytes: 4 + keyAttr, withData }
  }
  if (e.value === undefined) throw new ElementEncodeError(set, e.key, 'a map element needs a value')
  if (layout.data !== 'verdict') return { e, bytes: 4 + keyAttr + 8 + align4(valueLength(layout.data)), withData }
  const verdict = parseVerdict(set, e.value)
  const chain = verdict.chain === undefined ? 0 : 4 + align4(Buffer.byteLength(verdict.chain) + 1)
  return { e, bytes: 4 + keyAttr + 16 + chain, verdict, withData }
}

/** Write one NFTA_LIST_ELEM at `at` of a zeroed buffer; returns the offset after it. */
function elementInto(out: Buffer, at: number, set: string, layout: ElementLayout, p: Planned, cache: AddrCache): number {
  const end = at + p.bytes
  const klen = valueLength(layout.key)
  at = header(out, at, NFTA_LIST_ELEM | NLA_F_NESTED, p.bytes - 4)
  // a nest's length covers its last attribute's padding, as libmnl writes it
  at = header(out, at, NFTA_SET_ELEM_KEY | NLA_F_NESTED, 4 + align4(klen))
  at = header(out, at, NFTA_DATA_VALUE, klen)
  valueInto(out, at, set, layout.key, p.e.key, cache)
  at += align4(klen)
  if (!p.withData || layout.data === undefined) return end
  if (p.verdict) {
    const chainLen = p.verdict.chain === undefined ? 0 : Buffer.byteLength(p.verdict.chain) + 1
    const inner = 8 + (chainLen === 0 ? 0 : 4 + align4(chainLen))
    at = header(out, at, NFTA_SET_ELEM_DATA | NLA_F_NESTED, 4 + inner)
    at = header(out, at, NFTA_DATA_VERDICT | NLA_F_NESTED, inner)
    at = header(out, at, NFTA_VERDICT_CODE, 4)
    out.writeInt32BE(p.verdict.code, at)
    at += 4
    if (p.verdict.chain !== undefined) {
      at = header(out, at, NFTA_VERDICT_CHAIN, chainLen)
      out.write(p.verdict.chain, at, 'utf8')
    }
    return end
  }
  const data = layout.data as readonly WireField[]
  const dlen = valueLength(data)
  at = header(out, at, NFTA_SET_ELEM_DATA | NLA_F_NESTED, 4 + align4(dlen))
  at = header(out, at, NFTA_DATA_VALUE, dlen)
  valueInto(out, at, set, data, p.e.value!, cache)
  return end
}

/** One NFTA_LIST_ELEM, attribute header included. */
export function encodeElement(set: string, layout: ElementLayout, e: WireElement, withData: boolean): Buffer {
  const p = planElement(set, layout, e, withData)
  const out = Buffer.alloc(p.bytes)
  elementInto(out, 0, set, layout, p, new Map())
  return out
}

function str(type: number, s: string): Buffer {
  const len = Buffer.byteLength(s) + 1
  const out = Buffer.alloc(4 + align4(len))
  header(out, 0, type, len)
  out.write(s, 4, 'utf8')
  return out
}

/** nfgenmsg, table and set: how every message of a set starts */
function prefix(family: number, table: string, set: string): Buffer {
  return Buffer.concat([Buffer.from([family, 0, 0, 0]), str(NFTA_SET_ELEM_LIST_TABLE, table), str(NFTA_SET_ELEM_LIST_SET, set)])
}

/** What one set gets in a batch, in this order: a flush, deletes, adds. */
export interface SetChange {
  set: string
  layout: ElementLayout
  flush?: boolean
  delete?: readonly WireElement[]
  add?: readonly WireElement[]
}

export interface BatchTarget {
  /** NFPROTO_* of the table (NFPROTO_INET = 1) */
  family: number
  table: string
}

/**
 * The messages that make the changes, in order: every flush, then every delete,
 * then every add, so that a key that moves to new data is removed before it is
 * added again (nft has no replace). Each message carries as many elements as fit
 * under the 16-bit attribute length.
 */
export function encodeChanges(target: BatchTarget, changes: readonly SetChange[]): WireMessage[] {
  const out: WireMessage[] = []
  const cache: AddrCache = new Map()
  const type = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg
  for (const c of changes) {
    if (c.flush) out.push({ type: type(NFT_MSG_DELSETELEM), flags: 0, payload: prefix(target.family, target.table, c.set), set: c.set })
  }
  const elements = (verb: 'delete' | 'add') => {
    for (const c of changes) {
      const list = verb === 'add' ? c.add : c.delete
      if (!list || list.length === 0) continue
      const head = prefix(target.family, target.table, c.set)
      const planned = list.map((e) => planElement(c.set, c.layout, e, verb === 'add'))
      for (let i = 0; i < planned.length;) {
        let bytes = 0
        let j = i
        while (j < planned.length && (j === i || bytes + planned[j]!.bytes <= MAX_LIST_BYTES)) bytes += planned[j++]!.bytes
        const payload = Buffer.alloc(head.length + 4 + bytes)
        head.copy(payload, 0)
        let at = header(payload, head.length, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, bytes)
        for (; i < j; i++) at = elementInto(payload, at, c.set, c.layout, planned[i]!, cache)
        out.push({ type: type(verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM), flags: verb === 'add' ? NLM_F_CREATE : 0, payload, set: c.set })
      }
    }
  }
  elements('delete')
  elements('add')
  return out
}

/**
 * Group element deletes and adds by set, in first-seen set order, with the
 * layout of each; `flush` names sets to empty first. Every set must have a layout.
 */
export function setChanges(layouts: ReadonlyMap<string, ElementLayout>, o: { flush?: Iterable<string>; delete?: Iterable<{ set: string } & WireElement>; add?: Iterable<{ set: string } & WireElement> }): SetChange[] {
  const bySet = new Map<string, { set: string; layout: ElementLayout; flush: boolean; delete: WireElement[]; add: WireElement[] }>()
  const entry = (set: string) => {
    let c = bySet.get(set)
    if (!c) {
      const layout = layouts.get(set)
      if (!layout) throw new ElementEncodeError(set, '', 'no element layout known for this set')
      bySet.set(set, c = { set, layout, flush: false, delete: [], add: [] })
    }
    return c
  }
  for (const set of o.flush ?? []) entry(set).flush = true
  for (const e of o.delete ?? []) entry(e.set).delete.push(e)
  for (const e of o.add ?? []) entry(e.set).add.push(e)
  return [...bySet.values()]
}
