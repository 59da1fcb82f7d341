// The agent's start-up and idle memory, as a node pays them: `dist/bin/pontoon
// agent` (the launcher and the Node shipped beside it) against an empty
// `pontoon api`, started N times. Prints, per run and as p50/max:
//   - start to healthy: from spawning the launcher to the first /healthz 200,
//   - CPU to healthy: user+system CPU the agent's processes used until then (on a
//     shared, loaded machine wall time mostly measures the neighbours; CPU does not),
//   - idle RSS: the agent's process tree (launcher + Node) once healthy and settled.
// Prints figures only; no thresholds. Needs a fresh `npm run build`.
// Run: node --import tsx bench/agent-start.ts [--runs N] [--settle-ms MS] [--cpu-prof-dir DIR]
// (--cpu-prof-dir: a CPU profile of each agent run there, through NODE_OPTIONS)
// Everything listens on 127.0.0.1; no network state is touched.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
// --pontoon PATH: another launcher for the agent (to compare Node flags); the API always runs dist/bin/pontoon
const launcherIdx = process.argv.indexOf('--pontoon')
const PONTOON = join(ROOT, 'dist/bin/pontoon')
const AGENT = launcherIdx > 0 ? resolve(process.argv[launcherIdx + 1] ?? '') : PONTOON
if (!existsSync(PONTOON)) throw new Error(`${PONTOON} is missing: run npm run build first`)

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const RUNS = arg('runs', 10)
const SETTLE_MS = arg('settle-ms', 2000)
const profIdx = process.argv.indexOf('--cpu-prof-dir')
const agentEnv = profIdx > 0
  ? { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${resolve(process.argv[profIdx + 1] ?? '.')}` }
  : process.env

const children: ChildProcess[] = []
const cleanup: Array<() => void> = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
  for (const f of cleanup) f()
})

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => res(typeof a === 'object' && a ? a.port : 0))
    })
  })
}

function status(url: string): Promise<number> {
  return new Promise((res) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet
    const req = get(url, { agent: false, rejectUnauthorized: false }, (r) => {
      r.resume()
      res(r.statusCode ?? 0)
    })
    req.on('error', () => res(0))
    req.setTimeout(1000, () => req.destroy())
  })
}

async function until(what: string, probe: () => Promise<boolean>, ms = 30_000, everyMs = 2): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (await probe()) return
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

function tree(pid: number): number[] {
  const kids = new Map<number, number[]>()
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = kids.get(ppid) ?? []
      list.push(Number(d))
      kids.set(ppid, list)
    } catch { /* exited */ }
  }
  const out: number[] = []
  const walk = (p: number) => {
    out.push(p)
    for (const k of kids.get(p) ?? []) walk(k)
  }
  walk(pid)
  return out
}

/** RSS of pid and all its descendants, in MB (the launcher execs Node, so usually one process). */
function treeRssMB(pid: number): number {
  let kb = 0
  for (const p of tree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch { /* exited */ }
  }
  return kb / 1024
}

/** user+system CPU of pid and its descendants so far, in ms (clock ticks are 10 ms on Linux). */
function treeCpuMs(pid: number): number {
  let ticks = 0
  for (const p of tree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
    } catch { /* exited */ }
  }
  return ticks * 10
}

const dir = mkdtempSync(join(tmpdir(), 'pontoon-bench-start-'))
cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
const apiPort = await freePort()
const api = spawn(PONTOON, ['api', '--data-dir', dir, '--listen', `127.0.0.1:${apiPort}`], { stdio: ['ignore', 'ignore', 'inherit'] })
children.push(api)
const kubeconfig = join(dir, 'kubeconfig')
// Whatever the API speaks on loopback (http, or https with a token), /version answers something once it is up.
await until('the API', async () => existsSync(kubeconfig) && (await status(`http://127.0.0.1:${apiPort}/version`)) > 0
  || (await status(`https://127.0.0.1:${apiPort}/version`)) > 0, 30_000, 20)

const startMs: number[] = []
const cpuMs: number[] = []
const rss: number[] = []
for (let i = 0; i < RUNS; i++) {
  const [hp, mp] = [await freePort(), await freePort()]
  const t0 = performance.now()
  const agent = spawn(AGENT, ['agent', '--kubeconfig', kubeconfig, '--node-name', 'bench', '--proxy-mode', 'none', '--overlay', 'none',
    '--healthz-bind-address', `127.0.0.1:${hp}`, '--metrics-bind-address', `127.0.0.1:${mp}`], { stdio: ['ignore', 'ignore', 'inherit'], env: agentEnv })
  children.push(agent)
  await until('the agent to turn healthy', async () => (await status(`http://127.0.0.1:${hp}/healthz`)) === 200)
  const ms = performance.now() - t0
  const cpu = treeCpuMs(agent.pid as number)
  await new Promise((r) => setTimeout(r, SETTLE_MS))
  const mb = treeRssMB(agent.pid as number)
  startMs.push(ms)
  cpuMs.push(cpu)
  rss.push(mb)
  console.log(`run ${i + 1}: start to healthy ${ms.toFixed(0)} ms (CPU ${cpu} ms), idle RSS ${mb.toFixed(1)} MB`)
  agent.kill('SIGTERM')
  await new Promise((r) => agent.once('exit', r))
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length / 2) - 1] ?? NaN
const max = (xs: number[]) => Math.max(...xs)
console.log(`start to healthy (${RUNS} runs): p50 ${p50(startMs).toFixed(0)} ms, max ${max(startMs).toFixed(0)} ms`)
console.log(`CPU to healthy: p50 ${p50(cpuMs).toFixed(0)} ms, min ${Math.min(...cpuMs).toFixed(0)} ms, max ${max(cpuMs).toFixed(0)} ms`)
console.log(`idle RSS (launcher + Node): p50 ${p50(rss).toFixed(1)} MB, max ${max(rss).toFixed(1)} MB`)
api.kill('SIGTERM')
await new Promise((r) => api.once('exit', r))
