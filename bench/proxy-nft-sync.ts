// The nftables backend's cold sync at scale, split by phase, in a namespace of
// its own and without the agent: render (pure), the nft text, libnftables
// (parse + kernel, user and system CPU apart), and the backend's own syncAll as
// a whole; then one endpoint change (syncDelta) p50/p99. Prints figures only.
// Needs root.
//   node --import tsx bench/proxy-nft-sync.ts [--services 10000] [--endpoints 10] [--changes 200]
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { NftablesBackend } from '../src/proxy/nftables/backend.ts'
import { Nft } from '../src/proxy/nftables/libnftables.ts'
import { fullScript, renderPlan } from '../src/proxy/nftables/render.ts'
import { encodeChanges, setChanges, type ElementLayout } from '../src/proxy/nftables/element-batch.ts'
import { NfnlBatchSocket } from '../src/netlink/nfnl-batch.ts'
import type { PortIntent, ProxyPlan } from '../src/proxy/plan/intent.ts'
import { makeNetns } from '../test/lib/netns.ts'

const argv = yargs(hideBin(process.argv))
  .option('services', { type: 'number', default: 10000 })
  .option('endpoints', { type: 'number', default: 10 })
  .option('changes', { type: 'number', default: 200, describe: 'endpoint changes timed one by one' })
  .strict()
  .parseSync()

function ip4(base: number, n: number): string {
  const v = base + n
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
}

function makeIntent(s: number, gen = 0): PortIntent {
  const eps = Array.from({ length: argv.endpoints }, (_, e) => ({ ip: ip4(0x0af40000, s * argv.endpoints + e + gen * 7), port: 8080, local: e === 0 }))
  return {
    key: `bench/svc-${s}:http:tcp:4`, service: `bench/svc-${s}`, portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: ip4(0x0a600000, s + 1), port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: eps, localEndpoints: eps.slice(0, 1), hasAnyEndpoints: true,
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
function phase<T>(name: string, f: () => T): T {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const r = f()
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  const c = process.cpuUsage(c0)
  console.log(`  ${name}: ${wall.toFixed(0)} ms (user ${(c.user / 1000).toFixed(0)} / sys ${(c.system / 1000).toFixed(0)} ms)`)
  return r
}
async function phaseAsync<T>(name: string, f: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const r = await f()
  const wall = Number(process.hrtime.bigint() - t0) / 1e6
  const c = process.cpuUsage(c0)
  console.log(`  ${name}: ${wall.toFixed(0)} ms (user ${(c.user / 1000).toFixed(0)} / sys ${(c.system / 1000).toFixed(0)} ms)`)
  return r
}

const intents = new Map<string, PortIntent>()
for (let s = 0; s < argv.services; s++) { const i = makeIntent(s); intents.set(i.key, i) }
const plan = (): ProxyPlan => ({ globals: { nodeName: 'bench', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }] }, intents })
console.log(`nftables sync: ${argv.services} Services x ${argv.endpoints} endpoints`)

// the phases one by one, in a namespace of their own
{
  const ns = makeNetns('bnfp')
  try {
    const r = phase('render (renderPlan)', () => renderPlan(plan()))
    const text = phase('nft text (fullScript)', () => fullScript(r))
    console.log(`  ${r.elements.length} elements, ${(text.length / 1e6).toFixed(1)} MB of nft text`)
    const nft = Nft.open(ns.path)
    phase('libnftables run (parse + kernel), whole table as text', () => nft.run(text))
    nft.close()
    // the same table the way the backend writes it now: skeleton as text, elements raw
    const raw = makeNetns('bnfr')
    try {
      const layouts = new Map<string, ElementLayout>()
      for (const o of r.objects) if (o.wire) layouts.set(o.name, o.wire)
      const skeleton = fullScript(r, [], new Set(layouts.keys()))
      const n2 = Nft.open(raw.path)
      phase(`libnftables run, skeleton only (${(skeleton.length / 1e3).toFixed(0)} kB)`, () => n2.run(skeleton))
      n2.close()
      const msgs = phase('encode the elements (element-batch.ts)', () =>
        encodeChanges({ family: 1, table: 'pontoon' }, setChanges(layouts, { flush: layouts.keys(), add: r.elements.filter((e) => layouts.has(e.set)) })))
      console.log(`  ${msgs.length} messages, ${(msgs.reduce((n, m) => n + m.payload.length, 0) / 1e6).toFixed(1)} MB`)
      const sock = NfnlBatchSocket.open(raw.path)
      phase('one nfnetlink transaction (kernel)', () => sock.transact('bench', msgs))
      sock.close()
    } finally { raw.destroy() }
  } finally { ns.destroy() }
}

// the backend as the agent runs it
{
  const ns = makeNetns('bnfs')
  const b = NftablesBackend.open({ netns: ns.path })
  try {
    const rssBefore = process.memoryUsage().rss
    await phaseAsync('backend syncAll, cold', () => b.syncAll(plan()))
    console.log(`  RSS after the cold sync: ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (was ${(rssBefore / 1e6).toFixed(0)} MB)`)
    await phaseAsync('backend syncAll, rules present (resync)', () => b.syncAll(plan()))
    const change: number[] = []
    for (let c = 0; c < argv.changes; c++) {
      const s = Math.floor((c * 7919) % argv.services)
      const before = intents.get(`bench/svc-${s}:http:tcp:4`)!
      const after = makeIntent(s, c + 1)
      intents.set(after.key, after)
      const t0 = process.hrtime.bigint()
      await b.syncDelta(plan(), { upserted: [after], removed: [], previous: new Map([[after.key, before]]) })
      change.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    if (change.length > 0) console.log(`  one endpoint change (syncDelta): p50 ${pct(change, 50).toFixed(2)} ms / p99 ${pct(change, 99).toFixed(2)} ms over ${change.length}`)
  } finally {
    b.close()
    ns.destroy()
  }
}
