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

function runnerWith(opts: { minIntervalMs: number; maxIntervalMs: number; burst?: number; retry?: { initialMs: number; maxMs: number } }, fn: (r: BoundedFrequencyRunner) => unknown = () => {}) {
  const clock = new ManualClock()
  const runs: number[] = []
  const errors: unknown[] = []
  const runner: BoundedFrequencyRunner = new BoundedFrequencyRunner(async () => {
    runs.push(clock.now())
    await fn(runner)
  }, { ...opts, clock, onError: (e) => errors.push(e) })
  runner.start()
  return { clock, runs, runner, errors }
}

t.test('a retry asked for from inside the sync is honoured after it', async (t) => {
  let calls = 0
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 1000, maxIntervalMs: 30_000 }, (r) => {
    if (++calls === 1) r.retryAfter(3000)
  })
  runner.run()
  await clock.advance(0)
  t.same(runs, [0])
  await clock.advance(2999)
  t.same(runs, [0], 'not before the retry time')
  await clock.advance(1)
  t.same(runs, [0, 3000], 'the retry ran, long before maxInterval')
  await clock.advance(29_999)
  t.same(runs, [0, 3000], 'one retry, not a loop')
  await clock.advance(1)
  t.same(runs, [0, 3000, 33_000], 'then the periodic run, maxInterval after the last')
  runner.stop()
})

t.test('a retry asked for from inside the sync still waits for minInterval', async (t) => {
  let calls = 0
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 1000, maxIntervalMs: 30_000 }, (r) => {
    if (++calls === 1) r.retryAfter(0)
  })
  runner.run()
  await clock.advance(999)
  t.same(runs, [0])
  await clock.advance(1)
  t.same(runs, [0, 1000])
  runner.stop()
})

t.test('the earliest of several retries wins, and a later one does not postpone it', async (t) => {
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 100, maxIntervalMs: 30_000 })
  runner.retryAfter(5000)
  runner.retryAfter(2000)
  runner.retryAfter(9000)
  await clock.advance(1999)
  t.same(runs, [])
  await clock.advance(1)
  t.same(runs, [2000])
  runner.stop()
})

t.test('burst: after a quiet spell, that many runs go back to back, then the rate limit applies', async (t) => {
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 1000, maxIntervalMs: 30_000, burst: 2 })
  await clock.advance(10_000)
  runner.run()
  await clock.advance(0)
  runner.run()
  await clock.advance(0)
  t.same(runs, [10_000, 10_000], 'two runs at once')
  runner.run()
  await clock.advance(0)
  t.same(runs, [10_000, 10_000], 'the third waits for a token')
  await clock.advance(999)
  t.same(runs, [10_000, 10_000])
  await clock.advance(1)
  t.same(runs, [10_000, 10_000, 11_000], 'one token per minInterval')
  runner.stop()
})

t.test('burst tokens refill one per minInterval and never beyond the burst', async (t) => {
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 1000, maxIntervalMs: 100_000, burst: 3 })
  runner.run(); await clock.advance(0)
  runner.run(); await clock.advance(0)
  runner.run(); await clock.advance(0)
  t.same(runs, [0, 0, 0])
  await clock.advance(1500) // 1.5 tokens back
  runner.run(); await clock.advance(0)
  t.same(runs, [0, 0, 0, 1500])
  runner.run(); await clock.advance(0)
  t.same(runs.length, 4, 'half a token is not enough')
  await clock.advance(500)
  t.same(runs, [0, 0, 0, 1500, 2000])
  await clock.advance(60_000) // a long quiet spell saves only `burst` tokens
  for (let i = 0; i < 5; i++) { runner.run(); await clock.advance(0) }
  t.same(runs.slice(5), [62_000, 62_000, 62_000], 'three, not five')
  runner.stop()
})

t.test('with minInterval 0 a failing sync backs off instead of spinning', async (t) => {
  let fail = true
  const { clock, runs, runner, errors } = runnerWith({ minIntervalMs: 0, maxIntervalMs: 30_000, retry: { initialMs: 100, maxMs: 800 } }, (r) => {
    if (!fail) return
    r.run() // as a failing consumer might, asking again from inside
    throw new Error('boom')
  })
  runner.run()
  await clock.advance(2000)
  t.same(runs, [0, 100, 300, 700, 1500], 'delays 100, 200, 400, 800')
  t.equal(errors.length, 5)
  t.equal(runner.consecutiveFailures, 5)
  await clock.advance(800)
  t.same(runs.slice(5), [2300], 'capped at maxMs')
  fail = false
  await clock.advance(800)
  t.same(runs.slice(5), [2300, 3100], 'the retry that succeeds')
  t.equal(runner.consecutiveFailures, 0, 'a success resets the count')
  runner.stop()
})

