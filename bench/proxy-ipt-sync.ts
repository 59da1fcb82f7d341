// The iptables backend at scale, iptables-nft beside iptables-legacy in one run:
// cold syncAll, a full resync, one endpoint change (syncDelta), one frontend
// change, the canary check and cleanup, each in a fresh namespace of its own.
// Prints figures only; no thresholds. Needs root.
//   node --import tsx bench/proxy-ipt-sync.ts [--services 10000] [--endpoints 10] [--changes 200] [--flavours nft,legacy]
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { IptablesBackend } from '../src/proxy/iptables/backend.ts'
import type { PortIntent, ProxyPlan } from '../src/proxy/plan/intent.ts'
import { makeNetns } from '../test/lib/netns.ts'

const argv = yargs(hideBin(process.argv))
  .option('services', { type: 'number', default: 10000 })
  .option('endpoints', { type: 'number', default: 10 })
  .option('changes', { type: 'number', default: 200, describe: 'endpoint changes timed one by one' })
  .option('flavours', { type: 'string', default: 'nft,legacy' })
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

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!

async function runFlavour(flavour: 'nft' | 'legacy'): Promise<void> {
  const ns = makeNetns(`bipt${flavour[0]}`)
  try {
    const intents = new Map<string, PortIntent>()
    for (let s = 0; s < argv.services; s++) { const i = makeIntent(s); intents.set(i.key, i) }
    const plan = (): ProxyPlan => ({ globals: { nodeName: 'bench', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }] }, intents })
    const b = new IptablesBackend({ iptablesBackend: flavour, netnsPath: ns.path })
    let t0 = process.hrtime.bigint()
    const stats = await b.syncAll(plan())
    const cold = ms(t0)
    t0 = process.hrtime.bigint()
    await b.syncAll(plan())
    const resync = ms(t0)

    const change: number[] = []
    for (let c = 0; c < argv.changes; c++) {
      const s = Math.floor((c * 7919) % argv.services)
      const before = intents.get(`bench/svc-${s}:http:tcp:4`)!
      const after = makeIntent(s, c + 1)
      intents.set(after.key, after)
      t0 = process.hrtime.bigint()
      await b.syncDelta(plan(), { upserted: [after], removed: [], previous: new Map([[after.key, before]]) })
      change.push(ms(t0))
    }
    const last = intents.get(`bench/svc-${argv.services - 1}:http:tcp:4`)!
    const withIP = { ...last, externalIPs: ['192.0.2.10'] }
    intents.set(withIP.key, withIP)
    t0 = process.hrtime.bigint()
    await b.syncDelta(plan(), { upserted: [withIP], removed: [], previous: new Map([[last.key, last]]) })
    const frontend = ms(t0)
    t0 = process.hrtime.bigint()
    const flushed = await b.flushed()
    const canary = ms(t0)
    t0 = process.hrtime.bigint()
    await b.cleanup()
    const cleanup = ms(t0)
    b.close()
    console.log(`iptables-${flavour}: ${argv.services} Services x ${argv.endpoints} endpoints, ${stats.counts.natRules} nat rules, ${stats.counts.chains} chains`)
    console.log(`  cold syncAll            ${cold.toFixed(0)} ms`)
    console.log(`  full resync             ${resync.toFixed(0)} ms`)
    console.log(`  endpoint change (delta) p50 ${pct(change, 50).toFixed(1)} ms  p99 ${pct(change, 99).toFixed(1)} ms  max ${Math.max(...change).toFixed(1)} ms  (n=${change.length})`)
    console.log(`  frontend change (delta) ${frontend.toFixed(1)} ms`)
    console.log(`  flushed() check         ${canary.toFixed(1)} ms (flushed=${flushed})`)
    console.log(`  cleanup                 ${cleanup.toFixed(0)} ms`)
  } finally {
    ns.destroy()
  }
}

for (const f of argv.flavours.split(',')) {
  if (f !== 'nft' && f !== 'legacy') throw new Error(`unknown flavour ${f}`)
  await runFlavour(f)
}
