// One consumer's loop on a manual clock: nothing runs before the cache has
// synced; the first sync is full; a change is delivered with the time it began to
// wait; a failed sync gives its changes back (under newer ones), asks for a full
// resync, counts and logs; health and metrics follow each outcome.
import t from 'tap'
import pino from 'pino'
import { ManualClock } from '../../src/agent/clock.ts'
import { ConsumerLoop } from '../../src/agent/consumer-loop.ts'
import type { SyncConsumer, SyncContext } from '../../src/agent/consumer.ts'
import type { ChangeSet, ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts'

const snapshot: ClusterSnapshot = { services: new Map(), endpointSlices: new Map(), nodes: new Map() } as unknown as ClusterSnapshot
const svc = (key: string, previous: unknown, current: unknown): ChangeSet =>
  ({ services: [{ key, previous, current }], endpointSlices: [], nodes: [] }) as unknown as ChangeSet

function setup(o: { synced?: () => boolean; fail?: () => boolean; minIntervalMs?: number } = {}) {
  const clock = new ManualClock()
  const metrics = createAgentMetrics()
  const seen: Array<{ changes: ChangeSet; ctx: SyncContext; at: number }> = []
  const warnings: Array<Record<string, unknown>> = []
  let pulls = 0
  let wall = 5_000_000
  const consumer: SyncConsumer = {
    name: 'probe',
    async sync(_s, changes, ctx) {
      seen.push({ changes, ctx, at: clock.now() })
      await new Promise<void>((r) => clock.setTimer(r, 7)) // each sync takes 7 ms
      if (o.fail?.()) throw new Error('kernel said no')
    },
  }
  const log = pino({ level: 'warn' }, { write: (l: string) => { warnings.push(JSON.parse(l)) } })
  const loop = new ConsumerLoop(consumer, {
    synced: o.synced ?? (() => true),
    pull: () => { pulls++ },
    snapshot: () => snapshot,
    clock,
    wallNow: () => wall,
    metrics,
    log,
    runner: { minIntervalMs: o.minIntervalMs ?? 0, maxIntervalMs: 600_000 },
  })
  const sample = async (name: string) => {
    const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(await metrics.registry.metrics())
    return m ? Number(m[1]) : undefined
  }
  return { clock, loop, seen, warnings, sample, pulls: () => pulls, setWall: (w: number) => { wall = w } }
}

t.test('nothing runs before the cache has synced; then the first sync is full and pulls first', async (t) => {
  let synced = false
  const s = setup({ synced: () => synced })
  t.equal(s.loop.name, 'probe')
  s.loop.start()
  s.loop.offer(svc('d/a', undefined, { v: 1 }))
  await s.clock.advance(100)
  t.same(s.seen, [], 'not synced: no sync')
  t.equal(s.pulls(), 0, 'and no pull')
  t.same(s.loop.health(), { name: 'probe', lastSuccess: null, waitingSince: null }, 'a long initial list is not a stuck consumer')
  t.equal(await s.sample('pontoon_consumer_pending_changes{consumer="probe"}'), 1)
  synced = true
  s.loop.wake()
  t.equal(s.loop.health().waitingSince, 100, 'from the moment it could run, it waits')
  await s.clock.advance(0)
  t.equal(s.seen.length, 1)
  t.equal(s.pulls(), 1, 'the client changes are pulled before the run')
  t.equal(s.seen[0]!.ctx.fullResync, true, 'the first sync is full')
  t.equal(s.seen[0]!.ctx.pendingSince, 100)
  t.same(s.seen[0]!.changes.services.map((c) => c.key), ['d/a'])
  await s.clock.advance(7)
  t.same(s.loop.health(), { name: 'probe', lastSuccess: 5_000_000, waitingSince: null })
  t.equal(await s.sample('pontoon_consumer_last_success_timestamp_seconds{consumer="probe"}'), 5000)
  t.equal(await s.sample('pontoon_last_sync_timestamp_seconds'), 5000)
  t.equal(await s.sample('pontoon_syncs_total{result="ok"}'), 1)
  t.equal(await s.sample('pontoon_consumer_sync_duration_seconds_sum{consumer="probe"}'), 0.007)
  t.equal(await s.sample('pontoon_consumer_pending_changes{consumer="probe"}'), 0)
  s.loop.stop()
})

t.test('a change waits from its offer; a later sync is not full; a change undone before the run leaves nothing late', async (t) => {
  const s = setup()
  s.loop.start()
  s.loop.wake()
  await s.clock.advance(10)
  t.equal(s.seen.length, 1)
  t.equal(s.loop.health().waitingSince, null, 'nothing pending: the wake of an idle consumer starts no wait')
  await s.clock.advance(40)
  s.loop.offer(svc('d/b', undefined, { v: 1 }))
  t.equal(s.loop.health().waitingSince, 50)
  await s.clock.advance(0)
  t.equal(s.seen[1]!.ctx.fullResync, false)
  t.equal(s.seen[1]!.ctx.pendingSince, 50)
  t.equal(s.loop.health().waitingSince, null, 'taken by the running sync')
  s.loop.offer(svc('d/c', undefined, { v: 1 }))
  t.equal(s.loop.health().waitingSince, 50, 'a change arriving during a run starts its own wait')
  await s.clock.advance(7)
  await s.clock.advance(7)
  t.same(s.seen[2]!.changes.services.map((c) => c.key), ['d/c'])
  t.equal(s.seen[2]!.ctx.pendingSince, 50)

  const idle = setup({ minIntervalMs: 1000 })
  idle.loop.start()
  idle.loop.wake()
  await idle.clock.advance(10)
  idle.loop.offer(svc('d/x', undefined, { v: 1 }))
  t.equal(idle.loop.health().waitingSince, 10)
  idle.loop.offer(svc('d/x', { v: 1 }, undefined))
  t.equal(idle.loop.health().waitingSince, null, 'added and removed before the run: nothing waits')
  t.equal(await idle.sample('pontoon_consumer_pending_changes{consumer="probe"}'), 0)
  s.loop.stop(); idle.loop.stop()
})

t.test('a failed sync gives its changes back under newer ones, asks for a full resync, counts and logs', async (t) => {
  let failing = false
  const s = setup({ fail: () => failing })
  s.loop.start()
  s.loop.wake()
  await s.clock.advance(7)
  failing = true
  s.loop.offer(svc('d/a', undefined, { v: 1 }))
  await s.clock.advance(3)
  t.equal(s.seen.length, 2, 'the second sync runs from 7')
  s.loop.offer(svc('d/a', { v: 1 }, { v: 2 }))
  await s.clock.advance(4) // and fails at 14
  t.equal(await s.sample('pontoon_consumer_sync_errors_total{consumer="probe"}'), 1)
  t.equal(await s.sample('pontoon_syncs_total{result="error"}'), 1)
  t.equal(await s.sample('pontoon_consumer_pending_changes{consumer="probe"}'), 1, 'the change is pending again, merged with the newer one')
  t.equal(s.loop.health().waitingSince, 7, 'the wait counts from the oldest change, not from the newer one or the retry')
  const warn = s.warnings.at(-1)!
  t.match(warn, { consumer: 'probe', err: 'kernel said no', failures: 1, msg: /its changes are kept and retried with backoff/ })
  failing = false
  await s.clock.advance(600_000)
  const retry = s.seen.at(-1)!
  t.equal(retry.ctx.fullResync, true, 'the retry is a full resync')
  t.same(retry.changes.services, [{ key: 'd/a', previous: undefined, current: { v: 2 } }], 'oldest previous, newest current')
  t.equal(retry.ctx.pendingSince, 7)
  t.equal(s.loop.health().waitingSince, null)
  t.equal(s.loop.health().lastSuccess, 5_000_000)
  s.loop.stop()
})

t.test('after stop nothing runs', async (t) => {
  const s = setup()
  s.loop.start()
  s.loop.stop()
  s.loop.offer(svc('d/a', undefined, { v: 1 }))
  await s.clock.advance(10_000)
  t.same(s.seen, [])
})
