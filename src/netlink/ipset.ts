// Ipset: the kernel's ipsets over nfnetlink from this process, on one socket bound to
// one network namespace, the way Ipvs does IPVS: no `ipset` exec per sync (under a TCG
// guest an exec costs about a second). restore() takes the text `ipset restore -exist`
// would (the proxy renderers' text, unchanged) and keeps its meaning where it matters:
// commands apply in order, -exist everywhere (no NLM_F_EXCL), and nothing after a failed
// command is made live. Many elements go in one message and many messages in one sendmsg.
import { inNetns } from '../netns/index.ts'
import * as C from './constants.ts'
import * as S from './codec-ipset.ts'
import { NetlinkError, NetlinkInputError, NetlinkTimeoutError } from './errors.ts'
import { IpsetRestoreError, parseRestore, phases, setsToLookUp, setTypesAt, type KnownSet, type RestoreCommand } from './ipset-restore.ts'
import { NlSocket, type NlMessage } from './socket.ts'
import { WRITES_PER_BATCH } from './writes.ts'

/** The kernel has no ipset (ip_set not loaded and not loadable): say so. */
export class IpsetUnavailableError extends NetlinkError {
  constructor(cause: NetlinkError) {
    super('ipset.open', cause.errno, `the kernel has no ipset nfnetlink subsystem (is ip_set loaded?): ${cause.message}`, 'ENOIPSET')
    this.name = 'IpsetUnavailableError'
  }
}

/**
 * The kernel refused an ipset command. `code` is the ipset error's name (IPSET_ERR_HASH_FULL)
 * or the errno's; the message is the ipset tool's own words for it, and for a restore
 * names the line (its number and text) and the set.
 */
export class IpsetError extends NetlinkError {
  constructor(op: string, errno: number, readonly set: string, readonly reason: string, code: string, readonly line?: number, readonly lineText?: string, echo?: Buffer) {
    super(op, errno, `${line === undefined ? '' : `line ${line} ${JSON.stringify(lineText)}: `}set ${set}: ${reason}`, code, echo)
    this.name = 'IpsetError'
  }
}

/** Data bytes of the elements in one ADT message: its echo in an error stays far below the receive buffer. */
const ADT_BYTES = 3000
/**
 * Bytes per sendmsg: if every message of a batch failed, each error echoes its request
 * (about 4 KiB of receive buffer each, against a default of ~208 KiB) and the kernel must
 * have room for them all, or it drops them and a real error goes unseen.
 */
const BATCH_BYTES = 64 * 1024
const UNAVAILABLE = new Set(['EINVAL', 'EOPNOTSUPP', 'EPROTONOSUPPORT', 'ENOENT'])

interface Item { msg: NlMessage; cmds: RestoreCommand[]; type?: string }

export class Ipset {
  /** (type family) -> the revision this socket creates sets of that type with */
  private readonly revisions = new Map<string, number>()

  private constructor(private readonly sock: NlSocket, readonly protocol: number, readonly nsPath: string | undefined) {}

  static async open(nsPath?: string, opts: { timeoutMs?: number } = {}): Promise<Ipset> {
    let sock: NlSocket
    try {
      sock = inNetns(nsPath, () => new NlSocket({ protocol: C.NETLINK_NETFILTER, timeoutMs: opts.timeoutMs }))
    } catch (e) {
      const errno = (e as { errno?: number }).errno
      if (typeof errno !== 'number') throw e
      throw new IpsetUnavailableError(new NetlinkError('ipset.open', Math.abs(errno), (e as Error).message))
    }
    try {
      const [reply] = await sock.request('ipset.open', S.messageType(S.CMD_PROTOCOL), 0, S.protocolMsg())
      const p = reply ? S.decodeProtocol(reply) : undefined
      if (!p) throw new NetlinkError('ipset.open', 71, 'the kernel answered PROTOCOL without a version', 'EPROTO')
      // speak the newest both sides know; the kernel takes any from its minimum to its own
      const protocol = Math.min(S.IPSET_PROTOCOL, p.protocol)
      if (protocol < Math.max(S.IPSET_PROTOCOL_MIN, p.min)) {
        throw new NetlinkError('ipset.open', 71, `the kernel speaks ipset protocol ${p.min}-${p.protocol}, this code ${S.IPSET_PROTOCOL_MIN}-${S.IPSET_PROTOCOL}`, 'EPROTO')
      }
      return new Ipset(sock, protocol, nsPath)
    } catch (e) {
      sock.close()
      if (e instanceof NetlinkError && !(e instanceof NetlinkTimeoutError) && UNAVAILABLE.has(e.code)) throw new IpsetUnavailableError(e)
      throw e
    }
  }

  close(): void { this.sock.close() }

  /** Every set's name, in the kernel's order (`ipset list -n`). */
  async names(): Promise<string[]> {
    const msgs = await this.sock.request('ipset.names', S.messageType(S.CMD_LIST), C.NLM_F_DUMP, S.listNamesMsg(this.protocol))
    return msgs.map(S.decodeSetName).filter((n): n is string => n !== undefined)
  }

