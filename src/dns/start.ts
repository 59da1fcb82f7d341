// `pontoon dns` wired up: the agent's cluster client (its reflectors, stores,
// snapshot index and observer) with DNS's own normalisers, the server once the
// cache has synced (an answer from a half-listed cache would be a wrong
// NXDOMAIN), and the metrics listener the agent uses.
import type { Server } from 'node:http'
import type { Logger } from 'pino'
import { clusterObserver } from '../agent/cluster-observer.ts'
import { listen, metricsServer } from '../agent/http-servers.ts'
import type { BindAddress } from '../agent/bind-address.ts'
import { Backoff } from '../cluster/backoff.ts'
import { ClusterClient } from '../cluster/client.ts'
import type { Transport } from '../cluster/transport.ts'
import { createAgentMetrics } from '../metrics/agent-metrics.ts'
import { createDnsMetrics } from '../metrics/dns-metrics.ts'
import type { DnsEndpointSlice, DnsService } from './model.ts'
import { normalizeDnsEndpointSlice, normalizeDnsService } from './normalize.ts'
import { startDnsServer } from './server.ts'
import type { Upstream } from './upstream.ts'

export interface DnsOptions {
  transport: Transport
  listen: BindAddress
  metrics: BindAddress
  domain: string
  ttl: number
  upstreams: Upstream[]
  log: Logger
}

export interface RunningDns {
  port: number
  metricsAddress: BindAddress
  stop(): Promise<void>
}

export async function startDns(o: DnsOptions): Promise<RunningDns> {
  const agentMetrics = createAgentMetrics()
  const metrics = createDnsMetrics(agentMetrics.registry)
  const client = new ClusterClient<DnsService, DnsEndpointSlice>({
    transport: o.transport,
    observer: clusterObserver(o.log, agentMetrics, () => {}),
    backoff: () => new Backoff({ initialMs: 250, maxMs: 30_000, jitter: 0.2 }),
    // names exist for Services whatever proxy owns them
    serverSideSelectors: false,
  }, { service: normalizeDnsService, endpointSlice: normalizeDnsEndpointSlice })
  // the snapshot is read per query; the trackers' pending changes are not needed
  client.onChange(() => { client.drainChanges() })
  let http: Server | undefined
  try {
    http = metricsServer(agentMetrics.registry, () => ({ services: client.services.size, endpointSlices: client.endpointSlices.size, synced: client.synced }))
    const metricsAddress = await listen(http, o.metrics)
    client.start()
    await client.whenSynced()
    const server = await startDnsServer({
      host: o.listen.host,
      port: o.listen.port,
      snapshot: () => client.snapshot(),
      zone: { domain: o.domain, ttl: o.ttl, serial: Math.floor(Date.now() / 1000) },
      upstreams: o.upstreams,
      metrics,
      log: o.log,
    })
    o.log.info({ listen: `${o.listen.host}:${server.port}`, metrics: metricsAddress, domain: o.domain, upstreams: o.upstreams }, 'dns serving')
    const h = http
    return {
      port: server.port,
      metricsAddress,
      async stop() {
        await server.close()
        await client.stop()
        await new Promise((r) => { h.close(r); h.closeAllConnections() })
      },
    }
  } catch (e) {
    await client.stop()
    http?.close()
    throw e
  }
}
