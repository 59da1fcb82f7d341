// The snapshot is kept change by change: one taken earlier never changes under
// its holder, a later one shares everything a change did not touch, and after any
// run of events it equals a snapshot built from scratch from the caches.
import t, { type Test } from 'tap'
import { ClusterClient, type ClusterObserver } from '../../src/cluster/client.ts'
import { serviceKeyOf, type EndpointSlice } from '../../src/cluster/model.ts'
import type { ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import type { ListMeta, Query, Transport, WatchEvent } from '../../src/cluster/transport.ts'

type Obj = Record<string, unknown>

const svc = (name: string, port = 80, ns = 'd'): Obj => ({ metadata: { namespace: ns, name }, spec: { clusterIP: '10.96.0.9', ports: [{ port }] } })
const slice = (name: string, service: string, ip = '10.244.0.2', ns = 'd'): Obj => ({
  metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4', endpoints: [{ addresses: [ip] }], ports: [{ port: 8080 }],
})
const node = (name: string, cidr: string): Obj => ({ metadata: { name }, spec: { podCIDR: cidr } })

const PATHS = { services: '/api/v1/services', slices: '/apis/discovery.k8s.io/v1/endpointslices', nodes: '/api/v1/nodes' }

/** Lists answer once from `initial`, then relists from `relist` if set; watch events are pushed by the test. */
class ScriptedApi implements Transport {
  initial = new Map<string, Obj[]>()
  emit = new Map<string, (ev: WatchEvent) => void>()
  end = new Map<string, (err: unknown) => void>()
  relist = new Map<string, Obj[]>()

  async list(path: string, _q: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    const items = this.relist.get(path) ?? this.initial.get(path) ?? []
    this.relist.delete(path)
    onItems(items.map((o) => structuredClone(o)))
    return { resourceVersion: '1', continue: null }
  }

  async watch(path: string, _q: Query, onEvent: (ev: WatchEvent) => void, onDone: (err: unknown) => void) {
    this.emit.set(path, onEvent)
    this.end.set(path, onDone)
    return { stop: () => {} }
  }

  send(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj): void {
    const emit = this.emit.get(path)
    if (!emit) throw new Error(`no watch on ${path}`)
    emit({ type, object: structuredClone(object) })
  }
}

const quiet: ClusterObserver = { listed() {}, watchEvent() {}, failed() {}, malformed() {}, stored() {}, synced() {} }

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 1))
  }
}

async function started(t: Test, api: ScriptedApi): Promise<ClusterClient> {
  const client = new ClusterClient({ transport: api, observer: quiet, sleep: async () => {} })
  client.start()
  t.teardown(() => client.stop())
  await client.whenSynced()
  await until('three watches', () => api.emit.size === 3)
  return client
}

/** A snapshot as plain sorted data, so that two can be compared and one kept as it was. */
function plain(s: ClusterSnapshot) {
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return structuredClone({ services: sorted(s.services), slices: sorted(s.endpointSlicesByService), nodes: sorted(s.nodes) })
}

/** What the snapshot must hold, computed from the caches from scratch (the pre-index way). */
function fromScratch(c: ClusterClient) {
  const grouped = new Map<string, EndpointSlice[]>()
  for (const s of c.endpointSlices.values()) grouped.set(serviceKeyOf(s), [...(grouped.get(serviceKeyOf(s)) ?? []), s])
  for (const l of grouped.values()) l.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return plain({ services: new Map(c.services.entries()), endpointSlicesByService: grouped, nodes: new Map(c.nodes.entries()) })
}

