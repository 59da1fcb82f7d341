import t from 'tap'
import { BoundedFrequencyRunner } from '../../src/agent/bounded-runner.ts'
import { ManualClock } from '../../src/agent/clock.ts'

function setup(fn: () => unknown = () => {}) {
  const clock = new ManualClock()
  const runs: number[] = []
  const errors: unknown[] = []
  const runner = new BoundedFrequencyRunner(async () => {
    runs.push(clock.now())
    await fn()
  }, { minIntervalMs: 1000, maxIntervalMs: 30_000, clock, onError: (e) => errors.push(e) })
  runner.start()
  return { clock, runs, runner, errors }
}

t.test('a burst of requests makes one run', async (t) => {
  const { clock, runs, runner } = setup()
  for (let i = 0; i < 100; i++) runner.run()
  await clock.advance(0)
  t.same(runs, [0])
  t.teardown(() => runner.stop())
})

t.test('runs are at least minInterval apart; requests in between make one more run', async (t) => {
  const { clock, runs, runner } = setup()
  runner.run()
  await clock.advance(100)
  runner.run()
  runner.run()
  await clock.advance(500)
  t.same(runs, [0], 'not yet')
  await clock.advance(400)
  t.same(runs, [0, 1000])
  await clock.advance(5000)
  t.same(runs, [0, 1000], 'no requests, no runs (until maxInterval)')
  runner.stop()
})

t.test('with nothing requested it still runs every maxInterval', async (t) => {
  const { clock, runs, runner } = setup()
  await clock.advance(29_999)
  t.same(runs, [])
  await clock.advance(1)
  t.same(runs, [30_000])
  await clock.advance(30_000)
  t.same(runs, [30_000, 60_000])
  runner.stop()
})

t.test('runs never overlap; a request during a run runs after it, minInterval after its start', async (t) => {
  let release: () => void = () => {}
  let active = 0
  let maxActive = 0
  const { clock, runs, runner } = setup(async () => {
    active++
    maxActive = Math.max(maxActive, active)
    await new Promise<void>((r) => { release = r })
    active--
  })
  runner.run()
  await clock.advance(0)
  runner.run()
  await clock.advance(5000)
  t.same(runs, [0], 'the first run is still going')
  release()
  await clock.advance(0)
  t.same(runs, [0, 5000], 'the queued request runs as soon as the first ends, past minInterval')
  release()
  await clock.advance(0)
  t.equal(maxActive, 1)
  runner.stop()
})

t.test('retryAfter brings the next run forward, but not before minInterval', async (t) => {
  const { clock, runs, runner } = setup()
  runner.run()
  await clock.advance(0)
  runner.retryAfter(200)
  await clock.advance(999)
  t.same(runs, [0])
  await clock.advance(1)
  t.same(runs, [0, 1000])
  runner.retryAfter(5000)
  await clock.advance(5000)
  t.same(runs, [0, 1000, 6000])
  runner.stop()
})

t.test('a failing run is reported and the runner keeps going', async (t) => {
  let fail = true
  const { clock, runs, runner, errors } = setup(() => {
    if (fail) throw new Error('boom')
  })
  runner.run()
  await clock.advance(0)
  t.equal(errors.length, 1)
  fail = false
  runner.run()
  await clock.advance(1000)
  t.same(runs, [0, 1000])
  runner.stop()
  await clock.advance(60_000)
  t.same(runs, [0, 1000], 'stopped means stopped')
  t.equal(clock.pendingTimers, 0)
})

t.test('bad intervals are refused', async (t) => {
  const clock = new ManualClock()
  t.throws(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: 10, maxIntervalMs: 5, clock }), RangeError)
  t.throws(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: -1, maxIntervalMs: 5, clock }), RangeError)
})
