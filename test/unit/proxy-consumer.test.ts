// The proxy consumer's choice between a full sync and a delta, with a recording
// backend and a scripted planner: start, failure, a flush seen by the canary,
// node-wide changes and the sync period force a full sync; everything else
// applies the planner's delta, and an empty delta touches nothing.
import t from 'tap'
import pino from 'pino'
import { Registry } from 'prom-client'
import { ManualClock } from '../../src/agent/clock.ts'
import { createProxyMetrics } from '../../src/metrics/proxy-metrics.ts'
import { proxyConsumer, WATCHED_FULL_SYNC_MS, type Planner } from '../../src/proxy/consumer.ts'
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

interface SetupOptions {
  deltas?: PlanDelta[]
  globals?: () => ProxyGlobals
  syncPeriodMs?: number
  /** 'default': leave the option out */
  canaryIntervalMs?: number | 'default'
  /** ms the backend's apply takes on the manual clock */
  applyMs?: number
  wallNow?: () => number
  log?: pino.Logger
  /** the backend's own canary interval */
  backendCanaryMs?: number
  releaseMemory?: () => number | undefined
}

function setup(opts: SetupOptions = {}) {
  const clock = new ManualClock()
  const registry = new Registry()
  const backend = new RecordingBackend()
  if (opts.backendCanaryMs !== undefined) Object.assign(backend, { canaryIntervalMs: opts.backendCanaryMs })
  if (opts.applyMs) {
    const ms = opts.applyMs
    const all = backend.syncAll.bind(backend)
    const part = backend.syncDelta.bind(backend)
    backend.syncAll = async (p) => { await clock.advance(ms); return all(p) }
    backend.syncDelta = async (p, d) => { await clock.advance(ms); return part(p, d) }
  }
  const made: ProxyGlobals[] = []
  const followed: Array<PlanDelta | null> = []
  const consumer = proxyConsumer({
    backend,
    makePlanner: scriptedPlanner(opts.deltas ?? [], made),
    globals: opts.globals ?? (() => globals()),
    syncPeriodMs: opts.syncPeriodMs ?? 30_000,
    ...(opts.canaryIntervalMs === 'default' ? {} : { canaryIntervalMs: opts.canaryIntervalMs ?? 0 }),
    clock,
    wallNow: opts.wallNow ?? (() => 1_000_000),
    metrics: createProxyMetrics(registry),
    log: opts.log ?? log,
    ...(opts.releaseMemory ? { releaseMemory: opts.releaseMemory } : {}),
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

t.test('the drift watch: only where the backend names its canary interval, at least a second apart', async (t) => {
  t.equal(setup().consumer.drift, undefined, 'a backend without a cheap canary gets no watch (its canary waits for a sync)')
  t.equal(setup({ backendCanaryMs: 0 }).consumer.drift?.everyMs, 1000, 'a free canary is asked once a second')
  t.equal(setup({ backendCanaryMs: 2500 }).consumer.drift?.everyMs, 2500)
})

t.test('a flush the drift watch finds makes the next sync full, without asking the canary again', async (t) => {
  const s = setup({ backendCanaryMs: 0, deltas: [delta([]), delta([])] })
  const watch = s.consumer.drift!
  t.equal(await watch.check(), false, 'nothing applied yet: nothing to look for')
  t.same(s.backend.calls, [], 'and the backend is not asked')
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.equal(await watch.check(), false)
  s.backend.isFlushed = true
  t.equal(await watch.check(), true, 'gone')
  t.equal(await watch.check(), true, 'still due: not asked again')
  t.same(s.backend.calls, ['all:1', 'canary', 'canary'])
  s.backend.isFlushed = false
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls.slice(3), ['all:1'], 'the sync is full, with no change waiting and no canary of its own')
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls.slice(4), ['canary'], 'and the one after is not: the flag was used up')
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

t.test('where a drift watch guards the rules, the sync period asks the canary and the whole plan is rewritten hourly', async (t) => {
  const s = setup({ syncPeriodMs: 30_000, backendCanaryMs: 0, deltas: [delta([]), delta([])] })
  t.ok(s.consumer.drift, 'the backend names a canary interval: the consumer has a drift watch')
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.clock.advance(30_000)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary'], 'at the sync period: the canary, no full sync')
  await s.clock.advance(WATCHED_FULL_SYNC_MS - 30_001)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls.slice(2), ['canary'], 'one ms short of the hour: still not')
  await s.clock.advance(1)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls.slice(3), ['all:1'], 'an hour after the last full sync: full')
  const long = setup({ syncPeriodMs: 2 * WATCHED_FULL_SYNC_MS, backendCanaryMs: 0, deltas: [delta([])] })
  await long.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await long.clock.advance(WATCHED_FULL_SYNC_MS)
  await long.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  await long.clock.advance(WATCHED_FULL_SYNC_MS)
  await long.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(long.backend.calls, ['all:1', 'canary', 'all:1'], 'a sync period longer than the hour is kept')
})

t.test('freed memory is handed back after each full sync, never after a delta', async (t) => {
  const order: string[] = []
  const s = setup({ deltas: [delta([intent('d/b:tcp:4', 1)])], releaseMemory: () => { order.push('release'); return 12 } })
  const all = s.backend.syncAll.bind(s.backend)
  s.backend.syncAll = async (p) => { const r = await all(p); order.push('applied'); return r }
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.same(order, ['applied', 'release'], 'after the rules are in, so the collection never delays them')
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(order, ['applied', 'release'], 'a delta sync leaves little garbage: no collection')
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.same(order, ['applied', 'release', 'applied', 'release'])
  const broken = setup({ deltas: [delta([intent('d/b:tcp:4', 1)])], releaseMemory: () => { throw new Error('no libc') } })
  await broken.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await broken.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(broken.backend.calls, ['all:1', 'canary', 'delta:+1-0'], 'a failing release is not a failed sync: the next one is a delta')
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

/** A logger whose lines land in an array, as parsed JSON. */
function capturingLog() {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level: 'debug' }, { write: (l: string) => { lines.push(JSON.parse(l)) } })
  return { logger, lines }
}

/** one metric sample's value from the registry's text output */
async function sample(registry: Registry, name: string): Promise<number> {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await registry.metrics())
  if (!m) throw new Error(`no sample ${name}`)
  return Number(m[1])
}

