// One netlink socket and its request/reply bookkeeping, for any netlink protocol
// (NETLINK_ROUTE today, generic netlink and nfnetlink later: the codec on top
// differs, the framing does not). This is the only file that touches node-netlink,
// and only its raw socket layer: the message codecs are ours, which keeps the CNI
// ADD path from loading node-netlink's generated struct tables (~15 ms on Node 24).
//
// Rules the kernel imposes and this file keeps:
// - one dump at a time per socket (a second one is refused with EBUSY while the
//   first is still being read), so dumps queue here, in order;
// - a dump the kernel marks NLM_F_DUMP_INTR saw the table change under it and may
//   have skipped or repeated entries: it is run again, a bounded number of times;
// - nothing waits forever: every request has a deadline and fails with a typed
//   NetlinkTimeoutError when the kernel never answers.
import { createRequire } from 'node:module'
import type { RawNetlinkSocket } from 'netlink/dist/raw.js'
import { NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST } from './constants.ts'
import { NetlinkError, NetlinkInputError, NetlinkTimeoutError } from './errors.ts'

/** The part of node-netlink's raw socket we use; tests hand in their own. */
export interface RawSocket {
  send(data: Buffer, opts: { port: number }, cb: (err?: { errno?: number; message: string } | null) => void): void
  on(event: 'message', fn: (buf: Buffer) => void): unknown
  on(event: 'error', fn: (e: { errno?: number; message: string }) => void): unknown
  on(event: 'truncatedMessage', fn: () => void): unknown
  ref(): unknown
  unref(): unknown
  close(): void
}

type RawCtor = typeof RawNetlinkSocket
let Raw: RawCtor | undefined
function openRaw(protocol: number): RawSocket {
  if (!Raw) Raw = (createRequire(import.meta.url)('netlink/dist/raw') as { RawNetlinkSocket: RawCtor }).RawNetlinkSocket
  return new Raw(protocol) as unknown as RawSocket
}

export const DEFAULT_TIMEOUT_MS = 5000
/** Attempts at a dump that the kernel keeps marking interrupted, before giving up. */
export const DUMP_ATTEMPTS = 8
/** Requests in flight or queued on one socket; beyond this a request is refused at once. */
export const MAX_PENDING = 4096
/** A batch goes out in one sendmsg; the kernel's default socket send buffer is about this. */
export const MAX_BATCH_BYTES = 208 * 1024

export interface NlSocketOptions {
  /** netlink protocol number (NETLINK_ROUTE by default, NETLINK_GENERIC for genl) */
  protocol?: number
  /** default deadline for each request */
  timeoutMs?: number
  /** for tests: the transport; by default a node-netlink raw socket of `protocol` */
  raw?: RawSocket
}

export interface RequestOptions {
  timeoutMs?: number
  /** default true: ask for an ack (a request without one settles only on a reply or the deadline) */
  ack?: boolean
}

export interface NlMessage { type: number; flags: number; payload: Buffer[] }

interface Pending {
  op: string
  dump: boolean
  ack: boolean
  parts: Buffer[]
  intr: boolean
  timer: NodeJS.Timeout
  resolve(r: { parts: Buffer[]; intr: boolean }): void
  reject(e: Error): void
}

/** The request an error message echoes after its errno (a copy: the receive buffer is reused), if any. */
function echoOf(data: Buffer): Buffer | undefined {
  return data.length >= 4 + 16 ? Buffer.from(data.subarray(4)) : undefined
}

export class NlSocket {
  readonly protocol: number
  private readonly raw: RawSocket
  private readonly timeoutMs: number
  private readonly pending = new Map<number, Pending>()
  private queued = 0
  private dumps: Promise<unknown> = Promise.resolve()
  private seq = Math.floor(Math.random() * 0x7fffffff)
  private closed = false
  /** Dump runs the kernel marked NLM_F_DUMP_INTR and this socket threw away. */
  interruptedDumps = 0
  /** quiet batches in flight: errors of their unacknowledged messages, by sequence number */
  private readonly quiet: Array<{ first: number; count: number; errors: Map<number, NetlinkError>; op: string }> = []

