// Where `pontoon dns`'s time goes: the UDP/TCP server (src/dns/server.ts) run
// in-process over a snapshot of N Services built here (no API, no watch), inside
// a network namespace made here, under dnsperf (-c 4 -q 100) for --seconds.
// Prints qps; with --cpu-prof-dir DIR the server writes a V8 CPU profile there
// (open it in Chrome's DevTools). --no-cache turns the answer cache off, to see
// what it saves, and --no-batch the batched UDP reads and sends (udp-batch.ts). Figures only. Needs root and dnsperf.
// Run: node --import tsx bench/dns-profile.ts [--services 2000] [--seconds 4] [--cpu-prof-dir DIR] [--no-cache] [--no-batch]
import './lib/shipped-node.ts'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Registry } from 'prom-client'
import { arg, NODE, ROOT } from './lib/shipped-node.ts'
import { makeNetns } from '../test/lib/netns.ts'
import { buildSnapshot } from '../src/cluster/snapshot.ts'
import type { DnsEndpointSlice, DnsService } from '../src/dns/model.ts'
import { normalizeDnsService } from '../src/dns/normalize.ts'
import { startDnsServer } from '../src/dns/server.ts'
import { createDnsMetrics } from '../src/metrics/dns-metrics.ts'

const N = Number(arg('services', '2000'))
const SECONDS = arg('seconds', '4')
const PORT = 5300
const noCache = process.argv.includes('--no-cache')
const noBatch = process.argv.includes('--no-batch')
const name = (i: number) => `svc-${i}.default.svc.cluster.local`

if (process.argv.includes('--serve')) {
  // the child, inside the namespace: serve until told to stop (exiting writes the profile)
  const services: Array<[string, DnsService]> = []
  for (let i = 0; i < N; i++) {
    const r = normalizeDnsService({ metadata: { namespace: 'default', name: `svc-${i}` }, spec: { clusterIP: `10.96.${i >> 8}.${i & 255}` } })
    if (r.kind !== 'ok') throw new Error(`svc-${i}: ${JSON.stringify(r)}`)
    services.push([`default/svc-${i}`, r.value])
  }
  const snap = buildSnapshot<DnsService, DnsEndpointSlice>(services, [], [])
  await startDnsServer({
    host: '127.0.0.1', port: PORT, snapshot: () => snap, zone: { domain: 'cluster.local', ttl: 5, serial: 1 }, upstreams: [],
    metrics: createDnsMetrics(new Registry()), log: pino({ level: 'warn' }),
    ...(noCache ? { answerCache: { maxEntries: 0, maxBytes: 0, maxQueryBytes: 0 } } : {}),
    ...(noBatch ? { udpBatch: false } : {}),
  })
  process.on('SIGTERM', () => process.exit(0))
  process.stdout.write('ready\n')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-dns-profile-'))
  const ns = makeNetns('dnsp')
  try {
    const queries = join(dir, 'queries.txt')
    // every name once, in a fixed scattered order
    writeFileSync(queries, Array.from({ length: N }, (_, i) => `${name((i * 7919) % N)} A`).join('\n') + '\n')
    const profDir = arg('cpu-prof-dir', '')
    const child = ns.spawn(NODE, ['--import', 'tsx', ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), join(ROOT, 'bench/dns-profile.ts'), '--serve', '--services', String(N), ...(noCache ? ['--no-cache'] : []), ...(noBatch ? ['--no-batch'] : [])], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT })
    await new Promise((resolve, reject) => { child.stdout!.once('data', resolve); child.once('exit', reject) })
    const r = ns.try('dnsperf', ['-s', '127.0.0.1', '-p', String(PORT), '-d', queries, '-l', SECONDS, '-c', '4', '-q', '100'])
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    if (r.status !== 0) throw new Error(`dnsperf: ${r.stderr}`)
    console.log(`${N} names, answer cache ${noCache ? 'off' : 'on'}, UDP batching ${noBatch ? 'off' : 'on'}: ${/Queries per second:\s+([\d.]+)/.exec(r.stdout)?.[1]} qps, lost ${/Queries lost:\s+(\d+)/.exec(r.stdout)?.[1]}${profDir ? `; profile in ${profDir}` : ''}`)
  } finally {
    ns.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
