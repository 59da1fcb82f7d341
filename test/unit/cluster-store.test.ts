import t from 'tap'
import { ObjectStore } from '../../src/cluster/store.ts'
import { ChangeTracker } from '../../src/cluster/change-tracker.ts'
import { normalizeService } from '../../src/cluster/normalize-service.ts'
import { normalizeEndpointSlice } from '../../src/cluster/normalize-endpointslice.ts'
import { SnapshotIndex } from '../../src/cluster/snapshot.ts'
import type { EndpointSlice, Service } from '../../src/cluster/model.ts'

type Obj = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const svc = (name: string, port = 80, extra: (s: Obj) => void = () => {}): Obj => {
  const s: Obj = { metadata: { namespace: 'd', name, resourceVersion: String(Math.random()) }, spec: { clusterIP: '10.96.0.1', ports: [{ port }] } }
  extra(s)
  return s
}

function serviceStore() {
  const malformed: Array<[string | null, string]> = []
  const store = new ObjectStore<Service>(normalizeService, { malformed: (k, r) => void malformed.push([k, r]) })
  return { store, malformed }
}

t.test('an update that changes nothing pontoon uses is dropped', async (t) => {
  const { store } = serviceStore()
  t.equal(store.upsert(svc('a')), 'added')
  t.equal(store.upsert(svc('a', 80, (s) => { s.metadata.labels = { team: 'x' }; s.metadata.annotations = { a: 'b' } })), 'unchanged')
  t.equal(store.upsert(svc('a', 81)), 'updated')
  t.equal(store.get('d/a')?.ports[0]?.port, 81)
  const changes = store.tracker.drain()
  t.equal(changes.length, 1, 'add then update collapse into one change')
  t.equal(changes[0]?.previous, undefined)
  t.equal(changes[0]?.current?.ports[0]?.port, 81)
  t.equal(store.tracker.size, 0, 'drained')
})

t.test('a flip-flop between two syncs is no change', async (t) => {
  const { store } = serviceStore()
  store.upsert(svc('a', 80))
  store.tracker.drain()
  store.upsert(svc('a', 81))
  store.upsert(svc('a', 80))
  t.same(store.tracker.drain(), [])
  store.upsert(svc('b'))
  store.remove(svc('b'))
  t.same(store.tracker.drain(), [], 'added and deleted before a sync')
})

t.test('a malformed update is reported and skipped; the last good version stays', async (t) => {
  const { store, malformed } = serviceStore()
  store.upsert(svc('a', 80))
  t.equal(store.upsert(svc('a', 99999)), 'malformed')
  t.equal(store.get('d/a')?.ports[0]?.port, 80)
  t.same(malformed.map(([k]) => k), ['d/a'])
  t.match(malformed[0]?.[1], /spec\.ports\[0\]\.port/)
  t.equal(store.upsert(svc('b')), 'added', 'others still go in')
  t.equal(store.remove({ metadata: {} }), 'malformed', 'a DELETED event without a name')
})

t.test('a service that becomes ignored leaves the cache', async (t) => {
  const { store } = serviceStore()
  store.upsert(svc('a'))
  store.tracker.drain()
  t.equal(store.upsert(svc('a', 80, (s) => { s.metadata.labels = { 'service.kubernetes.io/service-proxy-name': 'other' } })), 'removed')
  t.equal(store.get('d/a'), undefined)
  const [c] = store.tracker.drain()
  t.equal(c?.current, undefined)
})

t.test('a full list removes what is gone, keeps malformed items at their last good version', async (t) => {
  const { store } = serviceStore()
  store.replace([svc('a'), svc('b'), svc('c')])
  store.tracker.drain()
  store.beginReplace()
  store.replacePage([svc('a', 82)])
  store.replacePage([svc('c', -1)])
  t.equal(store.endReplace(), 1, 'b is gone')
  t.same([...store.entries()].map(([k, v]) => [k, v.ports[0]?.port]).sort(), [['d/a', 82], ['d/c', 80]])
  t.same(store.tracker.drain().map((c) => c.key).sort(), ['d/a', 'd/b'])
})

t.test('the change tracker on its own', async (t) => {
  const tr = new ChangeTracker<{ v: number[] }>()
  tr.record('k', { v: [1] }, { v: [2] })
  tr.record('k', { v: [2] }, { v: [1] })
  t.equal(tr.size, 0)
  tr.record('k', undefined, { v: [1] })
  tr.record('j', { v: [1] }, undefined)
  t.same(tr.drain().map((c) => [c.key, c.previous, c.current]), [['k', undefined, { v: [1] }], ['j', { v: [1] }, undefined]])
})

t.test('the snapshot index groups slices by Service, each list in slice-name order', async (t) => {
  const index = new SnapshotIndex()
  const services = new ObjectStore<Service>(normalizeService, { malformed: () => {}, changed: (k, p, c) => index.service(k, p, c) })
  const slices = new ObjectStore<EndpointSlice>(normalizeEndpointSlice, { malformed: () => {}, changed: (k, p, c) => index.endpointSlice(k, p, c) })
  services.replace([svc('b'), svc('a')])
  const slice = (name: string, service: string, ns = 'd') => ({
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.244.0.2'] }], ports: [{ port: 80 }],
  })
  slices.replace([slice('a-2', 'a'), slice('b-1', 'b'), slice('a-1', 'a'), slice('x-1', 'a', 'other')])
  const snap = index.snapshot()
  // Map order is not promised (the proxy planner sorts where it needs order).
  t.same([...snap.services.keys()].sort(), ['d/a', 'd/b'])
  t.same([...snap.endpointSlicesByService.keys()].sort(), ['d/a', 'd/b', 'other/a'])
  t.same(snap.endpointSlicesByService.get('d/a')?.map((s) => s.name), ['a-1', 'a-2'])
  t.equal(snap.nodes.size, 0)
  slices.upsert(slice('a-0', 'a'))
  t.same(index.snapshot().endpointSlicesByService.get('d/a')?.map((s) => s.name), ['a-0', 'a-1', 'a-2'], 'a new slice takes its place by name')
  t.same(snap.endpointSlicesByService.get('d/a')?.map((s) => s.name), ['a-1', 'a-2'], 'the earlier snapshot keeps its list')
})