  /** Creates the socket in the calling thread's current network namespace, synchronously. */
  constructor(opts: NlSocketOptions = {}) {
    this.protocol = opts.protocol ?? NETLINK_ROUTE
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.raw = opts.raw ?? openRaw(this.protocol)
    this.raw.unref() // idle sockets must not keep the process alive
    this.raw.on('message', (buf) => this.receive(buf))
    this.raw.on('error', (e) => this.failAll(new NetlinkError('socket', e.errno ?? 0, e.message)))
    this.raw.on('truncatedMessage', () => this.failAll(new NetlinkError('socket', 105, 'reply truncated')))
  }

  /**
   * Send one request and collect the payloads of its replies. Non-dump requests
   * resolve on the kernel's ack; dumps on NLMSG_DONE, after the dumps queued before them.
   */
  request(op: string, type: number, flags: number, payload: Buffer[], opts: RequestOptions = {}): Promise<Buffer[]> {
    if ((flags & NLM_F_DUMP) !== NLM_F_DUMP) return this.once(op, { type, flags, payload }, opts).then((r) => r.parts)
    if (this.pending.size + this.queued >= MAX_PENDING) return Promise.reject(new NetlinkError(op, 11, `more than ${MAX_PENDING} requests queued on one socket`))
    this.queued++
    const run = this.dumps.then(() => { this.queued--; return this.dump(op, { type, flags, payload }, opts) })
    this.dumps = run.catch(() => undefined)
    return run
  }

  /**
   * Send several requests in one sendmsg (one system call, and for nfnetlink one
   * transaction). Each gets its own result, in order: its reply payloads, or the
   * error the kernel gave for that message alone.
   */
  async batch(op: string, msgs: NlMessage[], opts: RequestOptions = {}): Promise<Array<Buffer[] | NetlinkError>> {
    if (msgs.some((m) => (m.flags & NLM_F_DUMP) === NLM_F_DUMP)) throw new NetlinkInputError(op, 'batch', 'dump', 'a dump cannot be batched')
    const { buf, seqs } = this.frames(op, msgs, () => opts)
    const results = seqs.map((seq) => this.track(op, seq, false, opts))
    this.transmit(op, buf, seqs)
    const settled = await Promise.allSettled(results)
    return settled.map((s) => {
      if (s.status === 'fulfilled') return s.value.parts
      if (s.reason instanceof NetlinkError) return s.reason
      throw s.reason
    })
  }

  /**
   * Like batch, for many changes whose success needs no reply: only the last message
   * asks for an ack. The kernel handles a sendmsg's messages in order and answers any
   * failed one with an error even unasked, so once the last ack is in, every error of
   * the batch is too. Saves the kernel an ack per message (each echoes its request)
   * and this process a timer and a promise per message; a batch is bounded by the
   * send buffer alone, since errors are the only replies. Each result in order:
   * undefined (done) or that message's error.
   */
  async quietBatch(op: string, msgs: NlMessage[], opts: RequestOptions = {}): Promise<Array<NetlinkError | undefined>> {
    if (msgs.length === 0) return []
    if (msgs.some((m) => (m.flags & NLM_F_DUMP) === NLM_F_DUMP)) throw new NetlinkInputError(op, 'batch', 'dump', 'a dump cannot be batched')
    const quiet = { ...opts, ack: false }
    const { buf, seqs } = this.frames(op, msgs, (i) => (i === msgs.length - 1 ? opts : quiet))
    const entry = { first: seqs[0]!, count: seqs.length - 1, errors: new Map<number, NetlinkError>(), op }
    this.quiet.push(entry)
    const last = seqs[seqs.length - 1]!
    const done = this.track(op, last, false, opts)
    this.transmit(op, buf, [last])
    let lastError: NetlinkError | undefined
    try {
      await done
    } catch (e) {
      if (!(e instanceof NetlinkError) || e instanceof NetlinkTimeoutError || e.code === 'EBADF') {
        this.quiet.splice(this.quiet.indexOf(entry), 1)
        throw e
      }
      lastError = e
    }
    this.quiet.splice(this.quiet.indexOf(entry), 1)
    return seqs.map((seq, i) => (i === seqs.length - 1 ? lastError : entry.errors.get(seq)))
  }

