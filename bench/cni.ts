// CNI plugin latency, pontoon against Debian's reference bridge + host-local,
// invoked exactly as a runtime does (env + stdin, nsenter into the node netns).
// Prints figures only; it judges nothing beyond printing the target check.
//
//   node --import tsx bench/cni.ts            (as root; N=50 by default, BENCH_N to change)
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, type Netns } from '../test/lib/netns.ts'
import { CNI_PATH, PONTOON_CNI, REF_DIR, ROOT, tempDataDir } from '../test/lib/cni.ts'

const N = Number(process.env.BENCH_N ?? 50)
const NODE = join(ROOT, 'dist/bin/pontoon.d/node')
const SUBNET = '10.244.40.0/24'

interface Impl { label: string; plugin: string; type: string; ipam: string; resident?: boolean }
const IMPLS: Impl[] = [
  { label: 'pontoon', plugin: PONTOON_CNI, type: 'pontoon-cni', ipam: 'pontoon-ipam' },
  // The same plugin with `pontoon cni-server` running in the node: the plugin process forwards to it.
  { label: 'pontoon+resident', plugin: PONTOON_CNI, type: 'pontoon-cni', ipam: 'pontoon-ipam', resident: true },
  { label: 'reference', plugin: join(REF_DIR, 'bridge'), type: 'bridge', ipam: 'host-local' },
]

function conf(impl: Impl, dataDir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0', name: 'bench', type: impl.type, bridge: 'cni0', isGateway: true, isDefaultGateway: true,
    ...(impl.resident ? { agentSocket: join(dataDir, 'cni.sock') } : {}),
    ipam: { type: impl.ipam, ranges: [[{ subnet: SUBNET }]], dataDir },
  })
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function env(command: string, id: string, netns: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH }
}

/** One timed invocation in ms; throws if the plugin failed, so a broken run never yields a figure. */
function timed(node: Netns, impl: Impl, command: string, id: string, pod: Netns, input: string): number {
  const t0 = process.hrtime.bigint()
  const r = spawnSync('nsenter', ['--net=' + node.path, '--', impl.plugin], { input, env: env(command, id, pod.path), encoding: 'utf8' })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (r.status !== 0) throw new Error(`${impl.label} ${command} ${id} failed: ${r.stdout}${r.stderr}`)
  return ms
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN
}
const fmt = (x: number) => x.toFixed(1).padStart(7)
function row(name: string, xs: number[]): string {
  return `${name.padEnd(22)} p50 ${fmt(pct(xs, 50))}  p90 ${fmt(pct(xs, 90))}  p99 ${fmt(pct(xs, 99))}  ms  (n=${xs.length})`
}

/** A node netns with `count` pod netns and a fresh data dir; cleaned up by the returned function. */
function world(tag: string, count: number, resident = false) {
  const node = makeNetns(`bn${tag}`)
  const pods = Array.from({ length: count }, () => makeNetns(`bp${tag}`))
  const data = tempDataDir(`bench-${tag}`)
  if (resident) {
    const socket = join(data.dir, 'cni.sock')
    node.spawn(join(ROOT, 'dist/bin/pontoon'), ['cni-server', '--socket', socket], { stdio: 'ignore' }) // killed by node.destroy()
    for (let i = 0; i < 400 && !existsSync(socket); i++) sleepSync(25)
    if (!existsSync(socket)) throw new Error('cni-server did not start')
  }
  return { node, pods, data, cleanup: () => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() } }
}

function floor(): number[] {
  const out: number[] = []
  for (let i = 0; i < N + 1; i++) {
    const t0 = process.hrtime.bigint()
    spawnSync(NODE, ['-e', '0'])
    if (i > 0) out.push(Number(process.hrtime.bigint() - t0) / 1e6) // first run warms the page cache
  }
  return out
}