  /** One set's members, in the element syntax restore takes (as `ipset save` prints them). */
  async members(set: string): Promise<string[]> {
    const op = 'ipset.members'
    S.checkSetName(op, 'set', set)
    let msgs: Buffer[]
    try {
      msgs = await this.sock.request(op, S.messageType(S.CMD_LIST), C.NLM_F_DUMP, S.listSetMsg(set, this.protocol))
    } catch (e) {
      throw e instanceof NetlinkError && !(e instanceof NetlinkTimeoutError) ? kernelError(op, e, S.CMD_LIST, set) : e
    }
    // the first message carries the header; a long set continues in more messages
    const header = msgs.map(S.decodeHeader).find((h) => h !== undefined)
    if (!header?.type) throw new IpsetError(op, 22, set, `a set of type ${header?.typeName ?? 'unknown'}, which pontoon does not read`, 'EIPSET_TYPE')
    const out: string[] = []
    for (const m of msgs) {
      for (const d of S.listedData(m)) {
        const e = S.decodeElement(header.type, d)
        if (e) out.push(S.formatElement(header.type, e))
      }
    }
    return out
  }

  /**
   * Apply restore text (`ipset restore -exist`). The whole text is parsed and every element
   * checked against its set's type and family before anything is sent: bad input changes
   * nothing. Then each phase's creates and flushes go out pipelined, then (once those all
   * succeeded) its adds and deletes, then its swaps and destroys one at a time. A refusal
   * stops the restore with an IpsetError naming the line. One difference from the tool
   * remains: after a refused add or delete, the later adds and deletes of the same sendmsg
   * may still apply (the kernel goes on after a failed message), though nothing is swapped
   * or destroyed after it; in a full sync they only touch the twin.
   */
  async restore(text: string): Promise<void> {
    const op = 'ipset.restore'
    const cmds = parseRestore(text)
    if (cmds.length === 0) return
    const known = await this.headers(setsToLookUp(cmds))
    const types = setTypesAt(cmds, known)
    await this.learnRevisions(cmds)
    const typeAt = new Map<RestoreCommand, KnownSet | undefined>()
    for (let i = 0; i < cmds.length; i++) typeAt.set(cmds[i]!, types[i])
    const plan = phases(cmds).map((p) => ({ pipelined: [this.fillItems(p.prepare, typeAt), this.fillItems(p.fill, typeAt)], commit: p.commit.map((c) => this.commitItem(c)) }))
    for (const p of plan) {
      for (const part of p.pipelined) {
        for (const batch of batches(part)) {
          const results = await this.sock.quietBatch(op, batch.map((it) => it.msg))
          const i = results.findIndex((r) => r !== undefined)
          if (i >= 0) throw restoreError(op, results[i]!, batch[i]!)
        }
      }
      for (const it of p.commit) {
        try {
          await this.sock.request(op, it.msg.type, it.msg.flags, it.msg.payload)
        } catch (e) {
          if (e instanceof NetlinkError && !(e instanceof NetlinkTimeoutError)) throw restoreError(op, e, it)
          throw e
        }
      }
    }
  }

  /** The kernel's type and family for each named set that exists (HEADER), pipelined. */
  private async headers(names: readonly string[]): Promise<Map<string, KnownSet>> {
    const out = new Map<string, KnownSet>()
    for (let i = 0; i < names.length; i += WRITES_PER_BATCH) {
      const chunk = names.slice(i, i + WRITES_PER_BATCH)
      const results = await this.sock.batch('ipset.header', chunk.map((n) => ({ type: S.messageType(S.CMD_HEADER), flags: 0, payload: S.headerMsg(n, this.protocol) })))
      results.forEach((r, k) => {
        if (r instanceof NetlinkError) {
          if (r.code === 'ENOENT') return // not there (yet): the text may create it
          throw kernelError('ipset.header', r, S.CMD_HEADER, chunk[k]!)
        }
        const h = r[0] ? S.decodeHeader(r[0]) : undefined
        if (h?.type && h.family !== null) out.set(chunk[k]!, { type: h.type, family: h.family })
      })
    }
    return out
  }

  /** The revision for each (type, family) the text creates, asked once per socket (TYPE). */
  private async learnRevisions(cmds: readonly RestoreCommand[]): Promise<void> {
    const want = new Map<string, Extract<RestoreCommand, { kind: 'create' }>>()
    for (const c of cmds) if (c.kind === 'create' && !this.revisions.has(revKey(c.type, c.family)) && !want.has(revKey(c.type, c.family))) want.set(revKey(c.type, c.family), c)
    if (want.size === 0) return
    const asks = [...want.values()]
    const results = await this.sock.batch('ipset.type', asks.map((c) => ({ type: S.messageType(S.CMD_TYPE), flags: 0, payload: S.typeMsg(c.type, c.family, this.protocol) })))
    results.forEach((r, k) => {
      const c = asks[k]!
      if (r instanceof NetlinkError) throw restoreError('ipset.restore', r, { msg: { type: 0, flags: 0, payload: [] }, cmds: [c], type: c.type }, S.CMD_TYPE)
      const t = r[0] ? S.decodeType(r[0]) : undefined
      const revision = t ? Math.min(S.MAX_REVISION[c.type], t.revision) : -1
      if (!t || revision < t.revisionMin) {
        throw new IpsetError('ipset.restore', 95, c.set, `the kernel has ${c.type} revisions ${t?.revisionMin}-${t?.revision}, none this code was checked against`, 'EIPSET_REVISION', c.line, c.text)
      }
      this.revisions.set(revKey(c.type, c.family), revision)
    })
  }

