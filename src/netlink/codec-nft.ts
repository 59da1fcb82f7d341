// nf_tables set elements over nfnetlink (subsystem NFNL_SUBSYS_NFTABLES,
// include/uapi/linux/netfilter/nf_tables.h). Only what bulk element writes
// need: NEWSETELEM/DELSETELEM messages and the BATCH_BEGIN/END pair that makes
// a sendmsg's messages one transaction. Tables, chains and rules stay with
// libnftables; this exists because libnftables spends ~15 us parsing and
// evaluating each element of a 130,000-element ruleset, and the kernel ~1 us
// inserting it. Pure: no sockets here.
import { align4, attr, NLA_F_NESTED, nested, putHdr, str, zeroed } from './attrs.ts'
import type { NlMessage } from './socket.ts'

export const NFNL_SUBSYS_NFTABLES = 10
export const NFNL_MSG_BATCH_BEGIN = 0x10
export const NFNL_MSG_BATCH_END = 0x11
export const NFT_MSG_NEWSETELEM = 12
export const NFT_MSG_DELSETELEM = 14
export const NFT_MSG_GETGEN = 16
export const NFT_MSG_GETTABLE = 1
const NFTA_TABLE_NAME = 1
export const NFPROTO_INET = 1
const NLM_F_CREATE = 0x400

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

/** kernel verdict codes (NF_ACCEPT/NF_DROP and enum nft_verdicts) */
export const VERDICT = { accept: 1, drop: 0, continue: -1, break: -2, jump: -3, goto: -4, return: -5 } as const
export type VerdictCode = keyof typeof VERDICT

export type ElemData = { kind: 'value'; bytes: Buffer } | { kind: 'verdict'; code: VerdictCode; chain?: string }

export interface SetElem {
  key: Buffer
  data?: ElemData
}

/** An attribute's length is a u16: one message's element list must stay under it. */
export const MAX_ELEMENTS_BYTES = 60_000

/** struct nfgenmsg: family, version NFNETLINK_V0, res_id (big-endian) */
function nfgen(family: number, resId = 0): Buffer {
  const b = Buffer.alloc(4)
  b[0] = family
  b.writeUInt16BE(resId, 2)
  return b
}

/** The message type of an nf_tables command. */
export const nftType = (cmd: number): number => (NFNL_SUBSYS_NFTABLES << 8) | cmd

export const batchBegin = (): NlMessage => ({ type: NFNL_MSG_BATCH_BEGIN, flags: 0, payload: [nfgen(0, NFNL_SUBSYS_NFTABLES)] })
export const batchEnd = (): NlMessage => ({ type: NFNL_MSG_BATCH_END, flags: 0, payload: [nfgen(0, NFNL_SUBSYS_NFTABLES)] })

/** Asks the ruleset's generation: a request nf_tables always answers, sent after a batch to know its replies are in. */
export const getGen = (): NlMessage => ({ type: nftType(NFT_MSG_GETGEN), flags: 0, payload: [nfgen(0)] })

/** Asks for one inet table: the kernel answers it, or ENOENT. */
export const getTable = (name: string): NlMessage => ({ type: nftType(NFT_MSG_GETTABLE), flags: 0, payload: [nfgen(NFPROTO_INET), attr(NFTA_TABLE_NAME, str(name))] })


/**
 * One element's NFTA_LIST_ELEM attribute, written into one buffer: a full load
 * encodes 130,000 of these, and building each from nested attr() buffers cost
 * eight allocations an element.
 */
export function elemAttr(e: SetElem): Buffer {
  const keyNest = 4 + 4 + align4(e.key.length)
  let dataNest = 0
  let chainBytes = 0
  if (e.data?.kind === 'value') dataNest = 4 + 4 + align4(e.data.bytes.length)
  else if (e.data?.kind === 'verdict') {
    chainBytes = e.data.chain === undefined ? 0 : Buffer.byteLength(e.data.chain) + 1
    dataNest = 4 + 4 + 8 + (chainBytes ? 4 + align4(chainBytes) : 0)
  }
  const total = 4 + keyNest + dataNest
  const b = zeroed(total)
  let at = 0
  const hdr = (len: number, type: number) => { at = putHdr(b, at, len, type) }
  hdr(total, NFTA_LIST_ELEM | NLA_F_NESTED)
  hdr(keyNest, NFTA_SET_ELEM_KEY | NLA_F_NESTED)
  hdr(4 + e.key.length, NFTA_DATA_VALUE)
  e.key.copy(b, at)
  at += align4(e.key.length)
  if (e.data?.kind === 'value') {
    hdr(dataNest, NFTA_SET_ELEM_DATA | NLA_F_NESTED)
    hdr(4 + e.data.bytes.length, NFTA_DATA_VALUE)
    e.data.bytes.copy(b, at)
  } else if (e.data?.kind === 'verdict') {
    hdr(dataNest, NFTA_SET_ELEM_DATA | NLA_F_NESTED)
    hdr(dataNest - 4, NFTA_DATA_VERDICT | NLA_F_NESTED)
    hdr(8, NFTA_VERDICT_CODE)
    b.writeInt32BE(VERDICT[e.data.code], at)
    at += 4
    if (chainBytes) {
      hdr(4 + chainBytes, NFTA_VERDICT_CHAIN)
      b.write(e.data.chain!, at) // the NUL and the padding are the buffer's zeroes
    }
  }
  return b
}

/**
 * NEWSETELEM (add) or DELSETELEM (delete) messages for elements already
 * encoded by elemAttr, as many as the u16 attribute length needs.
 */
export function setElemMsgs(verb: 'add' | 'delete', table: string, set: string, elems: readonly Buffer[]): NlMessage[] {
  const out: NlMessage[] = []
  const head = [nfgen(NFPROTO_INET), attr(NFTA_SET_ELEM_LIST_TABLE, str(table)), attr(NFTA_SET_ELEM_LIST_SET, str(set))]
  let chunk: Buffer[] = []
  let bytes = 0
  const flush = () => {
    if (chunk.length === 0) return
    out.push({
      type: nftType(verb === 'add' ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM),
      flags: verb === 'add' ? NLM_F_CREATE : 0,
      payload: [...head, nested(NFTA_SET_ELEM_LIST_ELEMENTS, chunk, true)],
    })
    chunk = []
    bytes = 0
  }
  for (const e of elems) {
    if (bytes + e.length > MAX_ELEMENTS_BYTES) flush()
    chunk.push(e)
    bytes += e.length
  }
  flush()
  return out
}