  /**
   * Like quietBatch, for a protocol that may leave the batch's last message
   * unanswered (nfnetlink drops BATCH_END's ack when it aborts a transaction):
   * no message of the batch asks for an ack, and `fence`, a request the kernel
   * always answers, goes in a sendmsg of its own right after. The kernel handles
   * each sendmsg before it returns, so once the fence's ack is in, every error
   * of the batch is too. Each result in order: undefined (done) or that
   * message's error.
   */
  async fencedBatch(op: string, msgs: NlMessage[], fence: NlMessage, opts: RequestOptions = {}): Promise<Array<NetlinkError | undefined>> {
    if (msgs.length === 0) return []
    if (msgs.some((m) => (m.flags & NLM_F_DUMP) === NLM_F_DUMP)) throw new NetlinkInputError(op, 'batch', 'dump', 'a dump cannot be batched')
    const frames = msgs.map((m) => this.frame(m, { ...opts, ack: false }))
    const size = frames.reduce((n, f) => n + f.buf.length, 0)
    if (size > MAX_BATCH_BYTES) throw new NetlinkInputError(op, 'batch', `${size} bytes`, `larger than ${MAX_BATCH_BYTES} bytes`)
    const entry = { first: frames[0]!.seq, count: frames.length, errors: new Map<number, NetlinkError>(), op }
    this.quiet.push(entry)
    try {
      this.transmit(op, Buffer.concat(frames.map((f) => f.buf)), [])
      await this.once(op, fence, opts)
    } finally {
      this.quiet.splice(this.quiet.indexOf(entry), 1)
    }
    return frames.map((f) => entry.errors.get(f.seq))
  }

  /** frames needed for msgs, for callers that split a long list into quiet batches */
  static frameBytes(m: NlMessage): number {
    let n = 16
    for (const b of m.payload) n += b.length
    return n
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.failAll(new NetlinkError('close', 9, 'socket closed with requests in flight'))
    this.raw.close()
  }

