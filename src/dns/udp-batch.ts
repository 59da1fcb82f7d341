// Batched UDP for the DNS server's hot path: recvmmsg(2)/sendmmsg(2) through
// koffi. Node's dgram reads one datagram per recvmsg, allocates a 64 KiB buffer
// for it, calls into JavaScript once per datagram and sends each reply with its
// own sendmsg: under load that per-datagram overhead, not the answer, is most
// of the server's time. So libuv still watches the socket and hands over the
// first datagram of a wakeup; the server then drains the rest of the queue in
// batches of BATCH, answers each (the answer cache makes that a copy), and
// sends the replies back in one sendmmsg per batch (the calls: src/sys/libc.ts).
//
// All memory the kernel reads or writes is one native allocation made here and
// never freed while the socket lives (the structs hold absolute addresses into
// it). The layouts are Linux LP64 (x64, arm64); anywhere else batching is off
// and dgram does everything, as it would without this file.
import { ipFromBytes, formatIp } from '../net/address.ts'
import { rawLibc } from '../sys/libc.ts'

/** datagrams per recvmmsg/sendmmsg */
export const BATCH = 64
/** a query longer than this is not one (RFC 9715 keeps even EDNS0 replies at 1232): dropped as oversized */
export const MAX_QUERY = 4096
/** replies longer than this (none in-zone: they are cut at 1232) go out through dgram instead */
export const MAX_REPLY = 2048

const MMSGHDR = 64 // struct mmsghdr: msghdr (56) + msg_len (4) + padding
const IOVEC = 16
const NAME = 32 // room for a sockaddr_in6 (28)
const MSG_DONTWAIT = 0x40
const MSG_TRUNC = 0x20
const EINTR = 4
const AF_INET = 2

export interface Peer { address: string; port: number }

/** What the drain does with one datagram: a reply to send at once, nothing, or a promise (forwarding) it must not hold the batch for. */
export type Answer = (msg: Buffer, peer: () => Peer) => Buffer | null | Promise<Buffer | null>

export interface DrainResult {
  /** datagrams read */
  received: number
  /** replies handed to the kernel */
  sent: number
  /** queries over MAX_QUERY, dropped */
  oversized: number
  /** replies the kernel refused (a full send buffer, as any UDP send may meet) */
  unsent: number
}

type Sys = ReturnType<typeof rawLibc>

/** libc's batched calls where the layouts below hold (Linux LP64), else null. */
function load(): Sys | null {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return null
  return rawLibc()
}

/** The peer a sockaddr_in/_in6 names. */
export function peerOf(name: Buffer): Peer {
  const family = name.readUInt16LE(0)
  const port = name.readUInt16BE(2)
  const bytes = family === AF_INET ? name.subarray(4, 8) : name.subarray(8, 24)
  return { address: formatIp(ipFromBytes(bytes)), port }
}

export class UdpBatch {
  private readonly recvHdr: number
  private readonly sendHdr: number
  private readonly sendIov: number
  private readonly names: number
  private readonly recvData: number
  private readonly sendData: number

  private constructor(private readonly fd: number, private readonly s: Sys, private readonly mem: { ptr: unknown; base: bigint; view: Buffer }) {
    // one arena: [recv mmsghdr][send mmsghdr][recv iovec][send iovec][names][recv data][send data]
    const b = mem.base
    const v = mem.view
    this.recvHdr = 0
    this.sendHdr = BATCH * MMSGHDR
    const recvIov = 2 * BATCH * MMSGHDR
    const sendIov = recvIov + BATCH * IOVEC
    this.names = sendIov + BATCH * IOVEC
    this.recvData = this.names + BATCH * NAME
    this.sendData = this.recvData + BATCH * MAX_QUERY
    for (let i = 0; i < BATCH; i++) {
      const rh = this.recvHdr + i * MMSGHDR
      v.writeBigUInt64LE(b + BigInt(this.names + i * NAME), rh)
      v.writeBigUInt64LE(b + BigInt(recvIov + i * IOVEC), rh + 16)
      v.writeBigUInt64LE(1n, rh + 24)
      v.writeBigUInt64LE(b + BigInt(this.recvData + i * MAX_QUERY), recvIov + i * IOVEC)
      v.writeBigUInt64LE(BigInt(MAX_QUERY), recvIov + i * IOVEC + 8)
      // a reply's slot i carries reply i of the batch: its own iovec and data, a name copied in
      const sh = this.sendHdr + i * MMSGHDR
      v.writeBigUInt64LE(b + BigInt(this.names + i * NAME), sh)
      v.writeBigUInt64LE(b + BigInt(sendIov + i * IOVEC), sh + 16)
      v.writeBigUInt64LE(1n, sh + 24)
      v.writeBigUInt64LE(b + BigInt(this.sendData + i * MAX_REPLY), sendIov + i * IOVEC)
    }
    this.sendIov = sendIov
  }

