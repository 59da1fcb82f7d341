// nf_tables set elements over nfnetlink (subsystem NFNL_SUBSYS_NFTABLES,
// include/uapi/linux/netfilter/nf_tables.h). Only what bulk element writes
// need: NEWSETELEM/DELSETELEM messages and the BATCH_BEGIN/END pair that makes
// a sendmsg's messages one transaction. Tables, chains and rules stay with
// libnftables; this exists because libnftables spends ~15 us parsing and
// evaluating each element of a 130,000-element ruleset, and the kernel ~1 us
// inserting it. Pure: no sockets here.
import { attr, nested, str, u32be } from './attrs.ts'
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

/** One element's NFTA_LIST_ELEM attribute. */
export function elemAttr(e: SetElem): Buffer {
  const parts = [nested(NFTA_SET_ELEM_KEY, [attr(NFTA_DATA_VALUE, e.key)], true)]
  if (e.data?.kind === 'value') parts.push(nested(NFTA_SET_ELEM_DATA, [attr(NFTA_DATA_VALUE, e.data.bytes)], true))
  else if (e.data?.kind === 'verdict') {
    const v = [attr(NFTA_VERDICT_CODE, u32be(VERDICT[e.data.code] >>> 0))]
    if (e.data.chain !== undefined) v.push(attr(NFTA_VERDICT_CHAIN, str(e.data.chain)))
    parts.push(nested(NFTA_SET_ELEM_DATA, [nested(NFTA_DATA_VERDICT, v, true)], true))
  }
  return nested(NFTA_LIST_ELEM, parts, true)
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
