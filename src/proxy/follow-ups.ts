// What follows a successful apply, besides the rules: the health-check servers
// of eTP Local Services, and the UDP/SCTP conntrack entries the change left
// stale. Both run after the kernel holds the new rules (a flow cleared before
// would be re-created through the old ones).
import type { Logger } from 'pino'
import { clearStaleFlows } from './conntrack/clear.ts'
import { isDatagram, staleFlows } from './conntrack/stale.ts'
import type { AfterApply } from './consumer.ts'
import { ServiceHealthServer } from './healthcheck/server.ts'
import type { PlanDelta, ProxyGlobals, ProxyPlan } from './plan/intent.ts'

/** Health checks listen where NodePorts do: the resolved addresses, or every address for "local". */
export function healthBindAddresses(g: ProxyGlobals): string[] {
  const out: string[] = []
  for (const f of g.families) {
    if (f.nodePortAddresses === 'local') out.push(f.family === 4 ? '0.0.0.0' : '::')
    else out.push(...f.nodePortAddresses)
  }
  return out
}

const touchesHealthChecks = (d: PlanDelta) =>
  d.upserted.some((i) => i.healthCheckNodePort !== null) ||
  d.removed.some((i) => i.healthCheckNodePort !== null) ||
  [...d.previous.values()].some((i) => i.healthCheckNodePort !== null)

export function healthCheckFollowUp(log: Logger): AfterApply & { close(): Promise<void> } {
  let server: ServiceHealthServer | null = null
  let binds = ''
  return {
    name: 'health-check',
    async applied(plan: ProxyPlan, delta: PlanDelta | null) {
      // Walking every intent is for full syncs and deltas that concern health checks only.
      if (delta !== null && !touchesHealthChecks(delta)) return
      const want = healthBindAddresses(plan.globals)
      if (want.join(',') !== binds) {
        await server?.close()
        server = new ServiceHealthServer({ bindAddresses: want })
        binds = want.join(',')
      }
      const { errors } = await server!.update(plan.intents.values())
      for (const [service, err] of errors) log.warn({ service, code: (err as { code?: string }).code }, err.message)
    },
    async close() {
      await server?.close()
    },
  }
}

export function conntrackFollowUp(log: Logger): AfterApply {
  return {
    name: 'conntrack',
    // A change that lands in a full sync leaves stale flows as much as one in a delta does.
    fullSyncDelta: isDatagram,
    async applied(_plan: ProxyPlan, delta: PlanDelta | null) {
      if (delta === null) return
      const filters = staleFlows(delta)
      if (filters.length === 0) return
      const r = await clearStaleFlows(filters)
      if (r.deleted > 0 || r.widened > 0 || r.skipped.length > 0) {
        log.info({ calls: r.calls, deleted: r.deleted, widened: r.widened, skipped: r.skipped.length }, 'stale UDP/SCTP conntrack entries cleared')
      }
      for (const e of r.errors) log.warn({ code: e.code }, e.message)
    },
  }
}
