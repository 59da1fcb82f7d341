// Many writes in few system calls. The overlay's cold sync is thousands of
// neighbour, FDB and route writes; sent one request each, the per-request cost
// (a sendmsg, a promise, a receive) was most of its time, so writes are built
// and checked up front and go out as batches of one sendmsg each. The kernel
// handles a batch's messages one after another and answers each failed one
// (only the last is acked), so one failed write does not stop the rest, and
// each gets its own result.
import { NetlinkError } from './errors.ts'
import type { NlMessage, NlSocket } from './socket.ts'

/** One write, built and checked, not yet sent. */
export interface NlWrite {
  op: string
  msg: NlMessage
  /** for deletes: the kernel saying there was nothing to delete counts as done */
  absentOk: boolean
  /** further error codes that mean the write's end state already holds (an add finding EEXIST) */
  doneCodes?: ReadonlySet<string>
  /** what the write is about, for its error message, e.g. "10.244.1.0 lladdr 02:aa:..." */
  what: string
}

/**
 * Replies one batch may queue before they are read (errors: every write of a
 * batch may fail, as on an overlay resync finding its entries). Each costs the receive
 * buffer about 1 KiB of accounting (skb truesize) against a default of about
 * 208 KiB; a kernel with no room drops acks (ENOBUFS) and their requests would
 * hang until their deadline.
 */
export const WRITES_PER_BATCH = 128

const ABSENT = new Set(['ENOENT', 'ESRCH', 'ENODEV'])

/** Send every write; the result per write, in order: undefined when done, else its error. */
export async function writeAll(sock: NlSocket, writes: readonly NlWrite[]): Promise<Array<NetlinkError | undefined>> {
  const out: Array<NetlinkError | undefined> = []
  for (let i = 0; i < writes.length; i += WRITES_PER_BATCH) {
    const chunk = writes.slice(i, i + WRITES_PER_BATCH)
    // quiet: a write needs no reply of its own, so only the chunk's last is acked (a
    // failed one is answered all the same); an ack, a timer and a promise per write were
    // most of a 3,000-address sync's time in a slow guest
    const results = await sock.quietBatch(chunk[0]!.op, chunk.map((w) => w.msg))
    results.forEach((r, k) => {
      const w = chunk[k]!
      if (r === undefined || doneAnyway(w, r)) out.push(undefined)
      else out.push(new NetlinkError(w.op, r.errno, w.what, r.code))
    })
  }
  return out
}

/** Whether the kernel's refusal of this write means its end state already holds. */
export function doneAnyway(w: NlWrite, e: NetlinkError): boolean {
  return (w.absentOk && ABSENT.has(e.code)) || (w.doneCodes?.has(e.code) ?? false)
}

/** One write on its own: true when the kernel made the change, false when its end state already held. */
export async function writeOne(sock: NlSocket, w: NlWrite): Promise<boolean> {
  try {
    await sock.request(w.op, w.msg.type, w.msg.flags, w.msg.payload)
    return true
  } catch (e) {
    if (e instanceof NetlinkError && doneAnyway(w, e)) return false
    throw e
  }
}
