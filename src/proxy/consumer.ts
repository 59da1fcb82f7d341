// The service proxy as a sync consumer: plan the snapshot into intents, hand the
// backend the whole plan (start, failure, detected flush, a change of node-wide
// facts, every --sync-period or, where a drift watch guards the rules, every
// hour) or only the delta of the changed objects, then let the side jobs (health-check server, stale conntrack) follow the result.
import type { Logger } from 'pino'
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'
import { deepEqual } from '../cluster/equal.ts'
import type { Clock } from '../agent/clock.ts'
import type { DriftWatch, SyncConsumer, SyncContext } from '../agent/consumer.ts'
import type { ProxyMetrics } from '../metrics/proxy-metrics.ts'
import type { ProxyBackend, SyncStats } from './backend.ts'
import { deltaBetween } from './plan/delta.ts'
import type { PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from './plan/intent.ts'

/** What the consumer needs of the planner (src/proxy/plan/planner.ts). */
export interface Planner {
  full(snapshot: ClusterSnapshot): ProxyPlan
  update(snapshot: ClusterSnapshot, changes: ChangeSet): { plan: ProxyPlan; delta: PlanDelta }
}

/** Work that follows a successful apply; a failure is logged, and the job sees the next sync's plan as usual. */
export interface AfterApply {
  readonly name: string
  /**
   * delta: what this sync changed. After a full sync it is worked out against
   * the plan applied before, over the intents `fullSyncDelta` keeps, for a job
   * that names them; it is null for other jobs, and after the first sync.
   */
  applied(plan: ProxyPlan, delta: PlanDelta | null): Promise<void> | void
  /** the intents this job needs compared when a change lands in a full sync (a periodic one, the canary's, or after a failure) */
  fullSyncDelta?: (i: PortIntent) => boolean
}

export interface ProxyConsumerOptions {
  backend: ProxyBackend
  makePlanner(globals: ProxyGlobals): Planner
  /** node-wide facts from the snapshot (NodePort addresses follow the Node object) */
  globals(snapshot: ClusterSnapshot): ProxyGlobals | Promise<ProxyGlobals>
  syncPeriodMs: number
  /**
   * the canary is asked at most this often (default: the backend's own figure,
   * else 5 s or the sync period if shorter): where reading our rules back costs
   * a dump of them (iptables-save), it would cost far more than the
   * one-element delta it guards
   */
  canaryIntervalMs?: number
  clock: Clock
  wallNow?: () => number
  metrics: ProxyMetrics
  log: Logger
  after?: AfterApply[]
  /**
   * called after each full sync, the largest burst of garbage the agent makes
   * (src/sys/heap.ts gives it back to the kernel); returns the ms it took, if it ran
   */
  releaseMemory?: () => number | undefined
}

const FLUSHED = 'our rules were flushed or removed by someone else'
/** the drift watch's pace where the backend's canary costs nothing to ask (nftables: one filtered rule dump) */
const MIN_DRIFT_CHECK_MS = 1000
/**
 * How often the whole plan is rewritten where a drift watch guards the rules
 * (kube-proxy's FullSyncPeriod). The watch brings a deleted or flushed table
 * back within a second, so the sync period need not re-render 10,000 Services
 * (~2.5 s of CPU and a heap peak) to find what the watch already finds; this
 * catches what it cannot see, such as one element deleted by hand.
 */
export const WATCHED_FULL_SYNC_MS = 3_600_000

export function proxyConsumer(o: ProxyConsumerOptions): SyncConsumer {
  const wallNow = o.wallNow ?? Date.now
  let planner: Planner | null = null
  let globals: ProxyGlobals | null = null
  /** the plan last applied in full or in part: what a full sync's follow-ups are compared against */
  let lastPlan: ProxyPlan | null = null
  let lastFull = Number.NEGATIVE_INFINITY
  let lastCanary = Number.NEGATIVE_INFINITY
  const canaryIntervalMs = o.canaryIntervalMs ?? o.backend.canaryIntervalMs ?? Math.min(5000, o.syncPeriodMs)
  const noLocal = { internal: new Set<string>(), external: new Set<string>() }
  /** the drift watch saw our rules gone: the next sync is full */
  let flushSeen = false
  const flushFound = () => {
    o.log.warn({ mode: o.backend.mode }, 'proxy rules missing: full resync')
    return FLUSHED
  }

  const countNoLocal = (removed: Iterable<PortIntent>, upserted: Iterable<PortIntent>) => {
    for (const i of removed) { noLocal.internal.delete(i.key); noLocal.external.delete(i.key) }
    for (const i of upserted) {
      const none = i.localEndpoints.length === 0
      if (i.internalPolicyLocal && none) noLocal.internal.add(i.key); else noLocal.internal.delete(i.key)
      if (i.externalPolicyLocal && none) noLocal.external.add(i.key); else noLocal.external.delete(i.key)
    }
    o.metrics.noLocalEndpoints.set({ traffic_policy: 'internal' }, noLocal.internal.size)
    o.metrics.noLocalEndpoints.set({ traffic_policy: 'external' }, noLocal.external.size)
  }

  const record = (stats: SyncStats) => {
    for (const [table, n] of Object.entries(stats.counts)) o.metrics.ruleCounts.set({ table }, n)
  }

  // Between syncs only where the canary is cheap (the backend names its
  // interval): elsewhere it reads back every rule, and waits for the next sync.
  const drift: DriftWatch | undefined = o.backend.canaryIntervalMs === undefined ? undefined : {
    everyMs: Math.max(MIN_DRIFT_CHECK_MS, o.backend.canaryIntervalMs),
    async check() {
      if (planner === null || flushSeen) return flushSeen // nothing applied yet, or a full sync is already due
      if (!(await o.backend.flushed())) return false
      flushFound()
      return (flushSeen = true)
    },
  }

  const fullSyncPeriodMs = drift ? Math.max(o.syncPeriodMs, WATCHED_FULL_SYNC_MS) : o.syncPeriodMs

  return {
    name: 'proxy',
    ...(drift ? { drift } : {}),
    async sync(snapshot: ClusterSnapshot, changes: ChangeSet, ctx: SyncContext) {
      const start = o.clock.now()
      const changed = changes.services.length + changes.endpointSlices.length
      o.metrics.serviceChanges.inc(changes.services.length)
      o.metrics.endpointChanges.inc(changes.endpointSlices.length)
      if (changed > 0) o.metrics.lastQueued.set((wallNow() - (start - ctx.pendingSince)) / 1000)
      const now = o.clock.now()
      const nextGlobals = await o.globals(snapshot)
      let reason = ctx.fullResync ? 'first sync or after a failure'
        : !planner || !deepEqual(globals, nextGlobals) ? 'node-wide settings changed'
        : now - lastFull >= fullSyncPeriodMs ? 'sync period'
        : null
      if (reason === null && flushSeen) reason = FLUSHED
      const askCanary = reason === null && now - lastCanary >= canaryIntervalMs
      if (askCanary) lastCanary = now
      if (askCanary && await o.backend.flushed()) reason = flushFound()
      flushSeen = false
      let plan: ProxyPlan
      let delta: PlanDelta | null = null
      const before = lastPlan
      try {
        if (reason !== null) {
          planner = o.makePlanner(nextGlobals)
          globals = nextGlobals
          plan = planner.full(snapshot)
          record(await o.backend.syncAll(plan))
          lastFull = now
          noLocal.internal.clear(); noLocal.external.clear()
          countNoLocal([], plan.intents.values())
          o.metrics.fullSyncDuration.observe((o.clock.now() - start) / 1000)
          o.log.debug({ reason, intents: plan.intents.size }, 'proxy full sync')
          // the rules are in: a failure here is worth a line, never a resync
          try {
            const gcMs = o.releaseMemory?.()
            if (gcMs !== undefined) o.log.debug({ ms: Math.round(gcMs) }, 'freed heap returned after the full sync')
          } catch (e) {
            o.log.warn({ err: (e as Error).message }, 'returning freed heap failed')
          }
        } else {
          const planned = planner!.update(snapshot, changes)
          plan = planned.plan
          delta = planned.delta
          if (delta.upserted.length + delta.removed.length > 0) {
            record(await o.backend.syncDelta(plan, delta))
            countNoLocal(delta.removed, delta.upserted)
          }
          o.metrics.partialSyncDuration.observe((o.clock.now() - start) / 1000)
        }
      } catch (err) {
        // The loop gives the changes back and asks for a full resync.
        planner = null
        o.metrics.syncFailures.inc()
        throw err
      }
      lastPlan = plan
      const end = o.clock.now()
      o.metrics.syncDuration.observe((end - start) / 1000)
      o.metrics.lastSync.set(wallNow() / 1000)
      if (changed > 0) o.metrics.networkProgramming.observe(Math.max(0, end - ctx.pendingSince) / 1000)
      for (const job of o.after ?? []) {
        try {
          const d = delta ?? (reason !== null && before && job.fullSyncDelta ? deltaBetween(before.intents, plan.intents, job.fullSyncDelta) : null)
          await job.applied(plan, d)
        } catch (err) {
          o.log.warn({ job: job.name, err: (err as Error).message }, 'proxy follow-up failed')
        }
      }
    },
  }
}
