// One nfnetlink socket of our own for nf_tables transactions: a batch
// (NFNL_MSG_BATCH_BEGIN, messages, NFNL_MSG_BATCH_END) is one transaction only
// when it reaches the kernel in ONE sendmsg (nfnetlink_rcv_batch aborts a batch
// that ends without BATCH_END), so the send buffer must hold the whole batch.
// node-netlink's socket can only ask for SO_SNDBUF, which net.core.wmem_max caps
// (208 kB on a stock kernel: about 4,000 elements); here the buffers are set with
// SO_SNDBUFFORCE / SO_RCVBUFFORCE (CAP_NET_ADMIN, which the proxy has anyway).
//
// Synchronous, through libc: the kernel runs the whole batch inside our send
// (netlink_unicast to a kernel socket calls its input function in the sender's
// context), so when send returns every answer is already queued, and reading
// them with MSG_DONTWAIT never waits. libnftables blocks the same way.
// NETLINK_CAP_ACK keeps each error answer small (the request is not echoed);
// NETLINK_EXT_ACK adds the kernel's message to it.
import { inNetns } from '../netns/index.ts'
import { rawLibc } from '../sys/libc.ts'
import { getStr, parseAttrs } from './attrs.ts'
import { NETLINK_NETFILTER, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST } from './constants.ts'
import { NetlinkError, NetlinkInputError } from './errors.ts'

const AF_NETLINK = 16
const SOCK_RAW = 3
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SO_SNDBUFFORCE = 32
const SO_RCVBUFFORCE = 33
const SOL_NETLINK = 270
const NETLINK_CAP_ACK = 10
const NETLINK_EXT_ACK = 11
const MSG_DONTWAIT = 0x40
const EAGAIN = 11
const EINTR = 4
const NFNL_MSG_BATCH_BEGIN = 0x10
const NFNL_MSG_BATCH_END = 0x11
const NFNL_SUBSYS_NFTABLES = 10
/** NLM_F_ACK_TLVS on an error answer, and NLMSGERR_ATTR_MSG in it */
const NLM_F_ACK_TLVS = 0x200
const NLMSGERR_ATTR_MSG = 1

/** The largest transaction this socket sends (a cold sync of 10,000 Services x 10 endpoints is ~7 MB). */
export const MAX_TRANSACTION_BYTES = 64 << 20
/** Messages in one transaction: each one gets an answer, which the receive buffer must hold. */
export const MAX_TRANSACTION_MESSAGES = 8192
/** Room per answer in the receive buffer (an skb's truesize, with the kernel's message). */
const ANSWER_ROOM = 1024
const RECV_BYTES = 64 * 1024

export interface NfnlMessage {
  /** subsystem << 8 | message type */
  type: number
  /** besides NLM_F_REQUEST and NLM_F_ACK, which every message gets */
  flags: number
  /** nfgenmsg and attributes */
  payload: Buffer
}

/** One message the kernel refused, by its index in the transaction. */
export interface NfnlFailure {
  index: number
  error: NetlinkError
}

/** The kernel refused a transaction; nothing of it took effect. `code` is the first refusal's errno name. */
export class NfnlTransactionError extends NetlinkError {
  readonly failures: NfnlFailure[]
  constructor(op: string, failures: NfnlFailure[]) {
    const first = failures[0]!
    const more = failures.length > 1 ? ` and ${failures.length - 1} more` : ''
    super(op, first.error.errno, `message ${first.index}${more} refused: ${errnoText(first.error)}`, first.error.code)
    this.name = 'NfnlTransactionError'
    this.failures = failures
  }
}

/** the kernel's words for an errno (glibc's strerror: "File exists"), and its extended-ack text if any */
function errnoText(e: NetlinkError): string {
  const words = e.errno > 0 && e.errno < 4096 ? rawLibc().strerror(e.errno) : e.code
  const detail = /\((.*)\): [A-Z0-9]+$/.exec(e.message)?.[1]
  return detail ? `${words}, ${detail}` : words
}

function frame(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(16)
  hdr.writeUInt32LE(16 + payload.length, 0)
  hdr.writeUInt16LE(type, 4)
  hdr.writeUInt16LE(flags & 0xffff, 6)
  hdr.writeUInt32LE(seq, 8)
  return Buffer.concat([hdr, payload])
}

/** The batch as the kernel wants it: BEGIN (res_id = the subsystem, big-endian), messages, END. */
export function frameBatch(msgs: readonly NfnlMessage[], firstSeq: number): { buf: Buffer; seqs: number[] } {
  const begin = Buffer.from([0, 0, 0, NFNL_SUBSYS_NFTABLES])
  const seqs = msgs.map((_, i) => (firstSeq + 1 + i) >>> 0)
  const parts = [frame(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, firstSeq, begin)]
  msgs.forEach((m, i) => parts.push(frame(m.type, m.flags | NLM_F_REQUEST | NLM_F_ACK, seqs[i]!, m.payload)))
  parts.push(frame(NFNL_MSG_BATCH_END, NLM_F_REQUEST, (firstSeq + 1 + msgs.length) >>> 0, begin))
  return { buf: Buffer.concat(parts), seqs }
}

