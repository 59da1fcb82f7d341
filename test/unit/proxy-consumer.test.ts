// The proxy consumer's choice between a full sync and a delta, with a recording
// backend and a scripted planner: start, failure, a flush seen by the canary,
// node-wide changes and the sync period force a full sync; everything else
// applies the planner's delta, and an empty delta touches nothing.
import t from 'tap'
import pino from 'pino'
import { Registry } from 'prom-client'
import { ManualClock } from '../../src/agent/clock.ts'
import { createProxyMetrics } from '../../src/metrics/proxy-metrics.ts'
import { proxyConsumer, type Planner } from '../../src/proxy/consumer.ts'
import type { ProxyBackend, SyncStats } from '../../src/proxy/backend.ts'
import type { PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import type { ChangeSet, ClusterSnapshot } from '../../src/cluster/snapshot.ts'

const log = pino({ level: 'silent' })
const snapshot: ClusterSnapshot = { services: new Map(), endpointSlicesByService: new Map(), nodes: new Map() }
const noChanges: ChangeSet = { services: [], endpointSlices: [], nodes: [] }
const oneSlice: ChangeSet = { services: [], endpointSlices: [{ key: 'd/web-1', previous: undefined, current: undefined }], nodes: [] }

function intent(key: string, local: number, etpLocal = false): PortIntent {
  return {
    key, service: key.split(':')[0]!, portName: '', family: 4, protocol: 'tcp', clusterIP: '10.96.0.10', port: 80, nodePort: null,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], affinityTimeoutSeconds: 0,
    internalPolicyLocal: false, externalPolicyLocal: etpLocal, healthCheckNodePort: null,
    clusterEndpoints: [], localEndpoints: Array.from({ length: local }, (_, i) => ({ ip: `10.244.1.${i + 2}`, port: 8080, local: true })),
    hasAnyEndpoints: local > 0,
  }
}

const globals = (nodePort: string[] = ['172.18.0.2']): ProxyGlobals => ({ nodeName: 'n1', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: nodePort }] })

class RecordingBackend implements ProxyBackend {
  readonly mode = 'nftables' as const
  calls: string[] = []
  isFlushed = false
  failNext = false
  async syncAll(plan: ProxyPlan): Promise<SyncStats> {
    this.calls.push(`all:${plan.intents.size}`)
    if (this.failNext) { this.failNext = false; throw new Error('kernel said no') }
    return { counts: { elements: plan.intents.size } }
  }
  async syncDelta(_plan: ProxyPlan, delta: PlanDelta): Promise<SyncStats> {
    this.calls.push(`delta:+${delta.upserted.length}-${delta.removed.length}`)
    if (this.failNext) { this.failNext = false; throw new Error('kernel said no') }
    return { counts: { elements: 7 } }
  }
  async flushed(): Promise<boolean> { this.calls.push('canary'); return this.isFlushed }
  async cleanup(): Promise<void> {}
  close(): void {}
}

function scriptedPlanner(deltas: PlanDelta[], made: ProxyGlobals[]) {
  return (g: ProxyGlobals): Planner => {
    made.push(g)
    const intents = new Map([['d/a:tcp:4', intent('d/a:tcp:4', 0, true)]])
    return {
      full: () => ({ globals: g, intents }),
      update: () => ({ plan: { globals: g, intents }, delta: deltas.shift() ?? { upserted: [], removed: [], previous: new Map() } }),
    }
  }
}

function setup(opts: { deltas?: PlanDelta[]; globals?: () => ProxyGlobals; syncPeriodMs?: number; canaryIntervalMs?: number } = {}) {
  const clock = new ManualClock()
  const registry = new Registry()
  const backend = new RecordingBackend()
  const made: ProxyGlobals[] = []
  const followed: Array<PlanDelta | null> = []
  const consumer = proxyConsumer({
    backend,
    makePlanner: scriptedPlanner(opts.deltas ?? [], made),
    globals: opts.globals ?? (() => globals()),
    syncPeriodMs: opts.syncPeriodMs ?? 30_000,
    canaryIntervalMs: opts.canaryIntervalMs ?? 0,
    clock,
    wallNow: () => 1_000_000,
    metrics: createProxyMetrics(registry),
    log,
    after: [{ name: 'record', applied: (_p, d) => { followed.push(d) } }, { name: 'broken', applied: () => { throw new Error('boom') } }],
  })
  return { clock, registry, backend, made, followed, consumer }
}

