// The lab's speed, as a newcomer meets it:
//   - lab up: `pontoon lab up --nodes N` from spawn until it exits with the
//     matrix passed (the whole build: namespaces, API, agents, kubelets, demo, matrix);
//   - pod start: `kubectl apply` of one Pod to the Pod Ready with an IP (seen by a
//     watch), over --pods pods applied one at a time, spread over the nodes by the
//     scheduler; p50 and p99.
// Targets (issue 9): lab up <= 15 s on a 2-core machine, pod start p50 <= 200 ms.
// Prints figures only; no thresholds. Needs a fresh `npm run build` and root.
// Run: node --import tsx bench/lab-up.ts [--nodes 3] [--pods 50] [--prefix plabb]
// The lab lives in namespaces named <prefix>-...; it is removed at the end (also on failure).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const PONTOON = join(ROOT, 'dist/bin/pontoon')
if (!existsSync(PONTOON)) throw new Error(`${PONTOON} is missing: run npm run build first`)
const KUBECTL = existsSync(join(ROOT, '.tools/bin/kubectl')) ? join(ROOT, '.tools/bin/kubectl') : 'kubectl'

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] ?? dflt : dflt
}
const NODES = Number(arg('nodes', '3'))
const PODS = Number(arg('pods', '50'))
const PREFIX = arg('prefix', `plabb${process.pid % 1000}`)
const top = mkdtempSync(join(tmpdir(), 'pontoon-bench-lab-'))
const stateDir = join(top, 'state')
const kubeconfig = join(stateDir, 'api', 'kubeconfig')

function labCli(args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = performance.now()
  return new Promise((res) => {
    const p = spawn(PONTOON, ['lab', ...args, '--state-dir', stateDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => { out += d })
    p.stderr.on('data', (d: Buffer) => { out += d })
    p.once('exit', (code) => res({ code, out, ms: performance.now() - t0 }))
  })
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

/** Pods that became Ready with an IP, by name, with the time the watch saw it. */
function watchReady(onReady: (name: string, at: number) => void): () => void {
  const w = spawn(KUBECTL, ['--kubeconfig', kubeconfig, 'get', 'pods', '-l', 'bench=lab-up', '--watch', '--output-watch-events', '-o', 'json'], { stdio: ['ignore', 'pipe', 'ignore'] })
  let buf = ''
  let depth = 0
  let start = 0
  w.stdout.setEncoding('utf8')
  // kubectl -o json --watch prints one pretty-printed object per event: split on balanced braces
  w.stdout.on('data', (d: string) => {
    const base = buf.length
    buf += d
    for (let i = base; i < buf.length; i++) {
      const c = buf[i]
      if (c === '{') { if (depth++ === 0) start = i }
      else if (c === '}' && --depth === 0) {
        const ev = JSON.parse(buf.slice(start, i + 1))
        const p = ev.object
        const ready = p?.status?.podIP && p.status.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True')
        if (ready) onReady(p.metadata.name, performance.now())
        buf = buf.slice(i + 1)
        i = -1
      }
    }
  })
  return () => w.kill('SIGKILL')
}

async function main(): Promise<void> {
  console.log(`lab up --nodes ${NODES} (prefix ${PREFIX}, state ${stateDir})`)
  const up = await labCli(['up', '--nodes', String(NODES), '--prefix', PREFIX])
  if (up.code !== 0) throw new Error(`lab up failed (exit ${up.code}):\n${up.out}`)
  console.log(up.out.trimEnd().split('\n').map((l) => `  | ${l}`).join('\n'))
  console.log(`lab up until the matrix passed: ${(up.ms / 1000).toFixed(2)} s`)

  const readyAt = new Map<string, number>()
  const waiters = new Map<string, () => void>()
  const stop = watchReady((name, at) => {
    if (!readyAt.has(name)) readyAt.set(name, at)
    waiters.get(name)?.()
  })
  const starts: number[] = []
  // the same, counted from kubectl's exit: without kubectl's own start-up and request
  const afterApply: number[] = []
  try {
    for (let i = 0; i < PODS; i++) {
      const name = `bench-${i}`
      const manifest = JSON.stringify({
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { bench: 'lab-up' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'echo', image: 'pontoon/echo', command: ['pontoon', 'echo', '--port', '8080'] }] },
      })
      const ready = new Promise<void>((res) => waiters.set(name, res))
      const t0 = performance.now()
      const r = spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: manifest, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`kubectl apply ${name}: ${r.stderr}`)
      const applied = performance.now()
      const timeout = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${name} not Ready within 60 s`)), 60_000).unref())
      if (!readyAt.has(name)) await Promise.race([ready, timeout])
      starts.push(readyAt.get(name)! - t0)
      afterApply.push(Math.max(0, readyAt.get(name)! - applied))
    }
  } finally {
    stop()
  }
  console.log(`pod start (kubectl apply -> Ready with an IP), ${starts.length} pods: p50 ${pct(starts, 50).toFixed(0)} ms, p99 ${pct(starts, 99).toFixed(0)} ms, max ${Math.max(...starts).toFixed(0)} ms`)
  console.log(`  of which after kubectl apply returned: p50 ${pct(afterApply, 50).toFixed(0)} ms, p99 ${pct(afterApply, 99).toFixed(0)} ms`)
}

try {
  await main()
} finally {
  const down = await labCli(['down', '--prefix', PREFIX])
  if (down.code !== 0) console.error(`lab down failed: ${down.out}`)
  rmSync(top, { recursive: true, force: true })
}
