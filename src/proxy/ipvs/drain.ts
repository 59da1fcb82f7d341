// The graceful-termination queue: real servers left at weight 0 by a sync,
// waiting for their connections to end before they are deleted. Bounded: past
// `max` pending entries a new one is refused and the caller deletes that real
// server at once (its connections then end as with kube-proxy before 1.12).
// Pure state plus one pure verdict; the backend reads the kernel and acts.
//
// conn_reuse_mode: with net.ipv4.vs.conn_reuse_mode=1 (the default) and
// conntrack on, kernels before 5.9 dropped the first SYN of a new connection
// that reused the source port of an old one to a weight-0 server, so the
// client retried after a full second (kubernetes#81775, the "1 s SYN delay"
// kube-proxy users met). 5.9 fixed it ("ipvs: allow connection reuse for
// unconfirmed conntrack"); kube-proxy sets conn_reuse_mode=0 only on older
// kernels, since 0 sends a reused port back to the weight-0 server it drains.
// The backend does the same (connReuseMode below).
import type { IpvsDest } from '../../netlink/index.ts'
import type { Drain } from './diff.ts'
import { serverKey } from './desired.ts'

export interface PendingDrain extends Drain {
  /** when it is deleted even with connections left (ms, the backend's clock) */
  deadline: number
}

export const drainKey = (d: Drain): string => `${serverKey(d.server.protocol, d.server.address, d.server.port)} ${d.address}|${d.port}`

export type DrainVerdict = 'delete' | 'wait' | 'forget'

/**
 * What to do with one pending real server, from what the kernel says of it now:
 * gone (someone deleted it) or given weight again (the plan wants it back):
 * forget; no connections left, or past its deadline: delete; else wait.
 */
export function drainVerdict(dest: Pick<IpvsDest, 'weight' | 'activeConns' | 'inactiveConns'> | undefined, now: number, deadline: number): DrainVerdict {
  if (dest === undefined || dest.weight > 0) return 'forget'
  if (dest.activeConns + dest.inactiveConns === 0 || now >= deadline) return 'delete'
  return 'wait'
}

export class DrainQueue {
  private readonly pending = new Map<string, PendingDrain>()
  constructor(readonly max: number, readonly graceMs: number) {}

  get size(): number { return this.pending.size }

  /** false when the queue is full: the caller deletes the real server now. An entry already pending keeps its deadline. */
  add(d: Drain, now: number): boolean {
    const k = drainKey(d)
    if (this.pending.has(k)) return true
    if (this.pending.size >= this.max) return false
    this.pending.set(k, { ...d, deadline: now + this.graceMs })
    return true
  }

  forget(d: Drain): void {
    // a cold sync forgets every real server it writes (~100,000 keys to build for nothing)
    if (this.pending.size > 0) this.pending.delete(drainKey(d))
  }

  entries(): PendingDrain[] {
    return [...this.pending.values()]
  }

  clear(): void {
    this.pending.clear()
  }
}

/**
 * The conn_reuse_mode to set, from the kernel release (os.release()), or null
 * to leave the kernel's default: 0 before 5.9 (see above), else untouched.
 */
export function connReuseMode(release: string): 0 | null {
  const m = /^(\d+)\.(\d+)/.exec(release)
  if (!m) return null
  const major = Number(m[1])
  const minor = Number(m[2])
  return major < 5 || (major === 5 && minor < 9) ? 0 : null
}
