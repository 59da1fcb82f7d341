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

function fieldInto(out: Buffer, at: number, field: WireField, text: string, fail: (why: string) => never): void {
  switch (field) {
    case 'addr4':
    case 'addr6': {
      let a
      try { a = parseIp(text) } catch (e) { fail((e as Error).message) }
      if (a.family !== (field === 'addr4' ? 4 : 6)) fail(`${text} is not an IPv${field === 'addr4' ? 4 : 6} address`)
      ipToBytes(a).copy(out, at)
      return
    }
    case 'proto': {
      const p = PROTO[text]
      if (p === undefined) fail(`${text} is not tcp, udp or sctp`)
      out.writeUInt8(p, at)
      return
    }
    case 'port':
    case 'slot': {
      const max = field === 'port' ? 0xffff : 0xffffffff
      if (!/^\d{1,10}$/.test(text) || Number(text) > max) fail(`${text} is not a ${field === 'port' ? 'port' : 'slot number'}`)
      // a port is network order; numgen's result (a slot) is a host-order register
      if (field === 'port') out.writeUInt16BE(Number(text), at)
      else out.writeUInt32LE(Number(text), at)
    }
  }
}

/** The bytes of a key or value given as nft text (`10.96.0.1 . tcp . 80`). */
export function encodeValue(set: string, fields: readonly WireField[], text: string): Buffer {
  const fail = (why: string): never => { throw new ElementEncodeError(set, text, why) }
  const parts = text.split(' . ')
  if (parts.length !== fields.length) fail(`${parts.length} fields, the set has ${fields.length}`)
  const out = Buffer.alloc(valueLength(fields))
  let at = 0
  fields.forEach((f, i) => {
    fieldInto(out, at, f, parts[i]!, fail)
    at += fields.length === 1 ? FIELD_LEN[f] : align4(FIELD_LEN[f])
  })
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

/** One NFTA_LIST_ELEM, attribute header included. */
export function encodeElement(set: string, layout: ElementLayout, e: WireElement, withData: boolean): Buffer {
  const key = encodeValue(set, layout.key, e.key)
  const keyAttr = 4 + 4 + align4(key.length)
  let data: Buffer | undefined
  let verdict: { code: number; chain?: string } | undefined
  let dataAttr = 0
  if (withData && layout.data !== undefined) {
    if (e.value === undefined) throw new ElementEncodeError(set, e.key, 'a map element needs a value')
    if (layout.data === 'verdict') {
      verdict = parseVerdict(set, e.value)
      const chain = verdict.chain === undefined ? 0 : 4 + align4(Buffer.byteLength(verdict.chain) + 1)
      dataAttr = 4 + 4 + 8 + chain
    } else {
      data = encodeValue(set, layout.data, e.value)
      dataAttr = 4 + 4 + align4(data.length)
    }
  } else if (withData && e.value !== undefined) {
    throw new ElementEncodeError(set, e.key, 'the set is not a map, but the element has a value')
  }
  const out = Buffer.alloc(4 + keyAttr + dataAttr)
  let at = header(out, 0, NFTA_LIST_ELEM | NLA_F_NESTED, keyAttr + dataAttr)
  at = header(out, at, NFTA_SET_ELEM_KEY | NLA_F_NESTED, 4 + key.length)
  at = header(out, at, NFTA_DATA_VALUE, key.length)
  key.copy(out, at)
  at += align4(key.length)
  if (data) {
    at = header(out, at, NFTA_SET_ELEM_DATA | NLA_F_NESTED, 4 + data.length)
    at = header(out, at, NFTA_DATA_VALUE, data.length)
    data.copy(out, at)
  } else if (verdict) {
    const chainLen = verdict.chain === undefined ? 0 : Buffer.byteLength(verdict.chain) + 1
    const inner = 8 + (chainLen === 0 ? 0 : 4 + align4(chainLen))
    at = header(out, at, NFTA_SET_ELEM_DATA | NLA_F_NESTED, 4 + inner)
    at = header(out, at, NFTA_DATA_VERDICT | NLA_F_NESTED, inner)
    at = header(out, at, NFTA_VERDICT_CODE, 4)
    out.writeInt32BE(verdict.code, at)
    at += 4
    if (verdict.chain !== undefined) {
      at = header(out, at, NFTA_VERDICT_CHAIN, chainLen)
      out.write(verdict.chain, at, 'utf8')
    }
  }
  return out
}

function str(type: number, s: string): Buffer {
  const len = Buffer.byteLength(s) + 1
  const out = Buffer.alloc(4 + align4(len))
  header(out, 0, type, len)
  out.write(s, 4, 'utf8')
  return out
}

function message(msg: number, flags: number, family: number, table: string, set: string, elements?: Buffer[], listBytes = 0): WireMessage {
  const parts = [Buffer.from([family, 0, 0, 0]), str(NFTA_SET_ELEM_LIST_TABLE, table), str(NFTA_SET_ELEM_LIST_SET, set)]
  if (elements) {
    const h = Buffer.alloc(4)
    header(h, 0, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, listBytes)
    parts.push(h, ...elements)
  }
  return { type: (NFNL_SUBSYS_NFTABLES << 8) | msg, flags, payload: Buffer.concat(parts), set }
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
  for (const c of changes) if (c.flush) out.push(message(NFT_MSG_DELSETELEM, 0, target.family, target.table, c.set))
  const elements = (verb: 'delete' | 'add') => {
    for (const c of changes) {
      const list = verb === 'add' ? c.add : c.delete
      if (!list || list.length === 0) continue
      const msg = verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM
      const flags = verb === 'add' ? NLM_F_CREATE : 0
      let chunk: Buffer[] = []
      let bytes = 0
      for (const e of list) {
        const b = encodeElement(c.set, c.layout, e, verb === 'add')
        if (bytes + b.length > MAX_LIST_BYTES && chunk.length > 0) {
          out.push(message(msg, flags, target.family, target.table, c.set, chunk, bytes))
          chunk = []
          bytes = 0
        }
        chunk.push(b)
        bytes += b.length
      }
      out.push(message(msg, flags, target.family, target.table, c.set, chunk, bytes))
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