  /** Batching on the (non-blocking) UDP socket fd, or null where the platform has no batched calls (dgram alone then). */
  static open(fd: number): UdpBatch | null {
    const s = load()
    if (!s) return null
    const bytes = BATCH * (2 * MMSGHDR + 2 * IOVEC + NAME + MAX_QUERY + MAX_REPLY)
    return new UdpBatch(fd, s, s.alloc(bytes))
  }

  /**
   * Read and answer what is queued, at most `budget` datagrams (so one drain
   * cannot hold the event loop for long), then return. The message handed to
   * `answer` is a copy the caller may keep; the peer is decoded only if asked.
   */
  drain(answer: Answer, send: (reply: Buffer, peer: Peer) => void, budget = 4 * BATCH): DrainResult {
    const v = this.mem.view
    const r: DrainResult = { received: 0, sent: 0, oversized: 0, unsent: 0 }
    while (r.received < budget) {
      for (let i = 0; i < BATCH; i++) v.writeUInt32LE(NAME, this.recvHdr + i * MMSGHDR + 8)
      const n = this.s.recvmmsg(this.fd, this.mem.base + BigInt(this.recvHdr), BATCH, MSG_DONTWAIT)
      if (n <= 0) {
        if (n < 0 && this.s.errno() === EINTR) continue
        break // EAGAIN: the queue is empty (any other error is the socket's, and dgram's own read reports it)
      }
      r.received += n
      let out = 0
      for (let i = 0; i < n; i++) {
        const h = this.recvHdr + i * MMSGHDR
        const len = v.readUInt32LE(h + 56)
        const nameAt = this.names + i * NAME
        if ((v.readInt32LE(h + 48) & MSG_TRUNC) !== 0 || len > MAX_QUERY) { r.oversized++; continue }
        const at = this.recvData + i * MAX_QUERY
        const msg = Buffer.from(v.subarray(at, at + len))
        const name = v.subarray(nameAt, nameAt + NAME)
        let peer: Peer | undefined
        const peerNow = () => (peer ??= peerOf(name))
        const reply = answer(msg, peerNow)
        if (reply === null) continue
        if (reply instanceof Promise) {
          const p = peerNow()
          void reply.then((b) => { if (b) send(b, p) })
          continue
        }
        if (reply.length > MAX_REPLY) { send(reply, peerNow()); continue }
        // reply `out` goes to this datagram's sender: its name into send slot `out` (slot i's name is still unread)
        const sh = this.sendHdr + out * MMSGHDR
        const namelen = v.readUInt32LE(h + 8)
        if (out !== i) v.copy(v, this.names + out * NAME, nameAt, nameAt + NAME)
        v.writeUInt32LE(namelen, sh + 8)
        reply.copy(v, this.sendData + out * MAX_REPLY)
        v.writeBigUInt64LE(BigInt(reply.length), this.sendIov + out * IOVEC + 8)
        out++
      }
      let done = 0
      let unsent = 0
      while (done < out) {
        const k = this.s.sendmmsg(this.fd, this.mem.base + BigInt(this.sendHdr + done * MMSGHDR), out - done, MSG_DONTWAIT)
        if (k > 0) { done += k; continue }
        if (k < 0 && this.s.errno() === EINTR) continue
        // the first unsent one failed (EAGAIN on a full buffer, or that peer's error): skip it, as a lost datagram
        unsent++
        done++
      }
      r.sent += out - unsent
      r.unsent += unsent
      if (n < BATCH) break
    }
    return r
  }
}
