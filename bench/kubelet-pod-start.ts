// Pod start through the lab kubelet: from the POST of a Pod (bound to the node)
// to the watch event that shows it Ready with a podIP, N pods one after the
// other, then N created at once. The node is the kubelet test's: a node netns,
// a real `pontoon api` listening inside it, the agent's conflist (pontoon-cni +
// pontoon-ipam, then portmap), `pontoon kubelet` in the namespace. With
// --resident, `pontoon cni-server` runs in the node netns and the conflist names
// its socket (what `pontoon agent --cni-socket` gives a lab node).
// Prints p50/p90/p99/max and the kubelet's own CNI time; judges nothing.
// Run (root, after npm run build): node --import tsx bench/kubelet-pod-start.ts [--pods 50] [--resident] [--log]
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { call, watch } from '../test/fixtures/api/harness.ts'
import { BIN } from '../test/lib/cni.ts'
import { kubeletNode, pod } from '../test/lib/kubelet.ts'
import { waitFor } from '../test/lib/wait.ts'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const N = arg('pods', 50)
const RESIDENT = process.argv.includes('--resident')

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.unshift(fn) } }
const cleanup = async () => { for (const f of teardowns) { try { await f() } catch { /* best effort */ } } }
process.on('SIGINT', () => { void cleanup().then(() => process.exit(130)) })

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN }
const fmt = (xs: number[]) => `p50 ${pct(xs, 50)!.toFixed(0)} ms  p90 ${pct(xs, 90)!.toFixed(0)} ms  p99 ${pct(xs, 99)!.toFixed(0)} ms  max ${Math.max(...xs).toFixed(0)} ms  (n=${xs.length})`

try {
  const kn = await kubeletNode(t)
  const { api } = kn
  if (RESIDENT) {
    const sock = join(kn.dir, 'cni.sock')
    const srv = kn.node.spawn(join(BIN, 'pontoon'), ['cni-server', '--socket', sock])
    t.teardown(() => srv.kill('SIGKILL'))
    await waitFor('the resident CNI server', () => existsSync(sock), { abandon: () => srv.exitCode !== null })
    const file = join(kn.dir, 'net.d', '10-pontoon.conflist')
    const list = JSON.parse(readFileSync(file, 'utf8'))
    list.plugins[0].agentSocket = sock
    writeFileSync(file, JSON.stringify(list))
  }
  const w = watch(t, api, '/api/v1/namespaces/default/pods?watch=true')
  const readyAt = new Map<string, number>()
  const seen = () => {
    for (const e of w.events.splice(0)) {
      const p = e.object
      const ready = p?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')
      if (ready && p.status.podIP && !readyAt.has(p.metadata.name)) readyAt.set(p.metadata.name, performance.now())
    }
  }
  const one = async (name: string) => {
    const t0 = performance.now()
    const r = await call(api, 'POST', '/api/v1/namespaces/default/pods', pod(name, [{ name: 'c', command: ['sleep', '100000'] }]))
    if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`)
    await waitFor(`${name} Ready`, () => { seen(); return readyAt.has(name) }, { everyMs: 1, timeoutMs: 60_000 })
    return readyAt.get(name)! - t0
  }
  await one('warmup')
  const seq: number[] = []
  for (let i = 0; i < N; i++) seq.push(await one(`seq-${i}`))
  console.log(`sequential, create -> Ready with an IP: ${fmt(seq)}`)
  for (let i = 0; i < N; i++) await call(api, 'DELETE', `/api/v1/namespaces/default/pods/seq-${i}`, { gracePeriodSeconds: 0 })
  await waitFor('the sequential pods torn down', () => kn.kubeletLog().split('pod stopped and removed').length > N, { timeoutMs: 120_000 })

  const t0 = performance.now()
  const burst = await Promise.all(Array.from({ length: N }, (_, i) => one(`burst-${i}`)))
  console.log(`burst of ${N}, create -> Ready with an IP: ${fmt(burst)}; all Ready after ${(performance.now() - t0).toFixed(0)} ms`)
  const cni = [...kn.kubeletLog().matchAll(/"cniMs":(\d+)/g)].map((m) => Number(m[1]))
  if (process.argv.includes('--log')) console.log(kn.kubeletLog())
  console.log(`kubelet's CNI ADD chain (pontoon-cni${RESIDENT ? ' resident' : ' standalone'} + portmap): ${fmt(cni)}`)
} finally {
  await cleanup()
}
