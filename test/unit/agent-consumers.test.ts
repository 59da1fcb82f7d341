// The agent's consumer seam, through startAgent with a scripted API and real
// HTTP listeners on 127.0.0.1: a failing consumer gets its changes back at the
// retry, a slow one holds back nobody, and the per-consumer series read back
// from /metrics.
import t from 'tap'
import pino from 'pino'
import { startAgent, type RunningAgent } from '../../src/agent/agent.ts'
import type { SyncConsumer, SyncContext } from '../../src/agent/consumer.ts'
import type { ChangeSet, ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import type { ListMeta, Query, Transport, WatchEvent } from '../../src/cluster/transport.ts'

/** Lists answer at once (nodes from the script, the rest empty); watches stay open and the test pushes events. */
class ScriptedApi implements Transport {
  nodes: unknown[] = []
  private watchers = new Map<string, (ev: WatchEvent) => void>()
  async list(path: string, _q: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    if (path.endsWith('/nodes')) onItems(this.nodes)
    return { resourceVersion: '1', continue: null }
  }
  async watch(path: string, _q: Query, onEvent: (ev: WatchEvent) => void) {
    this.watchers.set(path, onEvent)
    return { stop: () => { this.watchers.delete(path) } }
  }
  emitNode(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void {
    const w = this.watchers.get('/api/v1/nodes')
    if (!w) throw new Error('no node watch open')
    w({ type, object })
  }
  get watching(): boolean {
    return this.watchers.has('/api/v1/nodes')
  }
}

const node = (name: string, cidr: string, rv: string) => ({ metadata: { name, resourceVersion: rv }, spec: { podCIDR: cidr } })

interface Call { changes: ChangeSet; fullResync: boolean; nodes: string[] }

function recording(name: string, behaviour: (call: Call, n: number) => unknown = () => {}): SyncConsumer & { calls: Call[] } {
  const calls: Call[] = []
  return {
    name,
    calls,
    sync(snapshot: ClusterSnapshot, changes: ChangeSet, ctx: SyncContext) {
      const call = { changes, fullResync: ctx.fullResync, nodes: [...snapshot.nodes.keys()].sort() } // snapshot maps promise no order
      calls.push(call)
      return behaviour(call, calls.length)
    },
  }
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function agentWith(api: ScriptedApi, consumers: SyncConsumer[], extra: { maxSyncIntervalMs?: number; healthTimeoutMs?: number } = {}): Promise<RunningAgent> {
  return startAgent({
    transport: api,
    nodeName: 'n1',
    healthz: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    log: pino({ level: 'silent' }),
    minSyncIntervalMs: 0,
    maxSyncIntervalMs: extra.maxSyncIntervalMs ?? 600_000,
    ...(extra.healthTimeoutMs ? { healthTimeoutMs: extra.healthTimeoutMs } : {}),
    consumers,
  })
}

const nodeKeys = (c: Call) => c.changes.nodes.map((x) => `${x.key}:${(x.previous as { podCIDRs?: string[] } | undefined)?.podCIDRs?.[0] ?? '-'}>${(x.current as { podCIDRs?: string[] } | undefined)?.podCIDRs?.[0] ?? '-'}`)

t.test('a failing consumer gets its changes again at the retry; the others get them once', async (t) => {
  const api = new ScriptedApi()
  api.nodes = [node('a', '10.244.1.0/24', '1')]
  const flaky = recording('flaky', (_c, n) => { if (n === 2 || n === 3) throw new Error('kernel said no') })
  const steady = recording('steady')
  const agent = await agentWith(api, [flaky, steady])
  t.teardown(() => agent.stop())
  await until('the first syncs', () => flaky.calls.length >= 1 && steady.calls.length >= 1 && api.watching)
  t.equal(flaky.calls[0]!.fullResync, true, 'the first sync is a full one')
  t.same(nodeKeys(flaky.calls[0]!), ['a:->10.244.1.0/24'])

  api.emitNode('MODIFIED', node('a', '10.244.2.0/24', '2'))
  await until('the retries', () => flaky.calls.length >= 4)
  t.same(nodeKeys(flaky.calls[1]!), ['a:10.244.1.0/24>10.244.2.0/24'], 'the change, first try (fails)')
  t.same(nodeKeys(flaky.calls[2]!), ['a:10.244.1.0/24>10.244.2.0/24'], 'the same change again (fails again)')
  t.same(nodeKeys(flaky.calls[3]!), ['a:10.244.1.0/24>10.244.2.0/24'], 'and again, until it is applied')
  t.same(flaky.calls.slice(1).map((c) => c.fullResync), [false, true, true], 'a retry after a failure is a full resync')
  await until('steady', () => steady.calls.length >= 2)
  t.same(nodeKeys(steady.calls[1]!), ['a:10.244.1.0/24>10.244.2.0/24'])
  t.equal(steady.calls.length, 2, 'the healthy consumer is not re-run by the other\'s failures')
})

t.test('changes that arrive while a failed batch waits are merged with it', async (t) => {
  const api = new ScriptedApi()
  api.nodes = [node('a', '10.244.1.0/24', '1')]
  let fail = false
  const flaky = recording('flaky', () => { if (fail) throw new Error('no') })
  const agent = await agentWith(api, [flaky])
  t.teardown(() => agent.stop())
  await until('the first sync', () => flaky.calls.length >= 1 && api.watching)
  fail = true
  api.emitNode('MODIFIED', node('a', '10.244.2.0/24', '2'))
  await until('a failure', () => flaky.calls.length >= 2)
  api.emitNode('ADDED', node('b', '10.244.9.0/24', '3'))
  api.emitNode('MODIFIED', node('a', '10.244.3.0/24', '4'))
  fail = false
  const done = await until('the retry that works', () => flaky.calls.find((c, i) => i >= 2 && c.changes.nodes.length === 2))
  t.same(nodeKeys(done).sort(), ['a:10.244.1.0/24>10.244.3.0/24', 'b:->10.244.9.0/24'], 'oldest previous, newest current')
  t.same(done.nodes, ['a', 'b'])
})

t.test('a slow consumer does not delay another', async (t) => {
  const api = new ScriptedApi()
  api.nodes = [node('a', '10.244.1.0/24', '1')]
  let release: () => void = () => {}
  const slow = recording('slow', (_c, n) => (n === 2 ? new Promise<void>((r) => { release = r }) : undefined))
  const quick = recording('quick')
  const agent = await agentWith(api, [slow, quick])
  t.teardown(() => { release(); return agent.stop() })
  await until('the first syncs', () => slow.calls.length >= 1 && quick.calls.length >= 1 && api.watching)
  api.emitNode('MODIFIED', node('a', '10.244.2.0/24', '2'))
  await until('slow to be inside its sync', () => slow.calls.length === 2)
  api.emitNode('ADDED', node('b', '10.244.9.0/24', '3'))
  await until('quick to see both changes', () => quick.calls.flatMap(nodeKeys).includes('b:->10.244.9.0/24'))
  t.equal(slow.calls.length, 2, 'slow is still in its second sync')
  release()
  const later = await until('slow to catch up', () => slow.calls[2])
  t.same(nodeKeys(later), ['b:->10.244.9.0/24'], 'slow gets what arrived during its sync, nothing lost')
})

async function metricsText(agent: RunningAgent): Promise<string> {
  const a = agent.metricsAddress
  return (await fetch(`http://${a.host}:${a.port}/metrics`)).text()
}

function sample(text: string, name: string, consumer: string): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line)
    if (m && m[1] === name && m[2]!.split(',').includes(`consumer="${consumer}"`) && !m[2]!.includes('le=')) return Number(m[3])
  }
  return undefined
}