/** Answers (NLMSG_ERROR, errno 0 for an ack) by sequence number, from received datagrams. */
export function parseAnswers(datagram: Buffer, op: string, into: Map<number, NetlinkError | null>): void {
  let off = 0
  while (off + 16 <= datagram.length) {
    const len = datagram.readUInt32LE(off)
    if (len < 16 || off + len > datagram.length) break
    const type = datagram.readUInt16LE(off + 4)
    const flags = datagram.readUInt16LE(off + 6)
    const seq = datagram.readUInt32LE(off + 8)
    if (type === NLMSG_ERROR && len >= 20) {
      const errno = -datagram.readInt32LE(off + 16)
      let detail: string | undefined
      // after errno: the request's header (16 bytes, NETLINK_CAP_ACK), then the TLVs
      if (flags & NLM_F_ACK_TLVS && len > 36) detail = getStr(parseAttrs(datagram.subarray(off + 36, off + len)).get(NLMSGERR_ATTR_MSG))
      into.set(seq, errno === 0 ? null : new NetlinkError(op, errno, detail))
    }
    off += (len + 3) & ~3
  }
}

function setInt(fd: number, level: number, name: number, value: number): number {
  const v = Buffer.alloc(4)
  v.writeInt32LE(value)
  return rawLibc().setsockopt(fd, level, name, v, 4)
}

export class NfnlBatchSocket {
  #fd: number
  #seq = Math.floor(Math.random() * 0x3fffffff) + 1
  #sndbuf = 0
  readonly #recv = Buffer.alloc(RECV_BYTES)

  private constructor(fd: number) { this.#fd = fd }

  /** A socket in the namespace at `netns` (a /run/netns path), or the current one. */
  static open(netns?: string): NfnlBatchSocket {
    const libc = rawLibc()
    const fd = inNetns(netns, () => libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER))
    if (fd < 0) throw new NetlinkError('nfnetlink socket', libc.errno())
    // best effort: without them answers are only longer, or come without the kernel's text
    setInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1)
    setInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1)
    return new NfnlBatchSocket(fd)
  }

  #grow(level: number, name: number, bytes: number, what: string): void {
    if (setInt(this.#fd, level, name, bytes) !== 0) throw new NetlinkError(`nfnetlink ${what}`, rawLibc().errno(), `cannot size the socket buffer to ${bytes} bytes`)
  }

  /**
   * Send the messages as one transaction and read every answer. Resolves when
   * the kernel committed all of them; throws NfnlTransactionError with each
   * refused message's errno (the kernel then aborted the whole transaction).
   */
  transact(op: string, msgs: readonly NfnlMessage[]): void {
    if (this.#fd < 0) throw new NetlinkError(op, 9, 'socket closed')
    if (msgs.length === 0) return
    if (msgs.length > MAX_TRANSACTION_MESSAGES) throw new NetlinkInputError(op, 'batch', `${msgs.length} messages`, `more than ${MAX_TRANSACTION_MESSAGES} in one transaction`)
    const first = this.#seq
    const { buf, seqs } = frameBatch(msgs, first)
    this.#seq = ((first + msgs.length + 2) & 0x3fffffff) || 1
    if (buf.length > MAX_TRANSACTION_BYTES) throw new NetlinkInputError(op, 'batch', `${buf.length} bytes`, `larger than ${MAX_TRANSACTION_BYTES} bytes`)
    // the kernel doubles what is asked, and refuses a message larger than the buffer less 32 bytes
    const need = buf.length + 4096
    if (need > this.#sndbuf) {
      this.#grow(SOL_SOCKET, SO_SNDBUFFORCE, need, op)
      this.#grow(SOL_SOCKET, SO_RCVBUFFORCE, Math.max(256 * 1024, (msgs.length + 2) * ANSWER_ROOM), op)
      this.#sndbuf = need
    }
    const libc = rawLibc()
    let sent: number
    do sent = libc.send(this.#fd, buf, buf.length, 0)
    while (sent < 0 && libc.errno() === EINTR)
    if (sent < 0) throw new NetlinkError(op, libc.errno(), `send of ${buf.length} bytes`)
    const answers = new Map<number, NetlinkError | null>()
    for (;;) {
      const n = libc.recv(this.#fd, this.#recv, this.#recv.length, MSG_DONTWAIT)
      if (n < 0) {
        const errno = libc.errno()
        if (errno === EINTR) continue
        if (errno === EAGAIN) break
        throw new NetlinkError(op, errno, 'reading the answers')
      }
      parseAnswers(this.#recv.subarray(0, n), op, answers)
    }
    // A batch the kernel could not parse is refused as a whole, on BEGIN's sequence number.
    const whole = answers.get(first)
    if (whole) throw new NfnlTransactionError(op, [{ index: -1, error: whole }])
    const failures: NfnlFailure[] = []
    const unanswered: NfnlFailure[] = []
    seqs.forEach((s, index) => {
      const a = answers.get(s)
      if (a === undefined) unanswered.push({ index, error: new NetlinkError(op, 71, 'no answer from the kernel', 'EPROTO') })
      else if (a !== null) failures.push({ index, error: a })
    })
    // a refusal is the news; messages left unanswered beside it were aborted with it
    if (failures.length > 0) throw new NfnlTransactionError(op, failures)
    if (unanswered.length > 0) throw new NfnlTransactionError(op, unanswered)
  }

  close(): void {
    if (this.#fd < 0) return
    rawLibc().close(this.#fd)
    this.#fd = -1
  }
}
