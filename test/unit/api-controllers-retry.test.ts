// Controllers retry a failed sync with backoff instead of dropping it (a
// failure injected into the API verbs, fake timers), and Events expire an hour
// after their last write (an injected clock). All in process, no disk.
import t from 'tap'
import { Api } from '../../src/api/core.ts'
import { IpAllocator } from '../../src/api/alloc/ip-allocator.ts'
import { PortAllocator } from '../../src/api/alloc/port-allocator.ts'
import { ServiceAllocations } from '../../src/api/alloc/service-alloc.ts'
import { Store } from '../../src/api/store/store.ts'
import { byName } from '../../src/api/resources.ts'
import { backoffDelay, WorkQueue, type Timers } from '../../src/api/controllers/queue.ts'
import { startPodCidrController } from '../../src/api/controllers/podcidr.ts'
import { startEndpointSliceController } from '../../src/api/controllers/endpointslice.ts'
import { startKubernetesServiceController } from '../../src/api/controllers/kubernetes-service.ts'
import { EVENT_TTL_MS, startEventTtl, writtenAt } from '../../src/api/controllers/event-ttl.ts'

const tick = () => new Promise((r) => setImmediate(r))

/** Timers run by hand: `fire()` runs every due callback, in order. */
function fakeTimers(): Timers & { pending: { fn: () => void; ms: number }[]; fire(): Promise<void>; delays: number[] } {
  const pending: { fn: () => void; ms: number }[] = []
  const delays: number[] = []
  return {
    pending,
    delays,
    set(fn, ms) {
      const h = { fn, ms }
      pending.push(h)
      delays.push(ms)
      return h
    },
    clear(h) {
      const i = pending.indexOf(h as (typeof pending)[number])
      if (i >= 0) pending.splice(i, 1)
    },
    async fire() {
      for (const h of pending.splice(0)) h.fn()
      await tick()
    },
  }
}

const log = { warn: () => {}, info: () => {}, debug: () => {}, error: () => {} }

function makeApi(): Api {
  const store = new Store({ historySize: 100 })
  const api = new Api(store, new ServiceAllocations(new IpAllocator('10.96.0.0/16'), new PortAllocator()))
  for (const name of ['default', 'kube-system']) api.create(byName('namespaces'), undefined, { metadata: { name } })
  return api
}

/** Make the API verb `verb` fail `n` times for objects of `resource`, then work. */
function failNext(api: Api, verb: 'create' | 'patch' | 'update', resource: string, n: number): { failed: () => number } {
  let failed = 0
  const orig = api[verb].bind(api) as (...a: unknown[]) => unknown
  ;(api as unknown as Record<string, unknown>)[verb] = (...args: unknown[]) => {
    if ((args[0] as { name: string }).name === resource && failed < n) {
      failed++
      throw new Error(`injected ${verb} failure ${failed}`)
    }
    return orig(...args)
  }
  return { failed: () => failed }
}

t.test('backoff: doubles from the base, capped', async (t) => {
  const b = { baseMs: 100, maxMs: 1000 }
  t.same([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n)), [100, 200, 400, 800, 1000, 1000])
  t.equal(backoffDelay(b, 0), 100)
})

t.test('work queue: a failed key comes back after its backoff, the count resets on success, a fresh add runs at once', async (t) => {
  const timers = fakeTimers()
  const runs: string[] = []
  const errors: [string, number][] = []
  let failures = 2
  const q = new WorkQueue(
    (k) => {
      runs.push(k)
      if (k === 'bad' && failures-- > 0) throw new Error('boom')
    },
    (k, _e, ms) => errors.push([k, ms]),
    { backoff: { baseMs: 10, maxMs: 1000 }, timers },
  )
  q.add('bad')
  q.add('good')
  q.add('bad')
  await tick()
  t.same(runs, ['bad', 'good'], 'deduplicated, in order')
  t.same(errors, [['bad', 10]])
  t.same([...q.waiting()], [['bad', 1]])
  await timers.fire()
  t.same(errors, [['bad', 10], ['bad', 20]], 'the second failure waits twice as long')
  await timers.fire()
  t.same(runs, ['bad', 'good', 'bad', 'bad'], 'retried until it worked')
  t.equal(q.waiting().size, 0)
  // a new failure starts from the base again
  failures = 1
  q.add('bad')
  await tick()
  t.same(errors.at(-1), ['bad', 10], 'success reset the backoff')
  // a fresh add supersedes the pending retry
  q.add('bad')
  t.equal(timers.pending.length, 0, 'the pending retry was cancelled')
  await tick()
  t.equal(runs.filter((r) => r === 'bad').length, 5)
  // stop cancels retries
  failures = 1
  q.add('bad')
  await tick()
  t.equal(timers.pending.length, 1)
  q.stop()
  t.equal(timers.pending.length, 0, 'stop clears retries')
  q.add('bad')
  await tick()
  t.equal(runs.filter((r) => r === 'bad').length, 6, 'a stopped queue runs nothing')
})

t.test('podCIDR: a failed allocation is retried with backoff and succeeds later', async (t) => {
  const api = makeApi()
  const timers = fakeTimers()
  const inj = failNext(api, 'patch', 'nodes', 2)
  const stop = startPodCidrController(api, { clusterCidr: '10.244.0.0/16', maskSize: 24, log, queue: { backoff: { baseMs: 5, maxMs: 50 }, timers } })
  t.teardown(stop)
  api.create(byName('nodes'), undefined, { metadata: { name: 'n1' } })
  await tick()
  t.equal(inj.failed(), 1)
  t.equal(api.store.get('nodes', undefined, 'n1')!.obj.spec?.podCIDR, undefined, 'not yet')
  await timers.fire()
  t.equal(inj.failed(), 2)
  await timers.fire()
  t.equal(api.store.get('nodes', undefined, 'n1')!.obj.spec?.podCIDR, '10.244.0.0/24', 'allocated on the third try, and the failed tries did not leak subnets')
  t.same(timers.delays, [5, 10])
})