t.test('without an explicit canary interval it is 5 s, or the sync period when that is shorter', async (t) => {
  const s = setup({ canaryIntervalMs: 'default', syncPeriodMs: 60_000, deltas: [delta([]), delta([]), delta([])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.clock.advance(4999)
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  await s.clock.advance(1)
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary'], 'first asked at 5 s, not before and not at the 60 s period')
  const short = setup({ canaryIntervalMs: 'default', syncPeriodMs: 3000, deltas: [delta([]), delta([])] })
  await short.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await short.clock.advance(2999)
  await short.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(short.backend.calls, ['all:1', 'canary'], 'a 3 s period bounds the interval: asked before 3 s')
  const given = setup({ canaryIntervalMs: 100, syncPeriodMs: 60_000, deltas: [delta([])] })
  await given.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await given.clock.advance(100)
  await given.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(given.backend.calls, ['all:1', 'canary'], 'an explicit interval is used as given')
})

t.test('durations, programming latency and timestamps are measured from the sync and the oldest change', async (t) => {
  let wall = 2_000_000
  const s = setup({ applyMs: 250, wallNow: () => wall, deltas: [delta([intent('d/b:tcp:4', 1)])] })
  await s.clock.advance(1000)
  await s.consumer.sync(snapshot, { services: [{ key: 'd/a', previous: undefined, current: undefined }], endpointSlices: [], nodes: [] }, { fullResync: true, pendingSince: 400 })
  const r = s.registry
  t.equal(await sample(r, 'kubeproxy_sync_full_proxy_rules_duration_seconds_sum'), 0.25)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_duration_seconds_sum'), 0.25)
  t.equal(await sample(r, 'kubeproxy_network_programming_duration_seconds_sum'), 0.85, 'from the change (t=400) to the end of the apply (t=1250)')
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds'), 1999.4, 'wall clock of the oldest change: now minus its 600 ms wait')
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds'), 2000)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_service_changes_total'), 1)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), 0)
  wall = 3_000_000
  await s.clock.advance(750)
  // a change that (by clock skew between loops) looks newer than the sync counts as 0, never negative
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 5000 })
  t.equal(await sample(r, 'kubeproxy_sync_partial_proxy_rules_duration_seconds_sum'), 0.25)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_duration_seconds_sum'), 0.5)
  t.equal(await sample(r, 'kubeproxy_network_programming_duration_seconds_sum'), 0.85)
  t.equal(await sample(r, 'kubeproxy_network_programming_duration_seconds_count'), 2)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds'), 3000)
  t.equal(await sample(r, 'kubeproxy_sync_proxy_rules_endpoint_changes_total'), 1)
})

