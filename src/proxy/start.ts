// The proxy consumer as `pontoon agent` builds it from its flags: the backend of
// --proxy-mode, kube-proxy's metrics on the agent's registry, and node-wide
// facts resolved per sync (NodePort addresses follow the Node object and the
// node's own interface addresses).
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { ClusterSnapshot } from '../cluster/snapshot.ts'
import type { Clock } from '../agent/clock.ts'
import type { SyncConsumer } from '../agent/consumer.ts'
import { parseCidr, type Family } from '../net/address.ts'
import { Rtnl } from '../netlink/index.ts'
import { createProxyMetrics } from '../metrics/proxy-metrics.ts'
import type { ProxyBackend } from './backend.ts'
import type { IpvsFlags } from './flags.ts'
import { openBackend, type SupportedMode } from './backends.ts'
import { proxyConsumer, type AfterApply } from './consumer.ts'
import { conntrackFollowUp, healthCheckFollowUp } from './follow-ups.ts'
import { resolveNodePortAddresses, type NodePortAddressesFlag } from './nodeport-addresses.ts'
import type { FamilyGlobals, ProxyGlobals } from './plan/intent.ts'
import { ProxyPlanner } from './plan/planner.ts'
import { returnFreedHeap } from '../sys/heap.ts'
import { bridgeNetfilterProblem } from './bridge-netfilter.ts'

export interface ProxyFlags {
  mode: SupportedMode
  nodeName: string
  clusterCIDRs: string[]
  masqueradeAll: boolean
  nodePortAddresses: NodePortAddressesFlag
  syncPeriodMs: number
  iptablesBackend?: 'nft' | 'legacy' | 'auto'
  ipvs?: IpvsFlags
}

export interface StartedProxy {
  consumer: SyncConsumer
  backend: ProxyBackend
  close(): Promise<void>
}

export async function startProxy(flags: ProxyFlags, deps: { registry: Registry; clock: Clock; log: Logger; after?: AfterApply[] }): Promise<StartedProxy> {
  // userspace mode answers from the node itself: its replies are routed, never bridged
  const bridged = flags.mode === 'userspace' ? undefined : bridgeNetfilterProblem()
  if (bridged) deps.log.warn({ mode: flags.mode }, bridged)
  const backend = await openBackend(flags.mode, { ...(flags.iptablesBackend ? { iptablesBackend: flags.iptablesBackend } : {}), ...(flags.ipvs ? { ipvs: flags.ipvs } : {}) })
  const rtnl = flags.nodePortAddresses.kind === 'cidrs' ? await Rtnl.open() : null
  const notes = new Set<string>()
  const globals = async (snapshot: ClusterSnapshot): Promise<ProxyGlobals> => {
    const node = snapshot.nodes.get(flags.nodeName)
    const local = rtnl ? (await rtnl.addrs()).map((a) => a.cidr) : []
    const families: FamilyGlobals[] = ([4, 6] as Family[]).map((family) => {
      const resolved = resolveNodePortAddresses(flags.nodePortAddresses, family, node?.internalIPs ?? [], local)
      if (resolved.note && !notes.has(resolved.note)) {
        notes.add(resolved.note)
        deps.log.info({ node: flags.nodeName }, resolved.note)
      }
      return {
        family,
        clusterCIDRs: flags.clusterCIDRs.filter((c) => parseCidr(c).addr.family === family),
        nodePortAddresses: resolved.addresses,
      }
    })
    return { nodeName: flags.nodeName, masqueradeAll: flags.masqueradeAll, families }
  }
  const health = healthCheckFollowUp(deps.log)
  const consumer = proxyConsumer({
    backend,
    makePlanner: (g) => new ProxyPlanner(g),
    globals,
    syncPeriodMs: flags.syncPeriodMs,
    clock: deps.clock,
    metrics: createProxyMetrics(deps.registry),
    log: deps.log,
    after: [health, conntrackFollowUp(deps.log), ...(deps.after ?? [])],
    releaseMemory: returnFreedHeap,
  })
  return {
    consumer,
    backend,
    async close() {
      backend.close()
      rtnl?.close()
      await health.close()
    },
  }
}