t.test('a snapshot taken earlier does not change after later events or a relist', async (t) => {
  const api = new ScriptedApi()
  api.initial.set(PATHS.services, [svc('a'), svc('b'), svc('c')])
  api.initial.set(PATHS.slices, [slice('a-1', 'a'), slice('a-2', 'a'), slice('b-1', 'b')])
  api.initial.set(PATHS.nodes, [node('n1', '10.244.1.0/24')])
  const client = await started(t, api)
  const before = client.snapshot()
  const kept = plain(before)
  const aSlices = before.endpointSlicesByService.get('d/a')

  api.send(PATHS.slices, 'MODIFIED', slice('a-1', 'a', '10.244.0.99')) // an endpoint moves
  api.send(PATHS.slices, 'MODIFIED', slice('b-1', 'c')) // relabelled to another Service
  api.send(PATHS.slices, 'DELETED', slice('a-2', 'a'))
  api.send(PATHS.services, 'DELETED', svc('b'))
  api.send(PATHS.services, 'MODIFIED', svc('a', 81))
  api.send(PATHS.nodes, 'ADDED', node('n2', '10.244.2.0/24'))
  const after = client.snapshot()
  t.same(plain(before), kept, 'the earlier snapshot reads as it did')
  t.equal(before.endpointSlicesByService.get('d/a'), aSlices, 'its lists are the same arrays')
  t.same(aSlices?.map((s) => s.endpoints[0]?.addresses[0]), ['10.244.0.2', '10.244.0.2'], 'and they hold what they held')
  t.ok(Object.isFrozen(aSlices), 'a list handed out cannot be changed by its holder either')
  t.same(plain(after), fromScratch(client), 'the new one has every change')
  t.same(after.endpointSlicesByService.get('d/c')?.map((s) => s.name), ['b-1'])
  t.equal(after.endpointSlicesByService.has('d/b'), false, 'a Service left without slices has no entry')
  t.equal(after.services.get('d/a')?.ports[0]?.port, 81)

  // A relist (after a 410) swaps in a whole new list: earlier snapshots stay as they were.
  const mid = plain(after)
  api.relist.set(PATHS.slices, [slice('z-1', 'a')])
  api.end.get(PATHS.slices)?.({ status: 410 })
  await until('the relist', () => client.endpointSlices.get('d/z-1') !== undefined)
  t.same(plain(after), mid, 'a snapshot from before the relist is untouched')
  t.same(plain(before), kept)
  t.same(plain(client.snapshot()), fromScratch(client))
  t.same([...client.snapshot().endpointSlicesByService.keys()], ['d/a'])
})

t.test('one slice change: the next snapshot shares every other Service, list and node', async (t) => {
  const api = new ScriptedApi()
  api.initial.set(PATHS.services, Array.from({ length: 200 }, (_, i) => svc(`s${i}`)))
  api.initial.set(PATHS.slices, Array.from({ length: 200 }, (_, i) => slice(`s${i}-a`, `s${i}`)))
  api.initial.set(PATHS.nodes, [node('n1', '10.244.1.0/24')])
  const client = await started(t, api)
  const one = client.snapshot()
  t.equal(client.snapshot(), one, 'no change in between: the same snapshot')
  api.send(PATHS.slices, 'MODIFIED', slice('s7-a', 's7', '10.244.0.7'))
  const two = client.snapshot()
  t.not(two.endpointSlicesByService.get('d/s7'), one.endpointSlicesByService.get('d/s7'), 'the changed Service has a new list')
  let shared = 0
  for (const [k, list] of two.endpointSlicesByService) if (k !== 'd/s7' && one.endpointSlicesByService.get(k) === list) shared++
  t.equal(shared, 199, 'every other list is the very same array, not a copy')
  t.equal(two.services, one.services, 'no Service changed: the same map')
  t.equal(two.nodes, one.nodes, 'no Node changed: the same map')
})

t.test('after any run of random events the snapshot equals one built from scratch', async (t) => {
  const api = new ScriptedApi()
  const client = await started(t, api)
  let seed = 5
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n)
  const held: Array<[ClusterSnapshot, ReturnType<typeof plain>]> = []
  for (let step = 0; step < 1500; step++) {
    const ns = rand(2) ? 'd' : 'e'
    const r = rand(10)
    if (r < 5) api.send(PATHS.slices, rand(4) ? 'MODIFIED' : 'DELETED', slice(`sl${rand(30)}`, `s${rand(8)}`, `10.244.0.${rand(4)}`, ns))
    else if (r < 8) api.send(PATHS.services, rand(4) ? 'ADDED' : 'DELETED', svc(`s${rand(8)}`, 80 + rand(3), ns))
    else api.send(PATHS.nodes, rand(3) ? 'MODIFIED' : 'DELETED', node(`n${rand(4)}`, `10.244.${rand(3)}.0/24`))
    if (step % 50 === 0) {
      const s = client.snapshot()
      held.push([s, plain(s)])
      t.same(plain(s), fromScratch(client), `step ${step}`)
    }
  }
  t.same(plain(client.snapshot()), fromScratch(client), 'at the end')
  let changed = 0
  for (const [s, was] of held) if (JSON.stringify(plain(s)) !== JSON.stringify(was)) changed++
  t.equal(changed, 0, `none of the ${held.length} snapshots held along the way changed`)
})