t.test('EndpointSlice: a failed sync is retried with backoff and succeeds later', async (t) => {
  const api = makeApi()
  const timers = fakeTimers()
  const inj = failNext(api, 'create', 'endpointslices', 1)
  const stop = startEndpointSliceController(api, { log, queue: { backoff: { baseMs: 5, maxMs: 50 }, timers } })
  t.teardown(stop)
  api.create(byName('services'), 'default', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } })
  api.create(byName('pods'), 'default', { metadata: { name: 'p', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { podIP: '10.244.0.5', conditions: [{ type: 'Ready', status: 'True' }] } })
  await tick()
  t.equal(inj.failed(), 1)
  t.equal([...api.store.list('endpointslices', 'default')].length, 0, 'not yet')
  await timers.fire()
  const slices = [...api.store.list('endpointslices', 'default')].map((e) => e.obj)
  t.equal(slices.length, 1, 'written on the retry')
  t.same((slices[0]!.endpoints as { addresses: string[] }[]).map((e) => e.addresses), [['10.244.0.5']])
})

t.test('kubernetes Service: a failed reconcile is retried, and a deleted Service comes back', async (t) => {
  const api = makeApi()
  const timers = fakeTimers()
  // Two failures: the synchronous attempt at start, then the queue's first try; the third comes on the backoff timer.
  const inj = failNext(api, 'create', 'services', 2)
  const stop = startKubernetesServiceController(api, '10.96.0.0/16', { host: '10.0.0.1', port: 6443 }, { log, queue: { backoff: { baseMs: 5, maxMs: 50 }, timers } })
  t.teardown(stop)
  await tick()
  t.equal(inj.failed(), 2)
  t.notOk(api.store.get('services', 'default', 'kubernetes'), 'not yet')
  await timers.fire()
  const svc = api.store.get('services', 'default', 'kubernetes')
  t.equal(svc?.obj.spec?.clusterIP, '10.96.0.1', 'made on the retry')
  t.ok(api.store.get('endpointslices', 'default', 'kubernetes'))
  api.delete(byName('services'), 'default', 'kubernetes')
  await tick()
  await tick()
  t.ok(api.store.get('services', 'default', 'kubernetes'), 'put back after a delete')
})

t.test('events expire an hour after their last write', async (t) => {
  const api = makeApi()
  let now = Date.parse('2026-01-01T00:00:00Z')
  const ttl = startEventTtl(api, { now: () => now, everyMs: 0, log })
  t.teardown(ttl.stop)
  const events = byName('events')
  const ev = (name: string) => ({ metadata: { name }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'R', message: 'm', type: 'Normal' })
  api.create(events, 'default', ev('old'))
  now += 30 * 60_000
  api.create(events, 'default', ev('young'))
  now += 29 * 60_000
  // 'old' is rewritten at 59 minutes: its hour starts again
  api.patch(events, 'default', 'old', (cur) => ({ ...(cur as object), message: 'again' }))
  now += 2 * 60_000 // 61 min after 'old' was made, 31 after 'young'
  t.equal(ttl.sweep(), 0, 'nothing is an hour past its last write')
  now += 29 * 60_000 // young: 60 min
  t.equal(ttl.sweep(), 1)
  t.notOk(api.store.get('events', 'default', 'young'), 'young expired at its hour')
  t.ok(api.store.get('events', 'default', 'old'), 'old, rewritten, lives on')
  now += 31 * 60_000
  t.equal(ttl.sweep(), 1)
  t.notOk(api.store.get('events', 'default', 'old'), 'old expired an hour after its rewrite')
  t.equal(ttl.sweep(), 0)
  // one deleted by hand is forgotten
  api.create(events, 'default', ev('manual'))
  api.delete(events, 'default', 'manual')
  now += EVENT_TTL_MS
  t.equal(ttl.sweep(), 0)
})

t.test('events loaded at start count from their latest timestamp, never from the future', async (t) => {
  const api = makeApi()
  const events = byName('events')
  const base = { involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'R', message: 'm', type: 'Normal' }
  api.create(events, 'default', { ...base, metadata: { name: 'a' } })
  api.create(events, 'default', { ...base, metadata: { name: 'b' } })
  const made = Date.parse(api.store.get('events', 'default', 'a')!.obj.metadata.creationTimestamp!)
  const now = made + EVENT_TTL_MS + 1000
  // b says it happened again late: it counts from then
  api.patch(events, 'default', 'b', (cur) => ({ ...(cur as object), lastTimestamp: new Date(made + 10 * 60_000).toISOString() }))
  const ttl = startEventTtl(api, { now: () => now, everyMs: 0, log })
  t.teardown(ttl.stop)
  t.equal(ttl.sweep(), 1)
  t.notOk(api.store.get('events', 'default', 'a'))
  t.ok(api.store.get('events', 'default', 'b'))
  t.equal(writtenAt({ metadata: {}, lastTimestamp: '2030-01-01T00:00:00Z' }, 1000), 1000, 'a timestamp in the future counts as now')
  t.equal(writtenAt({ metadata: {} }, 1234), 1234, 'no timestamp counts as now')
  t.equal(writtenAt({ metadata: { creationTimestamp: '1970-01-01T00:00:01Z' }, eventTime: '1970-01-01T00:00:02Z', series: { lastObservedTime: '1970-01-01T00:00:03Z' } }, 10_000), 3000, 'the latest of them')
})