t.test('per-consumer duration, errors and last success read back from /metrics', async (t) => {
  const api = new ScriptedApi()
  api.nodes = [node('a', '10.244.1.0/24', '1')]
  const bad = recording('bad', () => { throw new Error('always') })
  const good = recording('good')
  const before = Date.now() / 1000
  const agent = await agentWith(api, [bad, good])
  t.teardown(() => agent.stop())
  await until('two failures', () => bad.calls.length >= 2 && good.calls.length >= 1)
  const text = await until('metrics with both', async () => {
    const x = await metricsText(agent)
    return (sample(x, 'pontoon_consumer_sync_errors_total', 'bad') ?? 0) >= 2 ? x : undefined
  })
  t.equal(sample(text, 'pontoon_consumer_sync_errors_total', 'good'), undefined, 'no errors counted for the good one')
  t.ok((sample(text, 'pontoon_consumer_sync_duration_seconds_count', 'bad') ?? 0) >= 2, 'failed syncs are timed too')
  t.ok((sample(text, 'pontoon_consumer_sync_duration_seconds_count', 'good') ?? 0) >= 1)
  t.ok((sample(text, 'pontoon_consumer_last_success_timestamp_seconds', 'good') ?? 0) >= Math.floor(before), 'last success of the good one')
  t.equal(sample(text, 'pontoon_consumer_last_success_timestamp_seconds', 'bad'), undefined, 'the bad one never succeeded')
  t.ok((sample(text, 'pontoon_consumer_pending_changes', 'bad') ?? 0) >= 1, 'its change is still pending')
  t.match(text, /pontoon_consumer_sync_duration_seconds_bucket\{le="0\.001",consumer="good"\}/)
})

t.test('healthz turns 503 when a consumer\'s change waits past the timeout, and 200 once it syncs', async (t) => {
  const api = new ScriptedApi()
  api.nodes = [node('a', '10.244.1.0/24', '1')]
  let fail = false
  const flaky = recording('flaky', () => { if (fail) throw new Error('no') })
  const agent = await agentWith(api, [flaky], { maxSyncIntervalMs: 200, healthTimeoutMs: 300 })
  t.teardown(() => agent.stop())
  const url = (p: string) => `http://127.0.0.1:${agent.healthzAddress.port}${p}`
  const get = async (p: string) => { const r = await fetch(url(p)); return { status: r.status, body: await r.json() as Record<string, unknown> } }
  await until('healthy', async () => (await get('/healthz')).status === 200 && api.watching)
  fail = true
  api.emitNode('MODIFIED', node('a', '10.244.2.0/24', '2'))
  const sick = await until('503', async () => { const r = await get('/healthz'); return r.status === 503 ? r : undefined })
  t.match(sick.body, { nodeHealthy: false, synced: true, stale: ['flaky'], lastUpdated: String, currentTime: String })
  t.equal((await get('/livez')).status, 503, 'livez agrees')
  fail = false
  const well = await until('200 again', async () => { const r = await get('/healthz'); return r.status === 200 ? r : undefined })
  t.match(well.body, { nodeHealthy: true, stale: [] })
  t.equal((await get('/livez')).status, 200)
})
