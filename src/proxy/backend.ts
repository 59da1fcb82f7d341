// What the proxy consumer asks of a backend (nftables, iptables, later IPVS and
// userspace). A backend renders intents with its pure renderer and applies the
// result in one transaction; it keeps what it last applied, so a delta costs
// only the changed intents. Everything it writes is its own (own table, own
// chains, own sets) and `cleanup` removes all of it.
import type { PlanDelta, ProxyPlan } from './plan/intent.ts'

export type ProxyMode = 'nftables' | 'iptables' | 'ipvs' | 'userspace'

export interface SyncStats {
  /** rules (or elements, for map-based layouts) the backend holds after the sync, by kind */
  counts: Record<string, number>
}

export interface ProxyBackend {
  readonly mode: ProxyMode
  /** how often asking flushed() is worth its cost; the consumer's default (5 s, or the sync period) when absent */
  readonly canaryIntervalMs?: number
  /** make the kernel match the plan exactly: at start, after a failure, after a detected flush, every --sync-period */
  syncAll(plan: ProxyPlan): Promise<SyncStats>
  /** apply only what changed; `plan` is the whole plan after the delta */
  syncDelta(plan: ProxyPlan, delta: PlanDelta): Promise<SyncStats>
  /** true when something removed or flushed what we wrote since the last sync: the consumer then runs syncAll */
  flushed(): Promise<boolean>
  /** remove everything this backend could ever have written, even from an earlier run */
  cleanup(): Promise<void>
  close(): void
}

/** A kernel refusal, with the kernel's (or the tool's) own message. */
export class ProxyApplyError extends Error {
  readonly code = 'PROXY_APPLY'
  constructor(readonly mode: ProxyMode, message: string, options?: { cause?: unknown }) {
    super(`${mode}: ${message}`, options)
    this.name = 'ProxyApplyError'
  }
}
