import t from 'tap'
import { parseBindAddress, FlagError, formatBindAddress } from '../../src/agent/bind-address.ts'
import { healthAnswer } from '../../src/agent/health.ts'
import { Backoff } from '../../src/cluster/backoff.ts'

t.test('bind addresses as kube-proxy takes them', async (t) => {
  t.same(parseBindAddress('--metrics-bind-address', '127.0.0.1:10249', 1), { host: '127.0.0.1', port: 10249 })
  t.same(parseBindAddress('--metrics-bind-address', '0.0.0.0', 10249), { host: '0.0.0.0', port: 10249 })
  t.same(parseBindAddress('--healthz-bind-address', '[::1]:0', 10256), { host: '::1', port: 0 })
  t.same(parseBindAddress('--healthz-bind-address', '::', 10256), { host: '::', port: 10256 })
  t.equal(formatBindAddress({ host: '::1', port: 5 }), '[::1]:5')
  for (const bad of ['localhost:10249', '127.0.0.1:', '127.0.0.1:99999', '1.2.3:80', ':80', '']) {
    let err: unknown = null
    try { parseBindAddress('--metrics-bind-address', bad, 1) } catch (e) { err = e }
    t.ok(err instanceof FlagError, `${bad}: FlagError`)
    t.equal((err as FlagError).code, 'INVALID_METRICS_BIND_ADDRESS', `${bad}: code names the flag`)
    t.match((err as Error).message, /^--metrics-bind-address: /, `${bad}: message names the flag`)
  }
})

t.test('healthz is 503 until synced and every consumer has synced once, then 200 with kube-proxy\'s fields', async (t) => {
  const now = Date.parse('2025-01-01T00:00:10Z')
  const c = (lastSuccess: number | null, waitingSince: number | null = null) => ({ name: 'x', lastSuccess, waitingSince })
  const before = healthAnswer({ synced: false, consumers: [c(null)], timeoutMs: 1000 }, 'healthz', 0, now)
  t.equal(before.status, 503)
  t.equal(before.body.nodeHealthy, false)
  t.equal(healthAnswer({ synced: true, consumers: [c(null)], timeoutMs: 1000 }, 'healthz', 0, now).status, 503, 'listed but no sync has completed yet')
  const after = healthAnswer({ synced: true, consumers: [c(now - 1000), { ...c(now - 3000), name: 'y' }], timeoutMs: 1000 }, 'healthz', 0, now)
  t.equal(after.status, 200)
  t.same(after.body, { lastUpdated: '2025-01-01T00:00:09.000Z', currentTime: '2025-01-01T00:00:10.000Z', nodeHealthy: true, synced: true, stale: [] })
  t.equal(healthAnswer({ synced: true, consumers: [], timeoutMs: 1000 }, 'healthz', 0, now).body.lastUpdated, '1970-01-01T00:00:00.000Z')
})

t.test('a change waiting longer than the timeout makes healthz and livez 503; livez ignores start-up', async (t) => {
  const now = Date.parse('2025-01-01T00:00:10Z')
  const state = (waitingSince: number | null, synced = true) => ({
    synced,
    consumers: [{ name: 'proxy', lastSuccess: now - 5000, waitingSince }, { name: 'conflist', lastSuccess: now, waitingSince: null }],
    timeoutMs: 1000,
  })
  t.equal(healthAnswer(state(9000), 'healthz', 10_000, now).status, 200, 'waited exactly the timeout: still healthy')
  const stale = healthAnswer(state(8999), 'healthz', 10_000, now)
  t.equal(stale.status, 503, 'waited past the timeout')
  t.same(stale.body.stale, ['proxy'])
  t.equal(stale.body.nodeHealthy, false)
  t.equal(healthAnswer(state(8999), 'livez', 10_000, now).status, 503, 'livez too')
  t.equal(healthAnswer(state(null, false), 'livez', 10_000, now).status, 200, 'livez before the cache synced')
  t.equal(healthAnswer(state(null, false), 'healthz', 10_000, now).status, 503)
  t.equal(healthAnswer({ synced: false, consumers: [{ name: 'p', lastSuccess: null, waitingSince: null }], timeoutMs: 1 }, 'livez', 10, now).status, 200)
})

t.test('backoff doubles to its cap, with jitter below the base, and resets', async (t) => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 1 })
  t.same([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [50, 100, 200, 400, 500, 500])
  b.reset()
  t.equal(b.next(), 50)
  const plain = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5, random: () => 0 })
  t.same([plain.next(), plain.next()], [100, 200])
})