t.test('a sync without changes does not move the queued timestamp or count programming', async (t) => {
  const s = setup({ wallNow: () => 5_000_000 })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.equal(await sample(s.registry, 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds'), 0)
  t.equal(await sample(s.registry, 'kubeproxy_network_programming_duration_seconds_count'), 0)
})

t.test('internal-policy Local Services without local endpoints are counted apart from external ones, and leave the count when removed', async (t) => {
  const iLocal = (key: string, local: number): PortIntent => ({ ...intent(key, local), internalPolicyLocal: true })
  const s = setup({ deltas: [
    delta([iLocal('d/x:tcp:4', 0), iLocal('d/y:tcp:4', 0), intent('d/z:tcp:4', 0)]),
    delta([iLocal('d/y:tcp:4', 1)], [iLocal('d/x:tcp:4', 0)]),
    delta([], [intent('d/a:tcp:4', 0, true)]),
  ] })
  const counts = async () => [
    await sample(s.registry, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"}'),
    await sample(s.registry, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external"}'),
  ]
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.same(await counts(), [0, 1], 'the full plan: one external-Local Service with none')
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(await counts(), [2, 1], 'two internal-Local without; a Cluster-policy one is not counted')
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(await counts(), [0, 1], 'one got an endpoint, one was removed')
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(await counts(), [0, 0], 'a removed external-Local Service leaves its count')
})

t.test('a full sync recounts from scratch: what an earlier delta counted does not linger', async (t) => {
  const iLocal = (key: string): PortIntent => ({ ...intent(key, 0), internalPolicyLocal: true })
  const s = setup({ syncPeriodMs: 1000, deltas: [delta([iLocal('d/gone:tcp:4')])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.equal(await sample(s.registry, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"}'), 1)
  await s.clock.advance(1000)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.equal(await sample(s.registry, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="internal"}'), 0, 'the full plan has no such Service')
})

t.test('the log says why a full sync ran, when the canary saw a flush, and which follow-up failed', async (t) => {
  const { logger, lines } = capturingLog()
  const s = setup({ log: logger, syncPeriodMs: 1000 })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  s.backend.isFlushed = true
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  s.backend.isFlushed = false
  await s.clock.advance(1000)
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  const full = lines.filter((l) => l.msg === 'proxy full sync')
  t.same(full.map((l) => [l.reason, l.intents]), [
    ['first sync or after a failure', 1], ['our rules were flushed or removed by someone else', 1], ['sync period', 1],
  ])
  t.same(lines.filter((l) => l.msg === 'proxy rules missing: full resync').map((l) => [l.level, l.mode]), [[40, 'nftables']])
  const failed = lines.filter((l) => l.msg === 'proxy follow-up failed')
  t.same(failed.map((l) => [l.level, l.job, l.err]), [[40, 'broken', 'boom'], [40, 'broken', 'boom'], [40, 'broken', 'boom']])
  t.notOk(failed.some((l) => l.job === 'record'), 'a job that worked is not logged as failed')
})

t.test('node-wide facts changing is its own reason, and a delta that removes only still applies', async (t) => {
  const { logger, lines } = capturingLog()
  let addrs = ['172.18.0.2']
  const s = setup({ log: logger, globals: () => globals(addrs), deltas: [delta([], [intent('d/a:tcp:4', 0)])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  addrs = ['172.18.0.9']
  await s.consumer.sync(snapshot, noChanges, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'delta:+0-1', 'all:1'])
  t.same(lines.filter((l) => l.msg === 'proxy full sync').map((l) => l.reason), ['first sync or after a failure', 'node-wide settings changed'])
})

t.test('a backend whose canary is cheap says so, and is asked at every sync', async (t) => {
  const s = setup({ canaryIntervalMs: 'default', backendCanaryMs: 0, deltas: [delta([]), delta([])] })
  await s.consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  await s.consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(s.backend.calls, ['all:1', 'canary', 'canary'])
})

t.test('the consumer is named proxy, for its metrics and logs', async (t) => {
  t.equal(setup().consumer.name, 'proxy')
})

t.test('a change that lands in a full sync still reaches follow-ups that ask for it, as a delta against the last plan', async (t) => {
  const clock = new ManualClock()
  const udp = (eps: number): PortIntent => ({ ...intent('d/dns:udp:4', 0), protocol: 'udp', clusterEndpoints: Array.from({ length: eps }, (_, i) => ({ ip: `10.244.2.${i + 2}`, port: 53, local: false })), hasAnyEndpoints: eps > 0 })
  let current = new Map([['d/dns:udp:4', udp(2)], ['d/a:tcp:4', intent('d/a:tcp:4', 1)]])
  const asked: Array<PlanDelta | null> = []
  const plain: Array<PlanDelta | null> = []
  const backend = new RecordingBackend()
  const consumer = proxyConsumer({
    backend,
    makePlanner: (g) => ({ full: () => ({ globals: g, intents: current }), update: () => ({ plan: { globals: g, intents: current }, delta: delta([]) }) }),
    globals: () => globals(),
    syncPeriodMs: 1000,
    canaryIntervalMs: 0,
    clock,
    wallNow: () => 1_000_000,
    metrics: createProxyMetrics(new Registry()),
    log,
    after: [
      { name: 'asks', fullSyncDelta: (i) => i.protocol === 'udp', applied: (_p, d) => { asked.push(d) } },
      { name: 'plain', applied: (_p, d) => { plain.push(d) } },
    ],
  })
  await consumer.sync(snapshot, noChanges, { fullResync: true, pendingSince: 0 })
  t.same(asked, [null], 'the first sync has nothing to compare with')
  current = new Map([['d/dns:udp:4', udp(1)], ['d/a:tcp:4', intent('d/a:tcp:4', 2)]])
  await clock.advance(1000)
  await consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 })
  t.same(backend.calls, ['all:2', 'all:2'], 'the sync period made it a full sync')
  t.equal(asked[1]?.upserted.length, 1, 'the UDP intent that lost an endpoint, and only it')
  t.equal(asked[1]?.upserted[0]?.key, 'd/dns:udp:4')
  t.equal(asked[1]?.previous.get('d/dns:udp:4')?.clusterEndpoints.length, 2, 'with what it was')
  t.same(plain, [null, null], 'a job that asks for nothing still sees null after a full sync')
  backend.failNext = true
  current = new Map([['d/a:tcp:4', intent('d/a:tcp:4', 2)]])
  await clock.advance(1000)
  await t.rejects(async () => consumer.sync(snapshot, oneSlice, { fullResync: false, pendingSince: 0 }))
  await consumer.sync(snapshot, oneSlice, { fullResync: true, pendingSince: 0 })
  t.same(asked[2]?.removed.map((i) => i.key), ['d/dns:udp:4'], 'after a failed sync: compared with the last plan that was applied')
})
