// Element adds and deletes for our table over one nfnetlink socket, as
// nf_tables transactions (BATCH_BEGIN ... BATCH_END in one sendmsg: all or
// nothing). The backend sends through here whatever the codec can encode and
// leaves the rest (and every chain, rule and set declaration) to libnftables.
import { getSystemErrorMap } from 'node:util'
import { inNetns } from '../../netns/index.ts'
import { NETLINK_NETFILTER } from '../../netlink/constants.ts'
import { batchBegin, batchEnd, elemAttr, getGen, getTable, setElemMsgs } from '../../netlink/codec-nft.ts'
import { NetlinkError } from '../../netlink/errors.ts'
import { MAX_BATCH_BYTES, NlSocket, type NlMessage } from '../../netlink/socket.ts'
import { ProxyApplyError } from '../backend.ts'
import { encodeElement, layoutOf, type SetLayout } from './element-codec.ts'
import type { NftElement, NftObject } from './render.ts'

/** room left in a sendmsg for BATCH_BEGIN and BATCH_END (20 bytes each) and slack */
const TX_BYTES = MAX_BATCH_BYTES - 1024

export class NftElementWriter {
  readonly #sock: NlSocket
  readonly #table: string
  readonly #layouts = new Map<string, SetLayout>()

  private constructor(sock: NlSocket, table: string) {
    this.#sock = sock
    this.#table = table
  }

  /** A socket in the namespace at netns (the current one when undefined). */
  static open(table: string, netns?: string): NftElementWriter {
    const make = () => new NlSocket({ protocol: NETLINK_NETFILTER })
    return new NftElementWriter(netns ? inNetns(netns, make) : make(), table)
  }

  /**
   * Whether our table is in the kernel: one netlink get. (Any listing through
   * libnftables fills its whole cache first, every element: seconds at 10,000 Services.)
   */
  async tableExists(): Promise<boolean> {
    const m = getTable(this.#table)
    try {
      await this.#sock.request('nft get table', m.type, m.flags, m.payload)
      return true
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENOENT') return false
      throw new ProxyApplyError('nftables', `asking for table ${this.#table}: ${(e as Error).message}`, { cause: e })
    }
  }

  /** Learn a set's or map's layout from its declaration (chains and unencodable sets are ignored). */
  know(o: NftObject): void {
    if (o.kind === 'chain' || o.dynamic) return
    const l = layoutOf(o.spec)
    if (l) this.#layouts.set(o.name, l)
    else this.#layouts.delete(o.name)
  }

  forget(): void {
    this.#layouts.clear()
  }

  /** whether this element's set has a layout here (else it goes through libnftables) */
  handles(e: { set: string }): boolean {
    return this.#layouts.has(e.set)
  }

  /** what each message of the next transaction writes, for its error message */
  #about = new WeakMap<NlMessage, string>()

  #messages(verb: 'add' | 'delete', elements: readonly NftElement[]): NlMessage[] {
    const bySet = new Map<string, Buffer[]>()
    for (const e of elements) {
      const layout = this.#layouts.get(e.set)
      if (!layout) throw new ProxyApplyError('nftables', `no element layout for ${e.set}`)
      let list = bySet.get(e.set)
      if (!list) bySet.set(e.set, (list = []))
      try {
        const enc = encodeElement(layout, e.key, e.value)
        // a delete names the key alone
        list.push(elemAttr(verb === 'add' ? enc : { key: enc.key }))
      } catch (err) {
        throw new ProxyApplyError('nftables', `element ${e.key} of ${e.set}: ${(err as Error).message}`, { cause: err })
      }
    }
    return [...bySet].flatMap(([set, elems]) => {
      const msgs = setElemMsgs(verb, this.#table, set, elems)
      for (const m of msgs) this.#about.set(m, `${verb === 'add' ? 'adding' : 'deleting'} elements of ${set}`)
      return msgs
    })
  }

  /** the bytes these messages take in a sendmsg */
  static #bytes(msgs: readonly NlMessage[]): number {
    return msgs.reduce((n, m) => n + NlSocket.frameBytes(m), 0)
  }

  /**
   * Deletes, then adds, in one transaction; false (nothing sent) when they do
   * not fit one sendmsg: the caller then takes its own one-transaction path,
   * since two transactions would show the kernel half a change.
   */
  async swap(deletes: readonly NftElement[], adds: readonly NftElement[]): Promise<boolean> {
    const msgs = [...this.#messages('delete', deletes), ...this.#messages('add', adds)]
    if (msgs.length === 0) return true
    if (NftElementWriter.#bytes(msgs) > TX_BYTES) return false
    await this.#transaction(msgs)
    return true
  }

  /**
   * Adds, in as many transactions as they need. For a table nobody uses yet
   * (the first load): a reader may see some Services before others, never a
   * half-written element.
   */
  async load(adds: readonly NftElement[]): Promise<void> {
    const msgs = this.#messages('add', adds)
    let chunk: NlMessage[] = []
    let bytes = 0
    for (const m of msgs) {
      const b = NlSocket.frameBytes(m)
      if (chunk.length > 0 && bytes + b > TX_BYTES) {
        await this.#transaction(chunk)
        chunk = []
        bytes = 0
      }
      chunk.push(m)
      bytes += b
    }
    if (chunk.length > 0) await this.#transaction(chunk)
  }

  async #transaction(msgs: NlMessage[]): Promise<void> {
    let results: Array<NetlinkError | undefined>
    try {
      // a failed message is reported unasked, and the kernel then aborts the whole batch (and acks nothing)
      results = await this.#sock.fencedBatch('nft element batch', [batchBegin(), ...msgs, batchEnd()], getGen())
    } catch (e) {
      throw new ProxyApplyError('nftables', `element batch: ${(e as Error).message}`, { cause: e })
    }
    const i = results.findIndex((r) => r !== undefined)
    if (i >= 0) {
      const err = results[i]!
      const what = i === 0 || i === results.length - 1 ? 'the batch' : this.#about.get(msgs[i - 1]!) ?? 'elements'
      const text = getSystemErrorMap().get(-err.errno)?.[1] ?? err.code
      throw new ProxyApplyError('nftables', `${what}: ${err.code} (${text}); the kernel applied none of this batch`, { cause: err })
    }
  }

  close(): void {
    this.#sock.close()
  }
}