const delta = (up: PortIntent[], removed: PortIntent[] = []): PlanDelta => ({ upserted: up, removed, previous: new Map() })

t.test('the first sync is full, later ones apply deltas, an empty delta touches nothing', async (t) => {
  const s = setup({ deltas: [delta([intent('d/b:tcp:4', 1)]), delta([])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'delta:+1-0', 'canary'])
  t.equal(s.made.length, 1, 'one planner for the whole run')
  t.same(s.followed.map((d) => d === null ? 'full' : d.upserted.length), ['full', 1, 0], 'follow-up jobs see every sync; a failing one stops nothing')
  const text = await s.registry.metrics()
  t.match(text, /kubeproxy_sync_proxy_rules_endpoint_changes_total 2/)
  t.match(text, /kubeproxy_sync_proxy_rules_last_rule_count\{table="elements"\} 7/)
  t.match(text, /kubeproxy_sync_full_proxy_rules_duration_seconds_count 1/)
  t.match(text, /kubeproxy_sync_partial_proxy_rules_duration_seconds_count 2/)
  t.match(text, /kubeproxy_sync_proxy_rules_last_timestamp_seconds 1000/)
  t.match(text, /kubeproxy_network_programming_duration_seconds_count 2/, 'only syncs that carried changes count as programming')
})

t.test('a flush seen by the canary forces a full sync', async (t) => {
  const s = setup()
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  s.backend.isFlushed = true
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'all:1'])
})

t.test('the sync period forces a full sync', async (t) => {
  const s = setup({ syncPeriodMs: 1000 })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.clock.advance(999)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  await s.clock.advance(1)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'all:1'])
})

t.test('changed node-wide facts make a new planner and a full sync', async (t) => {
  let addrs = ['172.18.0.2']
  const s = setup({ globals: () => globals(addrs) })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  addrs = ['172.18.0.3']
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'all:1'])
  t.same(s.made.map((g) => g.families[0]!.nodePortAddresses), [['172.18.0.2'], ['172.18.0.3']])
})

t.test('a refused apply throws, counts, and the next sync is full with a fresh planner', async (t) => {
  const s = setup({ deltas: [delta([intent('d/b:tcp:4', 1)])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  s.backend.failNext = true
  await t.rejects(Promise.resolve(s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })), /kernel said no/)
  // the consumer loop sets fullResync after a failure; even without it, the planner is gone
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'delta:+1-0', 'all:1'])
  t.equal(s.made.length, 2)
  t.match(await s.registry.metrics(), /pontoon_proxy_sync_failures_total 1/)
})

t.test('no-local-endpoint counts follow full syncs and deltas', async (t) => {
  const s = setup({ deltas: [delta([intent('d/a:tcp:4', 2, true)])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.match(await s.registry.metrics(), /kubeproxy_sync_proxy_rules_no_local_endpoints_total\{traffic_policy="external"\} 1/)
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.match(await s.registry.metrics(), /kubeproxy_sync_proxy_rules_no_local_endpoints_total\{traffic_policy="external"\} 0/)
})

t.test('the canary is asked at most once per interval (default 5 s, or the sync period if shorter)', async (t) => {
  const s = setup({ deltas: [delta([intent('d/b:tcp:4', 1)]), delta([intent('d/c:tcp:4', 1)]), delta([intent('d/d:tcp:4', 1)])], canaryIntervalMs: 5000 })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  await s.clock.advance(4999)
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  await s.clock.advance(1)
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'delta:+1-0', 'delta:+1-0', 'canary', 'delta:+1-0'])
})
