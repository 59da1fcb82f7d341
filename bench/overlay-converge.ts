// Issue 9's route-convergence figures for the vxlan overlay:
//   - live: --nodes simulated remote Nodes created in `pontoon api` (podCIDR and
//     the overlay's annotations) while the agent runs: from the last create's
//     answer to all their neighbour, FDB and route entries in the node's kernel;
//   - cold: the agent restarted with those Nodes in the API and its device gone:
//     from "cache synced" in its log to all entries in the kernel (target 500 ms);
//   - one change: one remote's public IP changed through the API, from the write
//     to its FDB entry pointing at the new address, p50/p99 over --changes (target 20 ms).
// Entries are read back with rtnetlink dumps from inside the node namespace
// (polled every ~2 ms, so figures carry that much resolution). Prints figures
// only. Needs root and a fresh `npm run build` (the agent runs from dist/).
//
//   node --import tsx bench/overlay-converge.ts [--nodes 1000] [--changes 20]

import { arg } from './lib/shipped-node.ts'

const N = Number(arg('nodes', '1000'))
const CHANGES = Number(arg('changes', '20'))
if (!(N >= 1 && N <= 60_000) || !(CHANGES >= 1)) {
  console.error('usage: bench/overlay-converge.ts [--nodes 1..60000] [--changes N>=1]')
  process.exit(2)
}
process.env.PONTOON_FORBID_NETNS ??= (await import('node:fs')).readlinkSync('/proc/self/ns/net')

const { buildOverlayLab, createNode, nodeAnnotations, startOverlayAgent, startOverlayApi, NODES } = await import('../test/lib/overlay-lab.ts')
const { call } = await import('../test/fixtures/api/harness.ts')
const { waitFor } = await import('../test/lib/wait.ts')
const { Rtnl } = await import('../src/netlink/index.ts')

const teardowns: Array<() => unknown> = []
const t = { teardown: (f: () => unknown) => void teardowns.push(f) }
async function teardown(): Promise<void> {
  for (const f of teardowns.splice(0).reverse()) { try { await f() } catch { /* best effort */ } }
}
process.on('SIGINT', () => { void teardown().then(() => process.exit(130)) })

const hex = (n: number) => n.toString(16).padStart(2, '0')
const remote = (i: number) => ({
  name: `sim-${String(i).padStart(5, '0')}`,
  podCIDR: `10.${100 + (i >> 8)}.${i & 255}.0/24`,
  ip: `172.20.${i >> 8}.${(i & 255) || 1}`,
  mac: `02:aa:00:${hex(i >> 16)}:${hex((i >> 8) & 255)}:${hex(i & 255)}`,
})
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! }
const ms = (x: number) => `${x.toFixed(1)} ms`

try {
  const lab = buildOverlayLab(t, 1, 0)
  const node = lab.nodes[0]!
  const api = await startOverlayApi(t, lab.wire)
  await createNode(api, node.name, node.podCIDR, node.ip)
  let agent = startOverlayAgent(t, api, node, 'vxlan', { syncPeriodS: 30 })
  await waitFor('the agent to publish its VTEP MAC', async () => (await nodeAnnotations(api, node.name))['pontoon.io/vtep-mac'], { timeoutMs: 60_000 })

  const nl = await Rtnl.open(node.ns.path)
  t.teardown(() => nl.close())
  const counts = async () => {
    const dev = await nl.linkByName('pontoon.1')
    if (!dev) return { neigh: 0, fdb: 0, route: 0 }
    const [neigh, fdb, routes] = await Promise.all([nl.neighs(dev.index, 4), nl.fdb(dev.index), nl.routes(4)])
    return { neigh: neigh.filter((x) => x.permanent).length, fdb: fdb.filter((f) => f.dst).length, route: routes.filter((r) => r.index === dev.index).length }
  }
  const allThere = async () => { const c = await counts(); return c.neigh === N && c.fdb === N && c.route === N }

  // live: create N remote Nodes, 32 at a time
  const sims = Array.from({ length: N }, (_, i) => remote(i + 1))
  const firstCreate = performance.now()
  let lastCreate = firstCreate
  for (let i = 0; i < N; i += 32) {
    await Promise.all(sims.slice(i, i + 32).map(async (s) => {
      const r = await call(api, 'POST', NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: s.name, annotations: { 'pontoon.io/vtep-mac': s.mac, 'pontoon.io/public-ip': s.ip, 'pontoon.io/backend-type': 'vxlan' } }, spec: { podCIDR: s.podCIDR, podCIDRs: [s.podCIDR] } })
      if (r.status !== 201) throw new Error(`create ${s.name}: HTTP ${r.status}`)
    }))
    lastCreate = performance.now()
  }
  await waitFor(`all ${N} remotes in the kernel`, allThere, { timeoutMs: 120_000, everyMs: 2 })
  const liveDone = performance.now()
  console.log(`remote nodes: ${N}`)
  console.log(`live:  creates took ${ms(lastCreate - firstCreate)}; last create -> all entries in the kernel: ${ms(liveDone - lastCreate)}`)

  // cold: restart with the device (and so every entry) gone
  await agent.stop()
  node.ns.run('ip', ['link', 'del', 'pontoon.1'])
  agent = startOverlayAgent(t, api, node, 'vxlan', { syncPeriodS: 30, ...(process.env.OVERLAY_DEBUG ? { extra: ['--log-level', 'debug'] } : {}) })
  const spawned = Date.now()
  await waitFor(`all ${N} remotes back in the kernel`, allThere, { timeoutMs: 120_000, everyMs: 2 })
  const coldDone = Date.now()
  const synced = await waitFor('the "cache synced" log line', () => agent.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('cache synced')), { timeoutMs: 10_000 })
  const syncedAt = synced.time as number
  console.log(`cold:  agent start -> all entries: ${coldDone - spawned} ms; "cache synced" -> all entries: ${coldDone - syncedAt} ms (target 500 ms; wall clock, 1 ms log resolution)`)

  // one change: a remote's public IP moves; wait for its FDB entry to follow
  const lat: number[] = []
  const writes: number[] = []
  const dev = (await nl.linkByName('pontoon.1'))!
  for (let k = 0; k < CHANGES; k++) {
    const s = sims[(k * 7919) % N]!
    const ip = `172.21.${k >> 8}.${(k & 255) || 1}`
    const t0 = performance.now()
    const r = await call(api, 'PATCH', `${NODES}/${s.name}`, { metadata: { annotations: { 'pontoon.io/public-ip': ip } } }, 'application/merge-patch+json')
    if (r.status !== 200) throw new Error(`patch ${s.name}: HTTP ${r.status}`)
    writes.push(performance.now() - t0)
    await waitFor(`${s.name}'s FDB entry to move to ${ip}`, async () => (await nl.fdb(dev.index)).some((f) => f.mac === s.mac && f.dst === ip), { timeoutMs: 30_000, everyMs: 1 })
    lat.push(performance.now() - t0)
  }
  if (process.env.OVERLAY_DEBUG) for (const l of agent.logs.filter((x) => x.msg === 'overlay synced' || x.msg === 'nodes updated' || /sync/.test(String(x.msg))).slice(-30)) console.log(JSON.stringify(l))
  console.log(`change: write -> FDB entry moved, over ${CHANGES}: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))} (target 20 ms)`)
  console.log(`        of which the API's answer to the write (durable: fsync before the reply): p50 ${ms(pct(writes, 50))}, p99 ${ms(pct(writes, 99))}`)
} finally {
  await teardown()
}
