// test/lib/wait.ts: the condition wait every test uses instead of a fixed sleep.
import t from 'tap'
import { waitFor, WaitTimeoutError } from '../lib/wait.ts'

t.test('returns the first answer that is not undefined or false', async (t) => {
  let n = 0
  const v = await waitFor('the third probe', () => (++n < 3 ? (n === 1 ? undefined : false) : `probe ${n}`), { everyMs: 1 })
  t.equal(v, 'probe 3')
  t.equal(n, 3, 'stops probing once it has an answer')
})

t.test('a probe that throws means "not yet", and async probes are awaited', async (t) => {
  let n = 0
  const v = await waitFor('a probe that recovers', async () => { if (++n < 3) throw new Error('not up'); return 0 }, { everyMs: 1 })
  t.equal(v, 0, '0 is an answer, not "not yet"')
})

t.test('times out with a coded error that names the wait and the last failure', async (t) => {
  let probes = 0
  const err = await waitFor('a socket', () => { probes++; throw new Error('ENOENT') }, { timeoutMs: 30, everyMs: 5 }).catch((e: unknown) => e)
  t.ok(err instanceof WaitTimeoutError)
  t.equal((err as WaitTimeoutError).code, 'EWAITTIMEOUT')
  t.match((err as Error).message, /timed out after 30 ms waiting for a socket: ENOENT/)
  t.ok(probes > 1, 'it kept trying until the deadline')
})

t.test('abandon stops the wait before the deadline', async (t) => {
  let probes = 0
  const err = await waitFor('a dead process', () => { probes++; return false }, { timeoutMs: 60_000, everyMs: 1, abandon: () => probes >= 2 }).catch((e: unknown) => e)
  t.ok(err instanceof WaitTimeoutError)
  t.match((err as Error).message, /gave up .* waiting for a dead process/)
  t.equal(probes, 2)
})