  private async dump(op: string, msg: NlMessage, opts: RequestOptions): Promise<Buffer[]> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.once(op, msg, opts)
      if (!r.intr) return r.parts
      this.interruptedDumps++
      if (attempt >= DUMP_ATTEMPTS) throw new NetlinkError(op, 4, `dump interrupted by concurrent changes ${attempt} times in a row`, 'EDUMPINTR')
    }
  }

  private once(op: string, msg: NlMessage, opts: RequestOptions): Promise<{ parts: Buffer[]; intr: boolean }> {
    if (this.closed) return Promise.reject(new NetlinkError(op, 9, 'socket closed'))
    if (this.pending.size >= MAX_PENDING) return Promise.reject(new NetlinkError(op, 11, `more than ${MAX_PENDING} requests in flight on one socket`))
    const f = this.frame(msg, opts)
    const p = this.track(op, f.seq, (msg.flags & NLM_F_DUMP) === NLM_F_DUMP, opts)
    this.transmit(op, f.buf, [f.seq])
    return p
  }

  private frame(m: NlMessage, opts: RequestOptions): { seq: number; buf: Buffer } {
    const buf = Buffer.alloc(NlSocket.frameBytes(m))
    return { seq: this.frameInto(buf, 0, m, opts), buf }
  }

  /**
   * Many messages framed straight into one send buffer: a cold sync frames ~100,000,
   * and a header, a body and a frame allocated and copied for each was a good part of
   * its time in a slow guest.
   */
  private frames(op: string, msgs: readonly NlMessage[], optsOf: (i: number) => RequestOptions): { buf: Buffer; seqs: number[] } {
    let size = 0
    for (const m of msgs) size += NlSocket.frameBytes(m)
    if (size > MAX_BATCH_BYTES) throw new NetlinkInputError(op, 'batch', `${size} bytes`, `larger than ${MAX_BATCH_BYTES} bytes`)
    const buf = Buffer.alloc(size)
    const seqs = new Array<number>(msgs.length)
    let off = 0
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!
      seqs[i] = this.frameInto(buf, off, m, optsOf(i))
      off += NlSocket.frameBytes(m)
    }
    return { buf, seqs }
  }

  /** Header and payload of one message at `off`; its sequence number. */
  private frameInto(buf: Buffer, off: number, m: NlMessage, opts: RequestOptions): number {
    const seq = this.seq = (this.seq + 1) >>> 0 || 1
    buf.writeUInt32LE(NlSocket.frameBytes(m), off)
    buf.writeUInt16LE(m.type, off + 4)
    buf.writeUInt16LE((m.flags | NLM_F_REQUEST | (opts.ack === false ? 0 : NLM_F_ACK)) & 0xffff, off + 6)
    buf.writeUInt32LE(seq, off + 8)
    let p = off + 16
    for (const part of m.payload) p += part.copy(buf, p)
    return seq
  }

  private track(op: string, seq: number, dump: boolean, opts: RequestOptions): Promise<{ parts: Buffer[]; intr: boolean }> {
    const ms = opts.timeoutMs ?? this.timeoutMs
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new NetlinkError(op, 9, 'socket closed')); return }
      if (this.pending.size === 0) this.raw.ref()
      const timer = setTimeout(() => this.settle(seq, new NetlinkTimeoutError(op, ms)), ms)
      this.pending.set(seq, { op, dump, ack: opts.ack !== false, parts: [], intr: false, timer, resolve, reject })
    })
  }

  private transmit(op: string, buf: Buffer, seqs: number[]): void {
    this.raw.send(buf, { port: 0 }, (err) => {
      if (err) for (const s of seqs) this.settle(s, new NetlinkError(op, err.errno ?? 0, `send: ${err.message}`))
    })
  }

  private receive(buf: Buffer): void {
    let off = 0
    while (off + 16 <= buf.length) {
      const len = buf.readUInt32LE(off)
      if (len < 16 || off + len > buf.length) break
      const type = buf.readUInt16LE(off + 4)
      const flags = buf.readUInt16LE(off + 6)
      const seq = buf.readUInt32LE(off + 8)
      const data = buf.subarray(off + 16, off + len)
      off += (len + 3) & ~3
      const p = this.pending.get(seq)
      if (!p) {
        if (type === NLMSG_ERROR && data.length >= 4) this.quietError(seq, -data.readInt32LE(0), data)
        continue // a late ack after a dump's DONE, or a reply to a request we gave up on
      }
      if (flags & NLM_F_DUMP_INTR) p.intr = true
      if (type === NLMSG_ERROR) {
        const errno = data.length >= 4 ? -data.readInt32LE(0) : 0
        this.settle(seq, errno === 0 ? undefined : new NetlinkError(p.op, errno, undefined, undefined, echoOf(data)))
      } else if (type === NLMSG_DONE) {
        // A dump that failed part-way reports the error in DONE's payload.
        const errno = data.length >= 4 ? -data.readInt32LE(0) : 0
        this.settle(seq, errno > 0 ? new NetlinkError(p.op, errno) : undefined)
      } else {
        p.parts.push(Buffer.from(data)) // copy: the receive buffer is reused
        // A dump's deadline is for silence, not for its whole length: 10,000 IPVS
        // services take longer than 5 s to list in a TCG guest, and still arrive.
        if (p.dump) p.timer.refresh()
        // Without an ack to wait for, a single (non-multipart) reply is the whole answer.
        if (!p.ack && !p.dump && !(flags & NLM_F_MULTI)) this.settle(seq, undefined)
      }
    }
  }

  private quietError(seq: number, errno: number, data: Buffer): void {
    if (errno === 0) return
    for (const q of this.quiet) {
      if (((seq - q.first) >>> 0) < q.count) {
        q.errors.set(seq, new NetlinkError(q.op, errno, undefined, undefined, echoOf(data)))
        return
      }
    }
  }

  private settle(seq: number, err: Error | undefined): void {
    const p = this.pending.get(seq)
    if (!p) return
    this.pending.delete(seq)
    clearTimeout(p.timer)
    if (this.pending.size === 0 && !this.closed) this.raw.unref()
    if (err) p.reject(err)
    else p.resolve({ parts: p.parts, intr: p.intr })
  }

  private failAll(err: Error): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, err)
  }
}
