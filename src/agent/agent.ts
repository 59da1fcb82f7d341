// `pontoon agent`: follows the cluster and runs the sync loop. Today the loop
// only logs changes; the proxy and overlay plug their planners in as consumers.
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { Backoff } from '../cluster/backoff.ts'
import { ClusterClient } from '../cluster/client.ts'
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'
import type { Transport } from '../cluster/transport.ts'
import { createAgentMetrics, type AgentMetrics } from '../metrics/agent-metrics.ts'
import type { BindAddress } from './bind-address.ts'
import { BoundedFrequencyRunner } from './bounded-runner.ts'
import { logChanges } from './change-log.ts'
import { systemClock, type Clock } from './clock.ts'
import { clusterObserver } from './cluster-observer.ts'
import { healthzServer, listen, metricsServer } from './http-servers.ts'
import { cacheAsJSON } from './snapshot-json.ts'

/** Something that turns a snapshot into dataplane state (the proxy, the overlay). */
export type SyncConsumer = (snapshot: ClusterSnapshot, changes: ChangeSet) => unknown

export interface AgentOptions {
  transport: Transport
  nodeName: string
  healthz: BindAddress
  metrics: BindAddress
  log: Logger
  minSyncIntervalMs?: number
  maxSyncIntervalMs?: number
  clock?: Clock
  consumers?: SyncConsumer[]
}

export interface RunningAgent {
  client: ClusterClient
  metrics: AgentMetrics
  healthzAddress: BindAddress
  metricsAddress: BindAddress
  stop(): Promise<void>
}

export async function startAgent(opts: AgentOptions): Promise<RunningAgent> {
  const log = opts.log
  const metrics = createAgentMetrics()
  let lastUpdated: number | null = null
  const consumers = opts.consumers ?? []

  const runner: BoundedFrequencyRunner = new BoundedFrequencyRunner(sync, {
    minIntervalMs: opts.minSyncIntervalMs ?? 1000,
    maxIntervalMs: opts.maxSyncIntervalMs ?? 30_000,
    clock: opts.clock ?? systemClock,
    onError: (err) => {
      metrics.syncs.inc({ result: 'error' })
      log.error({ err: (err as Error).message }, 'sync failed; retrying')
      runner.retryAfter(1000)
    },
  })
  const client = new ClusterClient({
    transport: opts.transport,
    observer: clusterObserver(log, metrics, () => runner.run()),
    backoff: () => new Backoff({ initialMs: 250, maxMs: 30_000, jitter: 0.2 }),
  })
  client.onChange(() => runner.run())

  async function sync(): Promise<void> {
    // Nothing is programmed from a partial view of the cluster.
    if (!client.synced) return
    const changes = client.drainChanges()
    const snapshot = client.snapshot()
    logChanges(log, changes)
    for (const consume of consumers) await consume(snapshot, changes)
    metrics.cacheObjects.set({ resource: 'services' }, client.services.size)
    metrics.cacheObjects.set({ resource: 'endpointslices' }, client.endpointSlices.size)
    metrics.cacheObjects.set({ resource: 'nodes' }, client.nodes.size)
    metrics.syncs.inc({ result: 'ok' })
    lastUpdated = Date.now()
    metrics.lastSyncTimestamp.set(lastUpdated / 1000)
  }

  const servers: Server[] = []
  const started = async (server: Server, addr: BindAddress) => {
    const bound = await listen(server, addr)
    servers.push(server)
    return bound
  }
  let healthzAddress: BindAddress
  let metricsAddress: BindAddress
  try {
    healthzAddress = await started(healthzServer(() => ({ synced: client.synced, lastUpdated })), opts.healthz)
    metricsAddress = await started(metricsServer(metrics.registry, () => cacheAsJSON(client)), opts.metrics)
  } catch (err) {
    for (const s of servers) s.close()
    throw err
  }
  log.info({ node: opts.nodeName, healthz: healthzAddress, metrics: metricsAddress }, 'agent started')
  runner.start()
  client.start()

  return {
    client,
    metrics,
    healthzAddress,
    metricsAddress,
    async stop() {
      runner.stop()
      await client.stop()
      await Promise.all(servers.map((s) => new Promise((resolve) => {
        s.close(resolve)
        s.closeAllConnections()
      })))
    },
  }
}