/** Sequential ADD then DEL per pod, the two implementations interleaved so machine drift hits both. */
function sequential(): Record<string, { add: number[]; del: number[] }> {
  const worlds = IMPLS.map((impl, k) => ({ impl, w: world(`${impl.label.slice(0, 3)}${k}`, N + 1, impl.resident) }))
  const out: Record<string, { add: number[]; del: number[] }> = {}
  try {
    for (const { impl } of worlds) out[impl.label] = { add: [], del: [] }
    for (let i = 0; i <= N; i++) {
      for (const { impl, w } of worlds) {
        const pod = w.pods[i]!, id = `seq-${i}`, input = conf(impl, w.data.dir)
        const add = timed(w.node, impl, 'ADD', id, pod, input)
        const del = timed(w.node, impl, 'DEL', id, pod, input)
        if (i > 0) { out[impl.label]!.add.push(add); out[impl.label]!.del.push(del) } // pod 0 is the warm-up
      }
    }
  } finally { for (const { w } of worlds) w.cleanup() }
  return out
}

/** N ADDs started at once in N pod netns; wall time until the last one exits. */
async function parallel(impl: Impl): Promise<{ wallMs: number; failed: number }> {
  const w = world(`${impl.label.slice(0, 3)}p`, N, impl.resident)
  try {
    const input = conf(impl, w.data.dir)
    const t0 = process.hrtime.bigint()
    const codes = await Promise.all(w.pods.map((pod, i) => new Promise<number>((res) => {
      const c = spawn('nsenter', ['--net=' + w.node.path, '--', impl.plugin], { env: env('ADD', `par-${i}`, pod.path), stdio: ['pipe', 'ignore', 'ignore'] })
      c.on('close', (code) => res(code ?? -1))
      c.stdin.end(input)
    })))
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6
    return { wallMs, failed: codes.filter((c) => c !== 0).length }
  } finally { w.cleanup() }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/cni.ts needs root (it creates network namespaces)')
  console.log(`CNI plugin latency, ${N} pods each; pontoon = pontoon-cni + pontoon-ipam, reference = Debian bridge + host-local (cniVersion 1.0.0)`)
  const fl = floor()
  const seq = sequential()
  const par: Record<string, { wallMs: number; failed: number }> = {}
  for (const impl of IMPLS) par[impl.label] = await parallel(impl)

  const r = seq.reference!
  console.log(row('floor (node -e 0)', fl))
  for (const [label, x] of Object.entries(seq)) {
    console.log(row(`${label} ADD`, x.add))
    console.log(row(`${label} DEL`, x.del))
  }
  for (const [label, x] of Object.entries(par)) {
    console.log(`${`${label} ${N}x ADD parallel`.padEnd(22)} wall ${x.wallMs.toFixed(0)} ms${x.failed ? `  (${x.failed} FAILED)` : ''}`)
  }
  const f50 = pct(fl, 50)
  const ratio = (a: number[], b: number[]) => (pct(a, 50) / pct(b, 50)).toFixed(2)
  const check = (name: string, mine: number, theirs: number) =>
    console.log(`target ${name.padEnd(56)} ${mine.toFixed(1).padStart(7)} <= ${theirs.toFixed(1).padStart(7)}  ${mine <= theirs ? 'met' : 'MISSED'}`)
  for (const label of ['pontoon', 'pontoon+resident']) {
    const p = seq[label]!
    console.log(`ratios ${label}/reference p50: ADD ${ratio(p.add, r.add)}  DEL ${ratio(p.del, r.del)}  parallel wall ${(par[label]!.wallMs / par.reference!.wallMs).toFixed(2)}`)
    check(`${label} ADD: p50 - floor p50 <= reference p50`, pct(p.add, 50) - f50, pct(r.add, 50))
    check(`${label} DEL: p50 - floor p50 <= reference p50`, pct(p.del, 50) - f50, pct(r.del, 50))
    check(`${label} parallel: wall <= reference wall`, par[label]!.wallMs, par.reference!.wallMs)
  }
}

await main()