t.test('a run request does not jump the backoff; after a success runs are immediate again', async (t) => {
  let fail = true
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 0, maxIntervalMs: 30_000, retry: { initialMs: 500, maxMs: 4000 } }, () => {
    if (fail) throw new Error('boom')
  })
  runner.run()
  await clock.advance(0)
  runner.run()
  await clock.advance(499)
  t.same(runs, [0])
  fail = false
  await clock.advance(1)
  t.same(runs, [0, 500])
  runner.run()
  await clock.advance(0)
  t.same(runs, [0, 500, 500], 'no hold-off after a success')
  runner.stop()
})

t.test('the periodic run comes maxInterval after the end of the last run', async (t) => {
  let release: () => void = () => {}
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 0, maxIntervalMs: 10_000 }, () => new Promise<void>((r) => { release = r }))
  runner.run()
  await clock.advance(3000)
  release()
  await clock.advance(9999)
  t.same(runs, [0])
  await clock.advance(1)
  t.same(runs, [0, 13_000])
  release()
  runner.stop()
})

t.test('stop during a run: nothing runs after it ends', async (t) => {
  let release: () => void = () => {}
  const { clock, runs, runner } = runnerWith({ minIntervalMs: 0, maxIntervalMs: 10_000 }, () => new Promise<void>((r) => { release = r }))
  runner.run()
  await clock.advance(0)
  runner.run()
  runner.stop()
  release()
  await clock.advance(60_000)
  t.same(runs, [0])
  t.equal(clock.pendingTimers, 0)
})

t.test('requests before start wait for it', async (t) => {
  const clock = new ManualClock()
  const runs: number[] = []
  const runner = new BoundedFrequencyRunner(() => { runs.push(clock.now()) }, { minIntervalMs: 0, maxIntervalMs: 1000, clock })
  runner.run()
  runner.retryAfter(0)
  await clock.advance(500)
  t.same(runs, [], 'not started')
  t.equal(clock.pendingTimers, 0)
  runner.start()
  await clock.advance(0)
  t.same(runs, [500], 'the pending request runs on start')
  runner.stop()
})

t.test('bad burst and retry options are refused', async (t) => {
  const clock = new ManualClock()
  const base = { minIntervalMs: 0, maxIntervalMs: 5, clock }
  t.throws(() => new BoundedFrequencyRunner(() => {}, { ...base, maxIntervalMs: 0 }), RangeError)
  t.throws(() => new BoundedFrequencyRunner(() => {}, { ...base, burst: 0 }), RangeError)
  t.throws(() => new BoundedFrequencyRunner(() => {}, { ...base, burst: 1.5 }), RangeError)
  t.throws(() => new BoundedFrequencyRunner(() => {}, { ...base, retry: { initialMs: 0, maxMs: 5 } }), RangeError)
  t.throws(() => new BoundedFrequencyRunner(() => {}, { ...base, retry: { initialMs: 10, maxMs: 5 } }), RangeError)
  t.doesNotThrow(() => new BoundedFrequencyRunner(() => {}, { ...base, burst: 1, retry: { initialMs: 5, maxMs: 5 } }))
  t.doesNotThrow(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: 5, maxIntervalMs: 5, clock }))
})

t.test('a failed run retries after its backoff even when it asked for a later retry, and without an onError', async (t) => {
  const clock = new ManualClock()
  const runs: number[] = []
  const runner: BoundedFrequencyRunner = new BoundedFrequencyRunner(() => {
    runs.push(clock.now())
    if (runs.length === 1) {
      runner.retryAfter(10_000)
      throw new Error('boom')
    }
  }, { minIntervalMs: 0, maxIntervalMs: 60_000, retry: { initialMs: 100, maxMs: 100 }, clock })
  runner.start()
  runner.run()
  await clock.advance(100)
  t.same(runs, [0, 100], 'the backoff, not the later retry, and no crash without onError')
  runner.stop()
})

t.test('option errors say what is wrong', async (t) => {
  const clock = new ManualClock()
  t.throws(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: 0, maxIntervalMs: 0, retry: { initialMs: 1, maxMs: 1 }, clock }),
    { name: 'RangeError', message: /maxIntervalMs > 0/ })
  t.throws(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: 0, maxIntervalMs: 5, retry: { initialMs: 9, maxMs: 1 }, clock }),
    { message: /retry\.initialMs <= retry\.maxMs/ })
  t.throws(() => new BoundedFrequencyRunner(() => {}, { minIntervalMs: 0, maxIntervalMs: 5, burst: 0, clock }), { message: /burst/ })
})
