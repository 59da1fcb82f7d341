import t from 'tap'
import { Reflector, type ReflectorSink } from '../../src/cluster/reflector.ts'
import { Backoff } from '../../src/cluster/backoff.ts'
import { ClusterClient, type ClusterObserver } from '../../src/cluster/client.ts'
import { ApiStatusError, type ListMeta, type Query, type Transport, type WatchEvent } from '../../src/cluster/transport.ts'

interface ListPage extends ListMeta { items: unknown[] }

interface OpenWatch { path: string; query: Query; emit(ev: WatchEvent): void; done(err: unknown): void; stopped: boolean }

/** A scripted API: lists answer from a queue, watches stay open until the test ends them. */
class FakeApi implements Transport {
  lists: Array<{ path: string; query: Query }> = []
  listAnswers: Array<ListPage | Error> = []
  watches: OpenWatch[] = []
  private waiters: Array<() => void> = []

  async list(path: string, query: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    this.lists.push({ path, query })
    this.wake()
    const a = this.listAnswers.shift()
    if (!a) throw new Error('no list answer scripted')
    if (a instanceof Error) throw a
    // Items arrive one batch per item, as a stream would hand them over.
    for (const item of a.items) onItems([item])
    return { resourceVersion: a.resourceVersion, continue: a.continue }
  }

  async watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, onDone: (err: unknown) => void) {
    const w: OpenWatch = { path, query, emit: onEvent, done: onDone, stopped: false }
    this.watches.push(w)
    this.wake()
    return { stop: () => { w.stopped = true } }
  }

  /** resolves once the API has seen n watches */
  async untilWatches(n: number): Promise<OpenWatch> {
    while (this.watches.length < n) await new Promise<void>((r) => this.waiters.push(r))
    return this.watches[n - 1] as OpenWatch
  }

  async untilLists(n: number): Promise<void> {
    while (this.lists.length < n) await new Promise<void>((r) => this.waiters.push(r))
  }

  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }
}

const obj = (name: string, rv: string) => ({ metadata: { namespace: 'd', name, resourceVersion: rv } })
const page = (items: unknown[], rv: string, cont: string | null = null): ListPage => ({ items, resourceVersion: rv, continue: cont })

function recordingSink() {
  const state = new Map<string, unknown>()
  const log: string[] = []
  let listing: Set<string> | null = null
  const sink: ReflectorSink = {
    beginList: () => { listing = new Set(); log.push('begin') },
    listPage: (items) => {
      for (const i of items) {
        const name = (i as { metadata: { name: string } }).metadata.name
        listing?.add(name)
        state.set(name, i)
      }
      log.push(`page ${items.length}`)
    },
    endList: () => {
      for (const k of [...state.keys()]) if (!listing?.has(k)) state.delete(k)
      log.push('end')
    },
    event: (type, o) => {
      const name = (o as { metadata: { name: string } }).metadata.name
      if (type === 'DELETED') state.delete(name)
      else state.set(name, o)
      log.push(`${type} ${name}`)
    },
  }
  return { sink, state, log }
}

function makeReflector(api: FakeApi, sink: ReflectorSink) {
  const sleeps: number[] = []
  const events: string[] = []
  const r = new Reflector(
    { resource: 'services', path: '/api/v1/services', labelSelector: '!x', pageSize: 2, watchTimeoutSeconds: 60,
      backoff: new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0, random: () => 0 }),
      sleep: async (ms) => { sleeps.push(ms) } },
    api, sink,
    {
      listed: (_res, reason, count) => events.push(`listed ${reason} ${count}`),
      watchEvent: (_res, type) => events.push(`event ${type}`),
      failed: (_res, err, ms) => events.push(`failed ${(err as Error).message} ${ms}`),
    },
  )
  return { r, sleeps, events }
}

t.test('lists page by page, then watches from the list version with bookmarks', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(page([obj('a', '1'), obj('b', '2')], '5', 'tok'), page([obj('c', '3')], '6'))
  const { sink, state, log } = recordingSink()
  const { r, events } = makeReflector(api, sink)
  r.start()
  t.teardown(() => r.stop())
  const w = await api.untilWatches(1)
  t.same(api.lists.map((l) => l.query), [{ labelSelector: '!x', limit: '2' }, { labelSelector: '!x', limit: '2', continue: 'tok' }])
  t.same(log, ['begin', 'page 1', 'page 1', 'page 1', 'end'])
  t.same(w.query, { labelSelector: '!x', resourceVersion: '6', allowWatchBookmarks: 'true', timeoutSeconds: '60' })
  t.same(events, ['listed initial 3'])
  w.emit({ type: 'ADDED', object: obj('d', '7') })
  w.emit({ type: 'MODIFIED', object: obj('a', '8') })
  w.emit({ type: 'DELETED', object: obj('b', '9') })
  w.emit({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } })
  t.same([...state.keys()].sort(), ['a', 'c', 'd'])
  w.done(null)
  const w2 = await api.untilWatches(2)
  t.equal(w2.query.resourceVersion, '12', 'resumes from the bookmark')
  t.equal(api.lists.length, 2, 'a clean close does not re-list')
})

