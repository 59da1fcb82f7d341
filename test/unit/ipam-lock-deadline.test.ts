// The IPAM store's flock has a deadline: a lock another process holds makes
// lock() fail with CNI code 11 (try again later) after the deadline, never hang.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CniError } from '../../src/cni/errors.ts'
import { DiskStore, DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutFromEnv } from '../../src/ipam/store-disk.ts'
import { LockTimeoutError, flockWithin, LOCK_EX, LOCK_UN } from '../../src/sys/libc.ts'

async function until(what: string, fn: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

t.test('a held lock gives a clear CNI error at the deadline; a free one is taken', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-lockdl-'))
  const store = new DiskStore(dir, 'net', 300)
  const lockFile = join(dir, 'net', 'lock')
  const holder = spawn('flock', [lockFile, 'sleep', '600'], { stdio: 'ignore', detached: true })
  t.teardown(() => { try { process.kill(-(holder.pid as number), 'SIGKILL') } catch { /* gone */ } store.close(); rmSync(dir, { recursive: true, force: true }) })
  await until('the lock to be held', () => spawnSync('flock', ['-n', lockFile, 'true']).status === 1)

  let err: unknown
  try { store.lock() } catch (e) { err = e }
  t.ok(err instanceof CniError, 'a CniError')
  t.equal((err as CniError).code, 11, 'try again later')
  t.match((err as Error).message, /net\/lock is locked by another process; gave up after 300 ms$/)
  t.ok((err as Error & { cause?: unknown }).cause instanceof LockTimeoutError)

  process.kill(-(holder.pid as number), 'SIGKILL')
  await until('the lock to be free', () => spawnSync('flock', ['-n', lockFile, 'true']).status === 0)
  store.lock()
  t.equal(spawnSync('flock', ['-n', lockFile, 'true']).status, 1, 'we hold it now')
  store.unlock()
  t.equal(spawnSync('flock', ['-n', lockFile, 'true']).status, 0, 'and released it')
})

t.test('flockWithin passes other errors through', async (t) => {
  t.throws(() => flockWithin(987654, LOCK_EX, 100), { code: 'EFLOCK', errno: 9 }, 'EBADF is not a timeout')
  t.throws(() => flockWithin(987654, LOCK_UN, 100), { code: 'EFLOCK' })
})

t.test('the deadline comes from PONTOON_IPAM_LOCK_TIMEOUT_MS, else 10 s', async (t) => {
  t.equal(DEFAULT_LOCK_TIMEOUT_MS, 10_000)
  t.equal(lockTimeoutFromEnv({}), 10_000)
  t.equal(lockTimeoutFromEnv({ PONTOON_IPAM_LOCK_TIMEOUT_MS: '2500' }), 2500)
  for (const bad of ['', '0', '-5', 'soon', 'Infinity']) t.equal(lockTimeoutFromEnv({ PONTOON_IPAM_LOCK_TIMEOUT_MS: bad }), 10_000, `"${bad}" is ignored`)
})
