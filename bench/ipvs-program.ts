// IPVS programming speed in a `pontoon vm run` guest (issue 10): a cold sync of N Services x
// M endpoints through the project's genetlink Ipvs against `ipvsadm -R` of the same rules,
// and one endpoint change (a weight edit) against one `ipvsadm -e` exec. Prints figures,
// judges nothing. Run from the host: `node --import tsx bench/ipvs-program.ts` (it boots the
// guest itself; BENCH_SERVICES=10000 BENCH_ENDPOINTS=10 BENCH_CHANGES=200 by default).
import { execFileSync, spawnSync } from 'node:child_process'
import { Ipvs } from '../src/netlink/index.ts'

const N = Number(process.env.BENCH_SERVICES ?? 10000)
const M = Number(process.env.BENCH_ENDPOINTS ?? 10)
const CHANGES = Number(process.env.BENCH_CHANGES ?? 200)

if (!process.env.PONTOON_IN_VM) {
  const mem = String(Math.max(1024, Math.ceil(N * M / 100)))
  const r = spawnSync('dist/bin/pontoon', ['vm', 'run', '--mem', mem, '--timeout', '1800', '--', process.execPath, '--import', 'tsx', 'bench/ipvs-program.ts'],
    { stdio: 'inherit', env: { ...process.env, PONTOON_IN_VM: '1' } })
  process.exit(r.status ?? 1)
}

const ip = (...a: string[]) => execFileSync('/usr/bin/ip', a, { encoding: 'utf8' })
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN }
const vip = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
const ep = (i: number, j: number) => `10.${128 + (i >> 14)}.${(i >> 6) & 255}.${((i & 63) << 2) + (j & 3)}`
const epPort = (j: number) => 8000 + j

for (const ns of ['bench-nl', 'bench-adm']) { ip('netns', 'add', ns); ip('-n', ns, 'link', 'set', 'lo', 'up') }
const items = Array.from({ length: N }, (_, i) => ({
  service: { protocol: 'tcp' as const, address: vip(i), port: 80 },
  dests: Array.from({ length: M }, (_, j) => ({ address: ep(i, j), port: epPort(j) })),
}))

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
console.log(`IPVS programming, ${N} services x ${M} endpoints (${N * (M + 1)} objects), in the guest (TCG, 1 vCPU); ${count} services read back`)
console.log('| figure | pontoon (genetlink) | ipvsadm | ratio |')
console.log('|---|---|---|---|')
console.log(`| cold sync, ms | ${f(coldNl)} | ${f(coldAdm)} (-R) | ${(coldAdm / coldNl).toFixed(2)}x faster |`)
console.log(`| one endpoint change p50, ms | ${f(pct(nl, 0.5))} | ${f(pct(adm, 0.5))} (one -e exec) | ${(pct(nl, 0.5) / pct(adm, 0.5)).toFixed(3)} |`)
console.log(`| one endpoint change p99, ms | ${f(pct(nl, 0.99))} | ${f(pct(adm, 0.99))} | ${(pct(nl, 0.99) / pct(adm, 0.99)).toFixed(3)} |`)
