// IPVS programming speed in a `pontoon vm run` guest (issue 10): a cold sync of N Services x
// M endpoints through the IPVS proxy BACKEND (plan -> kube-ipvs0 VIPs, ipsets, rules,
// virtual and real servers, as `pontoon agent --proxy-mode ipvs` does it) and through the
// bare genetlink Ipvs class, against `ipvsadm -R` of the same rules; and one endpoint change
// through the backend's delta sync (an endpoint replaced: one real server out, one in) and
// as a bare weight edit, against one `ipvsadm -e` exec. Prints figures, judges nothing. Run from the host: `node --import tsx bench/ipvs-program.ts` (it boots the
// guest itself; BENCH_SERVICES=10000 BENCH_ENDPOINTS=10 BENCH_CHANGES=200 by default).
import { execFileSync, spawnSync } from 'node:child_process'
import { release } from 'node:os'
import { join } from 'node:path'
import { Ipvs } from '../src/netlink/index.ts'
import { vmDir } from '../src/vm/image.ts'
import { IpvsBackend } from '../src/proxy/ipvs/backend.ts'
import type { EndpointTarget, PlanDelta, PortIntent, ProxyPlan } from '../src/proxy/plan/intent.ts'

const N = Number(process.env.BENCH_SERVICES ?? 10000)
const M = Number(process.env.BENCH_ENDPOINTS ?? 10)
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200)

if (!process.env.PONTOON_IN_VM) {
  const mem = String(Math.max(1024, Math.ceil(N * M / 100)))
  // the backend also needs kube-ipvs0 (dummy) and the ipset types its sets use
  const modules = ['ip_vs', 'ip_vs_rr', 'dummy', 'xt_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet', 'ip_set_bitmap_port']
  const r = spawnSync('dist/bin/pontoon', ['vm', 'run', '--mem', mem, '--timeout', '1800', ...modules.flatMap((m) => ['--module', m]), '--', process.execPath, '--import', 'tsx', 'bench/ipvs-program.ts'],
    { stdio: 'inherit', env: { ...process.env, PONTOON_IN_VM: '1' } })
  process.exit(r.status ?? 1)
}

const ip = (...a: string[]) => execFileSync('/usr/bin/ip', a, { encoding: 'utf8' })
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN }
const vip = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
const ep = (i: number, j: number) => `10.${128 + (i >> 14)}.${(i >> 6) & 255}.${((i & 63) << 2) + (j & 3)}`
const epPort = (j: number) => 8000 + j

// the backend's rejects need ipt_REJECT: an image built before build-image.sh listed it has it only in the cache's module tree
try { execFileSync('modprobe', ['ipt_REJECT'], { stdio: 'ignore' }) } catch { execFileSync('modprobe', ['-d', join(vmDir(), `kroot-${release()}`), 'ipt_REJECT'], { stdio: 'ignore' }) }
for (const ns of ['bench-nl', 'bench-adm', 'bench-be']) { ip('netns', 'add', ns); ip('-n', ns, 'link', 'set', 'lo', 'up') }
const items = Array.from({ length: N }, (_, i) => ({
  service: { protocol: 'tcp' as const, address: vip(i), port: 80 },
  dests: Array.from({ length: M }, (_, j) => ({ address: ep(i, j), port: epPort(j) })),
}))