  private fillItems(cmds: readonly RestoreCommand[], typeAt: ReadonlyMap<RestoreCommand, KnownSet | undefined>): Item[] {
    const out: Item[] = []
    let run: { kind: 'add' | 'del'; set: string; type: string; data: Buffer[]; bytes: number; cmds: RestoreCommand[] } | undefined
    const end = () => {
      if (!run) return
      const cmd = run.kind === 'add' ? S.CMD_ADD : S.CMD_DEL
      out.push({ msg: { type: S.messageType(cmd), flags: 0, payload: S.adtMsg(run.set, run.cmds[0]!.line, run.data, this.protocol) }, cmds: run.cmds, type: run.type })
      run = undefined
    }
    for (const c of cmds) {
      if (c.kind === 'add' || c.kind === 'del') {
        const k = typeAt.get(c)
        if (!k) throw new IpsetRestoreError(c.line, c.text, `set ${c.set} does not exist there (or is of a type pontoon does not write)`)
        let data = S.fastElementData(k.type, k.family, c.element, c.line)
        if (data === undefined) {
          try {
            data = S.elementData(S.parseElement('ipset.restore', k.type, k.family, c.element), c.line)
          } catch (e) {
            if (e instanceof NetlinkInputError) throw new IpsetRestoreError(c.line, c.text, `${c.element}: ${e.reason}`)
            throw e
          }
        }
        if (run && (run.kind !== c.kind || run.set !== c.set || run.bytes + data.length > ADT_BYTES)) end()
        run ??= { kind: c.kind, set: c.set, type: k.type, data: [], bytes: 0, cmds: [] }
        run.data.push(data)
        run.bytes += data.length
        run.cmds.push(c)
        continue
      }
      end()
      if (c.kind === 'create') {
        const spec = { name: c.set, type: c.type, family: c.family, revision: this.revisions.get(revKey(c.type, c.family))!, maxelem: c.maxelem, range: c.range }
        out.push({ msg: { type: S.messageType(S.CMD_CREATE), flags: C.NLM_F_CREATE, payload: S.createMsg(spec, this.protocol) }, cmds: [c], type: c.type })
      } else if (c.kind === 'flush') {
        out.push({ msg: { type: S.messageType(S.CMD_FLUSH), flags: 0, payload: S.flushMsg(c.set, this.protocol) }, cmds: [c] })
      }
    }
    end()
    return out
  }

  private commitItem(c: RestoreCommand): Item {
    if (c.kind === 'swap') return { msg: { type: S.messageType(S.CMD_SWAP), flags: 0, payload: S.swapMsg(c.set, c.set2, this.protocol) }, cmds: [c] }
    return { msg: { type: S.messageType(S.CMD_DESTROY), flags: 0, payload: S.destroyMsg(c.set, this.protocol) }, cmds: [c] }
  }
}

const revKey = (type: S.SetType, family: S.SetFamily): string => `${type} ${family ?? ''}`

/** Items in sendmsg-sized runs: at most WRITES_PER_BATCH messages and BATCH_BYTES each. */
function batches(items: readonly Item[]): Item[][] {
  const out: Item[][] = []
  let cur: Item[] = []
  let bytes = 0
  for (const it of items) {
    const n = NlSocket.frameBytes(it.msg)
    if (cur.length > 0 && (cur.length >= WRITES_PER_BATCH || bytes + n > BATCH_BYTES)) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(it)
    bytes += n
  }
  if (cur.length) out.push(cur)
  return out
}

function kernelError(op: string, e: NetlinkError, cmd: number, set: string, type?: string, line?: number, lineText?: string): NetlinkError {
  const d = S.describeError(e.errno, cmd, type)
  return new IpsetError(op, e.errno, set, d?.message ?? `Kernel error received: ${e.code}`, d?.code ?? e.code, line, lineText, e.echo)
}

/** The kernel's refusal of one item, blamed on the line it names (an ADT message's refused element) or the item's first. */
function restoreError(op: string, e: NetlinkError, it: Item, cmdOverride?: number): NetlinkError {
  if (e instanceof NetlinkTimeoutError || e.code === 'EBADF') return e
  const blamed = S.errorLine(e.echo)
  const c = it.cmds.find((x) => x.line === blamed) ?? it.cmds[0]!
  const cmd = cmdOverride ?? (it.msg.type & 0xff)
  return kernelError(op, e, cmd, c.set, it.type, c.line, c.text)
}