t.test('410 Gone in the stream re-lists and drops what disappeared', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(page([obj('a', '1'), obj('b', '2')], '5'), page([obj('b', '20'), obj('z', '21')], '30'))
  const { sink, state } = recordingSink()
  const { r, events, sleeps } = makeReflector(api, sink)
  r.start()
  t.teardown(() => r.stop())
  const w = await api.untilWatches(1)
  w.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })
  t.ok(w.stopped, 'the expired watch is closed')
  const w2 = await api.untilWatches(2)
  t.same([...state.keys()].sort(), ['b', 'z'])
  t.equal(w2.query.resourceVersion, '30')
  t.same(events.filter((e) => e.startsWith('listed')), ['listed initial 2', 'listed expired 2'])
  t.same(sleeps, [], 're-listing after 410 needs no backoff')
})

t.test('410 as the watch request\'s HTTP status also re-lists', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(page([obj('a', '1')], '5'), page([], '40'))
  const { sink, state } = recordingSink()
  const { r } = makeReflector(api, sink)
  r.start()
  t.teardown(() => r.stop())
  const w = await api.untilWatches(1)
  w.done(Object.assign(new Error('Gone'), { statusCode: 410 }))
  const w2 = await api.untilWatches(2)
  t.equal(w2.query.resourceVersion, '40')
  t.equal(state.size, 0)
})

t.test('a broken watch keeps the cache and retries from the same version with growing backoff', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(page([obj('a', '1')], '5'))
  const { sink, state } = recordingSink()
  const { r, sleeps, events } = makeReflector(api, sink)
  r.start()
  t.teardown(() => r.stop())
  let w = await api.untilWatches(1)
  w.emit({ type: 'ADDED', object: obj('b', '6') })
  w.done(new Error('ECONNRESET'))
  w = await api.untilWatches(2)
  t.equal(w.query.resourceVersion, '6')
  api.watches[1]?.done(new Error('ECONNREFUSED'))
  w = await api.untilWatches(3)
  t.equal(w.query.resourceVersion, '6')
  t.same(sleeps, [100, 200])
  t.same([...state.keys()].sort(), ['a', 'b'], 'last good state kept')
  t.equal(api.lists.length, 1, 'no re-list')
  t.match(events, ['listed initial 1', 'event ADDED', 'failed ECONNRESET 100', 'failed ECONNREFUSED 200'])
  w.emit({ type: 'MODIFIED', object: obj('b', '7') })
  w.done(new Error('ECONNRESET'))
  await api.untilWatches(4)
  t.equal(sleeps.at(-1), 100, 'an event resets the backoff')
})

t.test('a failed list is retried and changes nothing', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(new ApiStatusError(503, 'unavailable'), new Error('ECONNREFUSED'), page([obj('a', '1')], '5'))
  const { sink, state } = recordingSink()
  const { r, sleeps } = makeReflector(api, sink)
  r.start()
  t.teardown(() => r.stop())
  await api.untilWatches(1)
  t.same(sleeps, [100, 200])
  t.same([...state.keys()], ['a'])
})

t.test('the client reports synced only once services, endpointslices and nodes have listed', async (t) => {
  const api = new FakeApi()
  const answers = new Map<string, ListPage>([
    ['/api/v1/services', page([{ metadata: { namespace: 'd', name: 's' }, spec: { clusterIP: '10.96.0.5', ports: [{ port: 80 }] } }], '3')],
    ['/apis/discovery.k8s.io/v1/endpointslices', page([], '3')],
    ['/api/v1/nodes', page([{ metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/24' } }], '3')],
  ])
  const gates = new Map<string, () => void>()
  api.list = async (path: string, _q: Query, onItems: (items: unknown[]) => void) => {
    await new Promise<void>((r) => gates.set(path, r))
    const a = answers.get(path) as ListPage
    onItems(a.items)
    return { resourceVersion: a.resourceVersion, continue: a.continue }
  }
  const seen: string[] = []
  const observer: ClusterObserver = {
    listed: (res) => seen.push(`listed ${res}`), watchEvent: () => {}, failed: () => {},
    malformed: () => {}, stored: () => {}, synced: () => seen.push('synced'),
  }
  const client = new ClusterClient({ transport: api, observer, sleep: async () => {} })
  client.start()
  t.teardown(() => client.stop())
  while (gates.size < 3) await new Promise((r) => setImmediate(r))
  gates.get('/api/v1/services')?.()
  gates.get('/api/v1/nodes')?.()
  await api.untilWatches(2)
  t.equal(client.synced, false, 'not synced without endpointslices')
  gates.get('/apis/discovery.k8s.io/v1/endpointslices')?.()
  await client.whenSynced()
  t.equal(client.synced, true)
  t.equal(seen.at(-1), 'synced')
  const snap = client.snapshot()
  t.same([...snap.services.keys()], ['d/s'])
  t.same(snap.nodes.get('n1')?.podCIDRs, ['10.244.1.0/24'])
  const changes = client.drainChanges()
  t.equal(changes.services.length, 1)
  t.equal(changes.nodes.length, 1)
})

t.test('a field selector goes on every list and watch (a kubelet follows only its own Pods)', async (t) => {
  const api = new FakeApi()
  api.listAnswers.push(page([obj('a', '1')], '5'))
  const { sink } = recordingSink()
  const r = new Reflector({ resource: 'services', path: '/api/v1/pods', fieldSelector: 'spec.nodeName=node-1', watchTimeoutSeconds: 60 }, api, sink,
    { listed: () => {}, watchEvent: () => {}, failed: () => {} })
  r.start()
  t.teardown(() => r.stop())
  const w = await api.untilWatches(1)
  t.same(api.lists[0]!.query, { fieldSelector: 'spec.nodeName=node-1' })
  t.same(w.query, { fieldSelector: 'spec.nodeName=node-1', resourceVersion: '5', allowWatchBookmarks: 'true', timeoutSeconds: '60' })
})