// ---- through the backend: the same Services as intents
const intent = (i: number, eps: EndpointTarget[]): PortIntent => ({
  key: `default/s${i}:http:tcp:4`, service: `default/s${i}`, portName: 'http', family: 4, protocol: 'tcp',
  clusterIP: vip(i), port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
  affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
  clusterEndpoints: eps, localEndpoints: [], hasAnyEndpoints: eps.length > 0,
})
const epsOf = (i: number): EndpointTarget[] => Array.from({ length: M }, (_, j) => ({ ip: ep(i, j), port: epPort(j), local: false }))
const plan: ProxyPlan = {
  globals: { nodeName: 'bench', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.128.0.0/9'], nodePortAddresses: [] }] },
  intents: new Map(Array.from({ length: N }, (_, i) => { const it = intent(i, epsOf(i)); return [it.key, it] as const })),
}
const backend = new IpvsBackend({ netnsPath: '/run/netns/bench-be' })
let tb = process.hrtime.bigint()
const beStats = await backend.syncAll(plan)
const coldBackend = ms(tb)
const be: number[] = []
for (let k = 0; k < CHANGES; k++) {
  const i = k % N
  const prev = plan.intents.get(`default/s${i}:http:tcp:4`)!
  // the first endpoint moves to a fresh address: one real server drained (no connections: deleted), one added
  const eps = [{ ip: `10.250.${(k >> 8) & 255}.${k & 255}`, port: epPort(0), local: false }, ...prev.clusterEndpoints.slice(1)]
  const next = intent(i, eps)
  const delta: PlanDelta = { upserted: [next], removed: [], previous: new Map([[next.key, prev]]) }
  ;(plan.intents as Map<string, PortIntent>).set(next.key, next)
  tb = process.hrtime.bigint()
  await backend.syncDelta(plan, delta)
  be.push(ms(tb))
}
backend.close()

const ipvs = await Ipvs.open('/run/netns/bench-nl')
let t0 = process.hrtime.bigint()
const errors = (await ipvs.addMany(items)).filter(Boolean)
const coldNl = ms(t0)
if (errors.length) throw new Error(`cold sync: ${errors.length} errors, first ${errors[0]!.message}`)

const rules = items.flatMap((it) => [`-A -t ${it.service.address}:80 -s rr`, ...it.dests.map((d) => `-a -t ${it.service.address}:80 -r ${d.address}:${d.port} -m -w 1`)]).join('\n') + '\n'
t0 = process.hrtime.bigint()
execFileSync('/usr/bin/ip', ['netns', 'exec', 'bench-adm', 'ipvsadm', '-R'], { input: rules })
const coldAdm = ms(t0)

const nl: number[] = []
for (let k = 0; k < CHANGES; k++) {
  const i = k % N
  t0 = process.hrtime.bigint()
  await ipvs.putDest(items[i]!.service, { address: ep(i, 0), port: epPort(0), weight: 2 + (k & 1) })
  nl.push(ms(t0))
}
const adm: number[] = []
for (let k = 0; k < Math.min(CHANGES, 50); k++) {
  const i = k % N
  t0 = process.hrtime.bigint()
  execFileSync('/usr/bin/ip', ['netns', 'exec', 'bench-adm', 'ipvsadm', '-e', '-t', `${vip(i)}:80`, '-r', `${ep(i, 0)}:${epPort(0)}`, '-m', '-w', String(2 + (k & 1))])
  adm.push(ms(t0))
}
const count = (await ipvs.services()).length
ipvs.close()

const f = (x: number) => x.toFixed(x < 10 ? 2 : 0)
console.log(`IPVS programming, ${N} services x ${M} endpoints (${N * (M + 1)} objects), in the guest (TCG, 1 vCPU); ${count} services read back; backend: ${JSON.stringify(beStats.counts)}`)
console.log('| figure | pontoon (genetlink) | ipvsadm | ratio |')
console.log('|---|---|---|---|')
console.log(`| cold sync through the backend (VIPs, sets, rules, servers), ms | ${f(coldBackend)} | ${f(coldAdm)} (-R, servers only) | ${(coldAdm / coldBackend).toFixed(2)}x faster |`)
console.log(`| cold sync, bare Ipvs.addMany, ms | ${f(coldNl)} | ${f(coldAdm)} (-R) | ${(coldAdm / coldNl).toFixed(2)}x faster |`)
console.log(`| one endpoint replaced, backend delta p50, ms | ${f(pct(be, 0.5))} | ${f(pct(adm, 0.5))} (one -e exec) | ${(pct(be, 0.5) / pct(adm, 0.5)).toFixed(3)} |`)
console.log(`| one endpoint replaced, backend delta p99, ms | ${f(pct(be, 0.99))} | ${f(pct(adm, 0.99))} | ${(pct(be, 0.99) / pct(adm, 0.99)).toFixed(3)} |`)
console.log(`| one weight edit, bare Ipvs.putDest p50, ms | ${f(pct(nl, 0.5))} | ${f(pct(adm, 0.5))} (one -e exec) | ${(pct(nl, 0.5) / pct(adm, 0.5)).toFixed(3)} |`)
console.log(`| one weight edit, bare Ipvs.putDest p99, ms | ${f(pct(nl, 0.99))} | ${f(pct(adm, 0.99))} | ${(pct(nl, 0.99) / pct(adm, 0.99)).toFixed(3)} |`)
