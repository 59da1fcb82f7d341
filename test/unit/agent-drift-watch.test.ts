// A consumer's drift watch, on a manual clock: asked every everyMs between
// syncs, it wakes the consumer at once when it finds our state gone; it is not
// asked while a sync runs, nor before the cache has synced, nor after stop(); a
// check that throws wakes the consumer too (its sync then reports the failure).
import t from 'tap'
import pino from 'pino'
import { ManualClock } from '../../src/agent/clock.ts'
import { ConsumerLoop } from '../../src/agent/consumer-loop.ts'
import type { SyncConsumer } from '../../src/agent/consumer.ts'
import type { ChangeSet, ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import { createAgentMetrics } from '../../src/metrics/agent-metrics.ts'

const snapshot: ClusterSnapshot = { services: new Map(), endpointSlicesByService: new Map(), nodes: new Map() }
const none: ChangeSet = { services: [], endpointSlices: [], nodes: [] }
const metrics = createAgentMetrics()

interface Setup {
  /** what each check answers, in turn (then false); 'throw' throws */
  answers?: Array<boolean | 'throw'>
  /** ms each sync takes on the manual clock */
  syncMs?: number
  synced?: () => boolean
  everyMs?: number
}

function setup(o: Setup = {}) {
  const clock = new ManualClock()
  const events: string[] = []
  const answers = [...(o.answers ?? [])]
  let busy = false
  const consumer: SyncConsumer = {
    name: 'watched',
    async sync(_s, _c, ctx) {
      events.push(`sync@${clock.now()}${ctx.fullResync ? ':full' : ''}`)
      busy = true
      if (o.syncMs) await new Promise<void>((r) => clock.setTimer(r, o.syncMs!))
      busy = false
    },
    drift: {
      everyMs: o.everyMs ?? 1000,
      async check() {
        events.push(`check@${clock.now()}${busy ? ':during-sync' : ''}`)
        const a = answers.shift() ?? false
        if (a === 'throw') throw new Error('netlink said no')
        return a
      },
    },
  }
  const loop = new ConsumerLoop(consumer, {
    synced: o.synced ?? (() => true),
    pull: () => {},
    snapshot: () => snapshot,
    clock,
    wallNow: () => 0,
    metrics,
    log: pino({ level: 'silent' }),
    runner: { minIntervalMs: 0, maxIntervalMs: 600_000 },
  })
  return { clock, events, loop }
}

t.test('a drift found between syncs wakes the consumer at once; none found, nothing runs', async (t) => {
  const s = setup({ answers: [false, false, true] })
  s.loop.start()
  s.loop.offer(none)
  s.loop.wake()
  await s.clock.advance(0)
  t.same(s.events, ['sync@0:full'], 'the first sync')
  await s.clock.advance(2000)
  t.same(s.events, ['sync@0:full', 'check@1000', 'check@2000'], 'asked once a second, and quiet checks run nothing')
  await s.clock.advance(1000)
  t.same(s.events.slice(3), ['check@3000', 'sync@3000'], 'the drift wakes the consumer in the same instant')
  s.loop.stop()
})

t.test('never asked while a sync runs', async (t) => {
  const s = setup({ syncMs: 2500, everyMs: 1000 })
  s.loop.start()
  s.loop.wake()
  await s.clock.advance(6000)
  t.notOk(s.events.some((e) => e.endsWith(':during-sync')), s.events.join(' '))
  t.ok(s.events.includes('check@3000'), 'asked again once the sync is over')
  s.loop.stop()
})

t.test('not asked before the cache has synced', async (t) => {
  let synced = false
  const s = setup({ answers: [true, true], synced: () => synced })
  s.loop.start()
  await s.clock.advance(3000)
  t.same(s.events, [], 'nothing asked, nothing run')
  synced = true
  await s.clock.advance(1000)
  t.same(s.events, ['check@4000', 'sync@4000:full'])
  s.loop.stop()
})

t.test('a check that throws wakes the consumer; stop() ends the watch', async (t) => {
  const s = setup({ answers: ['throw'] })
  s.loop.start()
  await s.clock.advance(1000)
  t.same(s.events, ['check@1000', 'sync@1000:full'])
  s.loop.stop()
  await s.clock.advance(5000)
  t.same(s.events, ['check@1000', 'sync@1000:full'], 'nothing after stop')
  t.equal(s.clock.pendingTimers, 0, 'no timer left armed')
})

t.test('a stop and start while a check is in flight leaves one watch, not two', async (t) => {
  const clock = new ManualClock()
  let checks = 0
  let release: (v: boolean) => void = () => {}
  const loop = new ConsumerLoop({
    name: 'w',
    sync() {},
    drift: { everyMs: 1000, check: () => { checks++; return new Promise<boolean>((r) => { release = r }) } },
  }, { synced: () => true, pull: () => {}, snapshot: () => snapshot, clock, wallNow: () => 0, metrics, log: pino({ level: 'silent' }), runner: { minIntervalMs: 0, maxIntervalMs: 600_000 } })
  loop.start()
  await clock.advance(1000)
  t.equal(checks, 1)
  loop.stop()
  loop.start()
  release(false)
  await clock.advance(0)
  await clock.advance(1000)
  t.equal(checks, 2, 'one check a second after the restart')
  release(false)
  await clock.advance(1000)
  t.equal(checks, 3)
  loop.stop()
})
