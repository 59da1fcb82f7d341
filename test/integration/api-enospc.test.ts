// A full disk, for real: the data dir is a small tmpfs mounted in a private
// mount namespace (the root namespace never sees it), the API runs inside that
// namespace, and a write that does not fit gets a 500 while memory, watchers
// and disk agree it never happened: not readable, never watched, not there
// after a restart. Freeing space lets writes through again.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { ROOT, call, tempDir, watch } from '../fixtures/api/harness.ts'

const SVC = '/api/v1/namespaces/default/services'
const svc = (name: string, pad = 0) => ({ metadata: { name, annotations: { pad: 'x'.repeat(pad) } }, spec: { ports: [{ port: 80 }] } })

interface Proc {
  proc: ChildProcess
  exited: Promise<number | null>
  out(): string
}

function run(t: { teardown(fn: () => unknown): void }, cmd: string, args: string[], ready: RegExp): Promise<Proc & { match: RegExpExecArray }> {
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let done = false
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => { done = true; resolve(code) }))
  t.teardown(() => {
    if (!done) proc.kill('SIGKILL')
    return exited
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not get ready: ${out}`)), 30_000)
    const seen = (d: Buffer) => {
      out += d.toString()
      const m = ready.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve({ proc, exited, out: () => out, match: m })
      }
    }
    proc.stdout!.on('data', seen)
    proc.stderr!.on('data', seen)
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${cmd} exited with ${code}: ${out}`))
    })
  })
}

t.test('ENOSPC on a tmpfs in a private mount namespace: a 500, and no trace of the write', async (t) => {
  const dir = tempDir(t, 'enospc')
  // The holder keeps the private mount namespace (and its tmpfs) alive across API restarts.
  const holder = await run(t, 'unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=4m,mode=0700 pontoon-enospc ${dir} && echo mounted && exec sleep 600`], /mounted/)
  const inNs = (args: string[]) => ['-t', String(holder.proc.pid), '-m', `--wd=${ROOT}`, '--', ...args]
  const startApi = async () => {
    const p = await run(t, 'nsenter', inNs([join(ROOT, 'dist/bin/pontoon'), 'api', '--data-dir', dir, '--listen', '127.0.0.1:0']), /"address":"127\.0\.0\.1:(\d+)"[^\n]*\n[\s\S]*"msg":"ready"/)
    // The kubeconfig (with the token and CA) lives on the tmpfs, seen only inside the mount namespace.
    const kc = JSON.parse(sh(`cat ${dir}/kubeconfig`).stdout)
    const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()
    return { ...p, url: `https://127.0.0.1:${p.match[1]}`, ca, token: kc.users[0].user.token as string }
  }
  const sh = (script: string) => spawnSync('nsenter', inNs(['sh', '-c', script]), { encoding: 'utf8' })
  t.equal(spawnSync('findmnt', ['-n', dir]).stdout.length, 0, 'the tmpfs is not mounted in the root mount namespace')

  let api = await startApi()
  const kept = await call(api, 'POST', SVC, svc('kept'))
  t.equal(kept.status, 201)
  const w = watch(t, api, `${SVC}?watch=true&resourceVersion=${kept.body.metadata.resourceVersion}`)

  // Fill the tmpfs to the last byte.
  sh(`dd if=/dev/zero of=${dir}/filler bs=64k 2>/dev/null; dd if=/dev/zero of=${dir}/filler2 bs=1 2>/dev/null; true`)
  t.match(sh(`df -k ${dir} | tail -1`).stdout, /\s0\s+100%/, 'the data dir is full')

  const lost = await call(api, 'POST', SVC, { ...svc('lost', 20_000), spec: { clusterIP: '10.96.0.200', ports: [{ port: 80 }] } })
  t.equal(lost.status, 500, 'the write that does not fit gets a 500')
  t.equal(lost.body.reason, 'InternalError')
  t.match(lost.body.message, /the change was not stored: write of the event log failed: ENOSPC: no space left on device/)
  t.equal((await call(api, 'GET', `${SVC}/lost`)).status, 404, 'it is not in memory')
  const list = await call(api, 'GET', SVC)
  t.notOk(list.body.items.some((i: { metadata: { name: string } }) => i.metadata.name === 'lost'))

  sh(`rm -f ${dir}/filler ${dir}/filler2`)
  const after = await call(api, 'POST', SVC, { ...svc('after'), spec: { clusterIP: '10.96.0.200', ports: [{ port: 80 }] } })
  t.equal(after.status, 201, 'with space again, writes go through (and the refused write’s clusterIP was given back)')
  await w.next((e) => e.object.metadata.name === 'after')
  t.same(w.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'after']], 'no watcher saw the refused writes')

  // A kill, not a clean stop: what was acknowledged is on disk already.
  api.proc.kill('SIGKILL')
  await api.exited
  api = await startApi()
  t.equal((await call(api, 'GET', `${SVC}/kept`)).status, 200)
  t.equal((await call(api, 'GET', `${SVC}/after`)).status, 200)
  t.equal((await call(api, 'GET', `${SVC}/lost`)).status, 404, 'after a restart it is not there')
  const next = await call(api, 'POST', SVC, svc('next'))
  t.ok(Number(next.body.metadata.resourceVersion) > Number(after.body.metadata.resourceVersion), 'versions go on')
  api.proc.kill('SIGTERM')
  t.equal(await api.exited, 0)
})
