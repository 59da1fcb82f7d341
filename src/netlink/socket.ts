// One rtnetlink socket and its request/reply bookkeeping. This is the only file
// that touches node-netlink, and only its raw socket layer: the message codec is
// ours (messages.ts), which keeps the CNI ADD path from loading node-netlink's
// generated struct tables (~15 ms on Node 24).
import { createRequire } from 'node:module'
import type { RawNetlinkSocket } from 'netlink/dist/raw.js'
import { NETLINK_ROUTE, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from './constants.ts'
import { NetlinkError } from './errors.ts'

type RawCtor = typeof RawNetlinkSocket
let Raw: RawCtor | undefined
function loadRaw(): RawCtor {
  if (!Raw) Raw = (createRequire(import.meta.url)('netlink/dist/raw') as { RawNetlinkSocket: RawCtor }).RawNetlinkSocket
  return Raw
}

interface Pending { op: string; dump: boolean; parts: Buffer[]; resolve(parts: Buffer[]): void; reject(e: Error): void }

export class NlSocket {
  private readonly raw: RawNetlinkSocket
  private readonly pending = new Map<number, Pending>()
  private seq = Math.floor(Math.random() * 0x7fffffff)
  private closed = false

  /** Creates the socket in the calling thread's current network namespace, synchronously. */
  constructor() {
    const R = loadRaw()
    this.raw = new R(NETLINK_ROUTE)
    this.raw.unref() // idle sockets must not keep the process alive
    this.raw.on('message', (buf) => this.receive(buf))
    this.raw.on('error', (e) => this.failAll(new NetlinkError('socket', e.errno ?? 0, e.message)))
    this.raw.on('truncatedMessage', () => this.failAll(new NetlinkError('socket', 105, 'reply truncated')))
  }

  /**
   * Send one request with NLM_F_ACK and collect the payloads of its replies.
   * Non-dump requests resolve on the kernel's ack; dumps on NLMSG_DONE.
   */
  request(op: string, type: number, flags: number, payload: Buffer[]): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new NetlinkError(op, 9, 'socket closed'))
    const seq = this.seq = (this.seq + 1) >>> 0 || 1
    const body = Buffer.concat(payload)
    const hdr = Buffer.alloc(16)
    hdr.writeUInt32LE(16 + body.length, 0)
    hdr.writeUInt16LE(type, 4)
    hdr.writeUInt16LE(flags | NLM_F_REQUEST | NLM_F_ACK, 6)
    hdr.writeUInt32LE(seq, 8)
    return new Promise<Buffer[]>((resolve, reject) => {
      if (this.pending.size === 0) this.raw.ref()
      this.pending.set(seq, { op, dump: (flags & NLM_F_DUMP) === NLM_F_DUMP, parts: [], resolve, reject })
      this.raw.send(Buffer.concat([hdr, body]), { port: 0 }, (err) => {
        if (err) this.settle(seq, new NetlinkError(op, err.errno ?? 0, `send: ${err.message}`))
      })
    })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.failAll(new NetlinkError('close', 9, 'socket closed with requests in flight'))
    this.raw.close()
  }

  private receive(buf: Buffer): void {
    let off = 0
    while (off + 16 <= buf.length) {
      const len = buf.readUInt32LE(off)
      if (len < 16 || off + len > buf.length) break
      const type = buf.readUInt16LE(off + 4)
      const seq = buf.readUInt32LE(off + 8)
      const data = buf.subarray(off + 16, off + len)
      off += (len + 3) & ~3
      const p = this.pending.get(seq)
      if (!p) continue // a late ack after a dump's DONE, or a reply to a request we gave up on
      if (type === NLMSG_ERROR) {
        const errno = data.length >= 4 ? -data.readInt32LE(0) : 0
        this.settle(seq, errno === 0 ? undefined : new NetlinkError(p.op, errno))
      } else if (type === NLMSG_DONE) {
        // A dump that failed part-way reports the error in DONE's payload.
        const errno = data.length >= 4 ? -data.readInt32LE(0) : 0
        this.settle(seq, errno > 0 ? new NetlinkError(p.op, errno) : undefined)
      } else {
        p.parts.push(Buffer.from(data)) // copy: the receive buffer is reused
      }
    }
  }

  private settle(seq: number, err: Error | undefined): void {
    const p = this.pending.get(seq)
    if (!p) return
    this.pending.delete(seq)
    if (this.pending.size === 0 && !this.closed) this.raw.unref()
    if (err) p.reject(err)
    else p.resolve(p.parts)
  }

  private failAll(err: Error): void {
    for (const seq of [...this.pending.keys()]) this.settle(seq, err)
  }
}
