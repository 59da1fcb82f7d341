// The resident CNI server runs pod operations off the agent's main thread, and
// the IPAM lock has a deadline: while an ADD waits on an IPAM lock that another
// process holds, the agent's /healthz and /livez keep answering, and the ADD
// fails with a clear CNI error once the deadline passes instead of hanging.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, readdirSync, readlinkSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns } from '../lib/netns.ts'
import { bridgeConf, tempDataDir, writeUnreachableKubeconfig, PONTOON_CNI, BIN, CNI_PATH } from '../lib/cni.ts'

async function until<T>(what: string, fn: () => T | undefined | false, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const LOCK_TIMEOUT_MS = 4000

t.test('an ADD waiting on a held IPAM lock does not stall /healthz, and fails clearly at the deadline', async (t) => {
  const node = makeNetns('node')
  const pod = makeNetns('pod')
  const data = tempDataDir('cniworker')
  // flock forks sleep, which inherits the locked descriptor: each holder is its own process group, ended whole.
  const holders: ChildProcess[] = []
  t.teardown(() => {
    for (const h of holders) if (h.pid) { try { process.kill(-h.pid, 'SIGKILL') } catch { /* gone */ } }
    pod.destroy(); node.destroy(); data.cleanup()
  })
  const kubeconfig = join(data.dir, 'kubeconfig')
  writeUnreachableKubeconfig(kubeconfig)
  const socket = join(data.dir, 'cni.sock')
  const agent = node.spawn(join(BIN, 'pontoon'), ['agent', '--kubeconfig', kubeconfig, '--node-name', 'n1', '--overlay', 'none', '--cni-socket', socket,
    '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249'],
  { env: { ...process.env, PONTOON_IPAM_LOCK_TIMEOUT_MS: String(LOCK_TIMEOUT_MS) } })
  // Drained (a full pipe would block the agent's logging) and kept, bounded, for a failure to show.
  let agentLog = ''
  const keep = (d: Buffer) => { agentLog = (agentLog + d.toString()).slice(-20_000) }
  agent.stdout?.on('data', keep)
  agent.stderr?.on('data', keep)
  t.teardown(() => { if (!t.passing()) console.error(`agent log (last 20 kB):\n${agentLog}`) })
  await until('the CNI socket', () => existsSync(socket))
  const health = (path: string) => node.try('curl', ['-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:10256${path}`]).stdout
  await until('healthz to answer', () => health('/healthz') === '503')

  // Another process holds the network's IPAM lock, as a stuck host-local would.
  const netDir = join(data.dir, 'podnet')
  mkdirSync(netDir, { recursive: true })
  const lockFile = join(netDir, 'lock')
  writeFileSync(lockFile, '')
  const holder = spawn('flock', [lockFile, 'sleep', '600'], { stdio: 'ignore', detached: true })
  holders.push(holder)
  await until('the lock to be held', () => spawnSync('flock', ['-n', lockFile, 'true']).status === 1)

  const conf = JSON.stringify(bridgeConf({ dataDir: data.dir, agentSocket: socket }))
  const add = (id: string) => {
    const child = spawn('nsenter', ['--net=' + node.path, '--', PONTOON_CNI], {
      env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH },
    })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stdin.end(conf)
    const done = new Promise<{ status: number | null; stdout: string }>((r) => child.once('exit', (status) => r({ status, stdout })))
    return { child, done }
  }
  const first = add('c1')
  let finished = false
  void first.done.then(() => { finished = true })
  // The agent process has the lock file open: the ADD has reached the IPAM store.
  const fdDir = `/proc/${agent.pid}/fd`
  await until('the agent to open the IPAM lock', () => readdirSync(fdDir).some((fd) => { try { return readlinkSync(join(fdDir, fd)) === lockFile } catch { return false } }))

  let answeredDuringAdd = 0
  while (!finished) {
    const h = health('/healthz')
    const l = health('/livez')
    t.equal(h, '503', 'healthz answers (not synced: the API is unreachable) while the ADD waits')
    t.equal(l, '200', 'livez answers 200 while the ADD waits')
    if (!finished) answeredDuringAdd++
    await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(answeredDuringAdd >= 1, `healthz answered ${answeredDuringAdd} times while the ADD was in progress`)
  const r = await first.done
  t.equal(r.status, 1, r.stdout)
  const err = JSON.parse(r.stdout) as { code: number; msg: string }
  t.equal(err.code, 11, `try again later: ${r.stdout}`)
  t.match(err.msg, new RegExp(`ipam store .*podnet: .*lock is locked by another process; gave up after ${LOCK_TIMEOUT_MS} ms`))
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'nothing half-built in the pod')

  // Lock released: the same agent serves the next ADD.
  process.kill(-(holder.pid as number), 'SIGKILL')
  await until('the lock to be free', () => spawnSync('flock', ['-n', lockFile, 'true']).status === 0)
  const second = await add('c2').done
  t.equal(second.status, 0, second.stdout)
  t.match(JSON.parse(second.stdout), { ips: [{ address: /^10\.244\.7\./ }] })
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 0)
  t.equal(agent.exitCode, null, 'the agent is still running')
})
