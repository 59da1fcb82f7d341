// Issue 9's data-path figures for the vxlan overlay, in one run: pod to pod
// across nodes (over the tunnel) against the same pair on one node (the pod
// bridge only), iperf3 TCP throughput and ping RTT, the two sides alternated
// --rounds times so machine drift hits both. Targets: cross-node throughput
// >= 0.9x same-node; cross-node RTT <= same-node RTT + 50 us. Two node namespaces
// on an underlay bridge, real `pontoon agent --overlay vxlan` in each against
// `pontoon api` (test/lib/overlay-lab.ts). Prints figures only. Needs root,
// iperf3 and a fresh `npm run build`.
//
//   node --import tsx bench/overlay-throughput.ts [--seconds 5] [--rounds 3] [--pings 200] [--tx-offload on|off]

import { arg } from './lib/shipped-node.ts'

const SECONDS = Number(arg('seconds', '5'))
const ROUNDS = Number(arg('rounds', '3'))
const PINGS = Number(arg('pings', '200'))
/** VXLAN tx checksum offload: on is the agent's default with its own proxy, off its default with --proxy-mode none (src/overlay/offload.ts) */
const OFFLOAD = arg('tx-offload', 'on')
if (!(SECONDS >= 1) || !(ROUNDS >= 1) || !(PINGS >= 1) || !['on', 'off'].includes(OFFLOAD)) {
  console.error('usage: bench/overlay-throughput.ts [--seconds N>=1] [--rounds N>=1] [--pings N>=1] [--tx-offload on|off]')
  process.exit(2)
}
process.env.PONTOON_FORBID_NETNS ??= (await import('node:fs')).readlinkSync('/proc/self/ns/net')

const { buildOverlayLab, createNode, entriesFor, nodeAnnotations, startOverlayAgent, startOverlayApi } = await import('../test/lib/overlay-lab.ts')
const { waitFor } = await import('../test/lib/wait.ts')
type Netns = import('../test/lib/netns.ts').Netns

const teardowns: Array<() => unknown> = []
const t = { teardown: (f: () => unknown) => void teardowns.push(f) }
async function teardown(): Promise<void> {
  for (const f of teardowns.splice(0).reverse()) { try { await f() } catch { /* best effort */ } }
}
process.on('SIGINT', () => { void teardown().then(() => process.exit(130)) })

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }

/** iperf3 client from `from` to `ip` for SECONDS: received bits per second. */
function iperf(from: Netns, ip: string): number {
  const out = from.run('iperf3', ['-c', ip, '-t', String(SECONDS), '-J'])
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } }
  return j.end.sum_received.bits_per_second
}

/** busybox ping -A (next ping as soon as the reply is in): average RTT in microseconds. */
function rtt(from: Netns, ip: string): number {
  const out = from.run('busybox', ['ping', '-A', '-q', '-c', String(PINGS), ip])
  const m = /round-trip min\/avg\/max = ([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(out)
  if (!m) throw new Error(`ping ${ip}: no summary in ${JSON.stringify(out)}`)
  return Number(m[2]) * 1000
}

try {
  const lab = buildOverlayLab(t, 2, 2)
  const [n1, n2] = lab.nodes as [typeof lab.nodes[0], typeof lab.nodes[0]]
  const api = await startOverlayApi(t, lab.wire)
  for (const n of lab.nodes) await createNode(api, n.name, n.podCIDR, n.ip)
  for (const n of lab.nodes) startOverlayAgent(t, api, n, 'vxlan', { syncPeriodS: 30, extra: [OFFLOAD === 'on' ? '--vxlan-tx-checksum-offload' : '--no-vxlan-tx-checksum-offload'] })
  const mac2 = await waitFor('node-2 VTEP MAC', async () => (await nodeAnnotations(api, 'node-2'))['pontoon.io/vtep-mac'], { timeoutMs: 60_000 })
  await waitFor('node-1 entries for node-2', () => { const e = entriesFor(n1.ns, 'pontoon.1', n2.podCIDR, mac2); return e.neigh && e.route && e.fdb === n2.ip }, { timeoutMs: 60_000 })
  const client = n1.pods[0]!
  const local = n1.pods[1]!
  const remote = n2.pods[0]!
  for (const p of [local, remote]) {
    p.ns.spawn('iperf3', ['-s'], { stdio: 'ignore' })
    await waitFor(`iperf3 in ${p.ns.name}`, () => p.ns.try('ss', ['-Hltn', 'sport = :5201']).stdout.includes(':5201'), { timeoutMs: 10_000 })
  }
  await waitFor('a ping across the tunnel', () => client.ns.try('busybox', ['ping', '-c', '1', '-W', '1', remote.ip]).status === 0, { timeoutMs: 30_000 })
  const same = { bps: [] as number[], rtt: [] as number[] }
  const cross = { bps: [] as number[], rtt: [] as number[] }
  for (let r = 0; r < ROUNDS; r++) {
    same.bps.push(iperf(client.ns, local.ip))
    cross.bps.push(iperf(client.ns, remote.ip))
    same.rtt.push(rtt(client.ns, local.ip))
    cross.rtt.push(rtt(client.ns, remote.ip))
  }
  const gbps = (x: number) => `${(x / 1e9).toFixed(2)} Gbit/s`
  console.log(`rounds: ${ROUNDS} x ${SECONDS} s iperf3 TCP, ${PINGS} pings each; medians; VXLAN tx checksum offload ${OFFLOAD}`)
  console.log(`same node:   ${gbps(median(same.bps))}, RTT ${median(same.rtt).toFixed(0)} us`)
  console.log(`across (vxlan): ${gbps(median(cross.bps))}, RTT ${median(cross.rtt).toFixed(0)} us`)
  console.log(`ratio across/same throughput: ${(median(cross.bps) / median(same.bps)).toFixed(2)}x (target >= 0.9x); RTT difference: ${(median(cross.rtt) - median(same.rtt)).toFixed(0)} us (target <= 50 us)`)
} finally {
  await teardown()
}
