// `pontoon agent`: follows the cluster and runs the sync loop. Every consumer
// (the conflist writer today; the proxy and overlay next) syncs on its own loop
// behind the consumer hub; a built-in "cache" consumer keeps the cache gauges.
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { Backoff } from '../cluster/backoff.ts'
import { ClusterClient } from '../cluster/client.ts'
import type { Transport } from '../cluster/transport.ts'
import { createAgentMetrics, type AgentMetrics } from '../metrics/agent-metrics.ts'
import type { BindAddress } from './bind-address.ts'
import { logChanges } from './change-log.ts'
import { systemClock, type Clock } from './clock.ts'
import { cacheGauges } from './cache-gauges.ts'
import { clusterObserver } from './cluster-observer.ts'
import { ConsumerHub } from './consumer-hub.ts'
import type { SyncConsumer } from './consumer.ts'
import { healthzServer, listen, metricsServer } from './http-servers.ts'
import { cacheAsJSON } from './snapshot-json.ts'

export type { SyncConsumer } from './consumer.ts'

export interface AgentOptions {
  transport: Transport
  nodeName: string
  healthz: BindAddress
  metrics: BindAddress
  log: Logger
  minSyncIntervalMs?: number
  maxSyncIntervalMs?: number
  /** runs allowed back to back after a quiet spell (kube-proxy's burstSyncs, 2) */
  burstSyncs?: number
  /** a change waiting longer than this makes /healthz 503; kube-proxy's 2 x sync period by default */
  healthTimeoutMs?: number
  clock?: Clock
  consumers?: SyncConsumer[]
  /** the registry's owner, when a consumer built before the agent registers its own metrics on it */
  agentMetrics?: AgentMetrics
}

export interface RunningAgent {
  client: ClusterClient
  metrics: AgentMetrics
  hub: ConsumerHub
  healthzAddress: BindAddress
  metricsAddress: BindAddress
  stop(): Promise<void>
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log
  const metrics = opts.agentMetrics ?? createAgentMetrics()
  const clock = opts.clock ?? systemClock
  const maxIntervalMs = opts.maxSyncIntervalMs ?? 30_000
  const healthTimeoutMs = opts.healthTimeoutMs ?? 2 * maxIntervalMs
  // The observer's wake-up runs only after start(), when the hub exists.
  const cluster = new ClusterClient({
    transport: opts.transport,
    observer: clusterObserver(log, metrics, () => hub.wakeAll()),
    backoff: () => new Backoff({ initialMs: 250, maxMs: 30_000, jitter: 0.2 }),
  })
  const hub = new ConsumerHub({
    source: cluster,
    consumers: [cacheGauges(metrics), ...(opts.consumers ?? [])],
    clock,
    metrics,
    log,
    runner: { minIntervalMs: opts.minSyncIntervalMs ?? 1000, maxIntervalMs, burst: opts.burstSyncs ?? 2 },
    onChanges: (changes) => logChanges(log, changes),
  })
  cluster.onChange(() => hub.pull())

  const servers: Server[] = []
  const started = async (server: Server, addr: BindAddress) => {
    const bound = await listen(server, addr)
    servers.push(server)
    return bound
  }
  let healthzAddress: BindAddress
  let metricsAddress: BindAddress
  try {
    healthzAddress = await started(healthzServer(() => ({ synced: cluster.synced, consumers: hub.health(), timeoutMs: healthTimeoutMs }), () => clock.now()), opts.healthz)
    metricsAddress = await started(metricsServer(metrics.registry, () => cacheAsJSON(cluster)), opts.metrics)
  } catch (err) {
    for (const s of servers) s.close()
    throw err
  }
  log.info({ node: opts.nodeName, healthz: healthzAddress, metrics: metricsAddress }, 'agent started')
  hub.start()
  cluster.start()

  return {
    client: cluster,
    metrics,
    hub,
    healthzAddress,
    metricsAddress,
    async stop() {
      hub.stop()
      await cluster.stop()
      await Promise.all(servers.map((s) => new Promise((resolve) => {
        s.close(resolve)
        s.closeAllConnections()
      })))
    },
  }
}
