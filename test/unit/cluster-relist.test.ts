// A relist after 410 is swapped in whole: while its pages arrive, the snapshot
// and the pending changes a sync would read are the old state; once the last
// page is in, they are the full new list. Never a mix of the two.
import t from 'tap'
import { ClusterClient, type ClusterObserver } from '../../src/cluster/client.ts'
import type { ListMeta, Query, Transport, WatchEvent } from '../../src/cluster/transport.ts'

type Page = { items: unknown[]; rv: string; cont: string | null }

const svc = (name: string, port: number) => ({ metadata: { namespace: 'd', name, resourceVersion: '1' }, spec: { clusterIP: '10.96.0.9', ports: [{ port }] } })

/** Lists answer from per-path queues; a page can be held until the test releases it. */
class GatedApi implements Transport {
  pages = new Map<string, Page[]>()
  listCalls: Array<{ path: string; query: Query }> = []
  watches: Array<{ path: string; emit: (ev: WatchEvent) => void }> = []
  held = new Map<string, () => void>()
  holdNext: string | null = null

  async list(path: string, query: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    this.listCalls.push({ path, query })
    if (this.holdNext === query.continue) {
      this.holdNext = null
      await new Promise<void>((r) => this.held.set(path, r))
    }
    const p = this.pages.get(path)?.shift() ?? { items: [], rv: '1', cont: null }
    for (const item of p.items) onItems([item])
    return { resourceVersion: p.rv, continue: p.cont }
  }

  async watch(path: string, _q: Query, onEvent: (ev: WatchEvent) => void) {
    this.watches.push({ path, emit: onEvent })
    return { stop: () => {} }
  }
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 1))
  }
}

const quiet: ClusterObserver = { listed() {}, watchEvent() {}, failed() {}, malformed() {}, stored() {}, synced() {} }
const ports = (c: ClusterClient) => Object.fromEntries([...c.snapshot().services].map(([k, s]) => [k, s.ports.map((p) => p.port)]))

t.test('a relist after 410 reaches readers only once its last page is in', async (t) => {
  const api = new GatedApi()
  api.pages.set('/api/v1/services', [
    { items: [svc('a', 80), svc('b', 80)], rv: '10', cont: null },
    // the relist: page 1 changes a, page 2 adds c; b is gone
    { items: [svc('a', 81)], rv: '20', cont: 'p2' },
    { items: [svc('c', 80)], rv: '20', cont: null },
  ])
  const client = new ClusterClient({ transport: api, observer: quiet, pageSize: 1, sleep: async () => {} })
  let notified = 0
  client.onChange(() => notified++)
  client.start()
  t.teardown(() => client.stop())
  await client.whenSynced()
  t.same(ports(client), { 'd/a': [80], 'd/b': [80] })
  client.drainChanges()

  api.holdNext = 'p2'
  const before = notified
  await until('the services watch', () => api.watches.some((w) => w.path === '/api/v1/services'))
  api.watches.find((w) => w.path === '/api/v1/services')?.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })
  await until('the relist to stop at its second page', () => api.held.has('/api/v1/services'))

  // Page 1 of the relist has been read: a sync now must still see the old state whole.
  t.same(ports(client), { 'd/a': [80], 'd/b': [80] }, 'the snapshot is the old state, not page 1 over it')
  t.same(client.drainChanges().services, [], 'no change from a half-read list is pending')
  t.equal(notified, before, 'no sync is triggered mid-relist')

  api.held.get('/api/v1/services')?.()
  await until('the relist to land', () => 'd/c' in ports(client))
  t.same(ports(client), { 'd/a': [81], 'd/c': [80] }, 'the full new list, b gone')
  const changes = client.drainChanges().services.map((c) => [c.key, c.previous?.ports[0]?.port ?? null, c.current?.ports[0]?.port ?? null])
  t.same(changes.sort(), [['d/a', 80, 81], ['d/b', 80, null], ['d/c', null, 80]])
  t.ok(notified > before, 'the swap wakes the sync')
})

t.test('an unchanged object keeps its cached value across a relist, and a malformed one its last good version', async (t) => {
  const api = new GatedApi()
  api.pages.set('/api/v1/services', [
    { items: [svc('a', 80), svc('b', 80)], rv: '10', cont: null },
    { items: [svc('a', 80), svc('b', -1)], rv: '20', cont: null },
  ])
  const malformed: string[] = []
  const client = new ClusterClient({ transport: api, observer: { ...quiet, malformed: (_r, k) => void malformed.push(String(k)) }, sleep: async () => {} })
  client.start()
  t.teardown(() => client.stop())
  await client.whenSynced()
  const a = client.services.get('d/a')
  client.drainChanges()
  await until('the services watch', () => api.watches.some((w) => w.path === '/api/v1/services'))
  api.watches.find((w) => w.path === '/api/v1/services')?.emit({ type: 'ERROR', object: { code: 410 } })
  await until('the relist', () => malformed.length === 1)
  await until('the second watch', () => api.watches.filter((w) => w.path === '/api/v1/services').length === 2)
  t.equal(client.services.get('d/a'), a, 'same instance: nothing changed')
  t.same(ports(client), { 'd/a': [80], 'd/b': [80] }, 'b keeps its last good version')
  t.same(malformed, ['d/b'])
  t.same(client.drainChanges().services, [], 'a relist that changed nothing records nothing')
})

t.test('the client wakes its sync only once every resource has listed', async (t) => {
  // An early wake-up runs a sync that can do nothing, and a rate-limited runner
  // then holds the first real sync back by --min-sync-period.
  const api = new GatedApi()
  api.pages.set('/api/v1/services', [{ items: [svc('a', 80)], rv: '10', cont: null }])
  const client = new ClusterClient({ transport: api, observer: quiet, sleep: async () => {} })
  const wakeups: boolean[] = []
  client.onChange(() => wakeups.push(client.synced))
  client.start()
  t.teardown(() => client.stop())
  await client.whenSynced()
  await until('the watches', () => api.watches.length === 3)
  t.same(wakeups, [true], 'one wake-up, when synced')
})
