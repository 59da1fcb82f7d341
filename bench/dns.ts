// Cluster DNS speed: dnsperf against `pontoon dns` serving N Services and
// against dnsmasq (the anchor) serving the same N names from a hosts file, in
// the same run, both on loopback inside a network namespace made here (named
// with the run prefix, removed at the end). Prints, per server:
//   - qps: dnsperf with no rate limit (-c 4 -q 100) for --seconds,
//   - p50 / p99 latency at a fixed rate (--rate qps, dnsperf -v per query),
//   - memory: RSS of the server once it serves N names, minus its RSS idle (0 names).
// Figures only, no thresholds. Needs root, a fresh `npm run build`, dnsperf and dnsmasq-base.
// Run: node --import tsx bench/dns.ts [--services 10000] [--seconds 10] [--rate 2000]
// Small proof run: node --import tsx bench/dns.ts --services 200 --seconds 2 --rate 500
import './lib/shipped-node.ts'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { arg, ROOT } from './lib/shipped-node.ts'
import { makeNetns } from '../test/lib/netns.ts'
import { call, endpointOf } from '../test/fixtures/api/harness.ts'
import { waitFor } from '../test/lib/wait.ts'

const N = Number(arg('services', '10000'))
const SECONDS = Number(arg('seconds', '10'))
const RATE = Number(arg('rate', '2000'))
const PONTOON = join(ROOT, 'dist/bin/pontoon')
if (!existsSync(PONTOON)) throw new Error(`${PONTOON} is missing: run npm run build first`)
for (const tool of ['dnsperf', 'dnsmasq', 'dig']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing (scripts/setup.sh installs it)`)

const dir = mkdtempSync(join(tmpdir(), 'pontoon-dns-bench-'))
const ns = makeNetns('dnsb')
const children: ChildProcess[] = []
process.on('exit', (code) => {
  if (code !== 0) for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) console.error(`--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-2000)}`)
  for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
  ns.destroy()
  rmSync(dir, { recursive: true, force: true })
})
process.on('SIGINT', () => process.exit(130))
ns.run('ip', ['link', 'set', 'lo', 'up'])

const PONTOON_PORT = 5300
const DNSMASQ_PORT = 5301
const name = (i: number) => `svc-${i}.default.svc.cluster.local`

/** RSS in kB of a process and its descendants. */
function treeRss(pid: number): number {
  let kb = 0
  try { kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) } catch { return 0 }
  let kids: string[] = []
  try { kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean) } catch { /* none */ }
  return kb + kids.reduce((s, k) => s + treeRss(Number(k)), 0)
}
const settledRss = async (pid: number) => {
  // the lowest of a few samples a little apart: between GCs, not in one
  let low = Infinity
  for (let i = 0; i < 5; i++) { low = Math.min(low, treeRss(pid)); await new Promise((r) => setTimeout(r, 300)) }
  return low
}
const digIn = (port: number, q: string) => ns.try('dig', ['@127.0.0.1', '-p', String(port), '+short', '+time=1', '+tries=1', q]).stdout.trim()

function start(cmd: string, args: string[]): ChildProcess {
  // output to a file: a pipe nobody reads would stall the server
  const log = openSync(join(dir, `${cmd.split('/').at(-1)}-${children.length}.log`), 'a')
  const c = ns.spawn(cmd, args, { stdio: ['ignore', log, log] })
  children.push(c)
  return c
}

// the API: kubectl's listener on the root loopback (the bench creates Services there), the DNS server's inside the namespace
const apiDir = join(dir, 'api')
const apiPort = 20000 + (process.pid % 20000)
const api = spawn(PONTOON, ['api', '--data-dir', apiDir, '--listen', `127.0.0.1:${apiPort}`, '--listen', `127.0.0.1:6443@${ns.path}`, '--service-cidr', '10.96.0.0/16'], { stdio: 'ignore' })
children.push(api)
await waitFor('pontoon api', () => existsSync(join(apiDir, 'kubeconfig')), { timeoutMs: 60_000 })
const ep = endpointOf(join(apiDir, 'kubeconfig'))
// the same credentials for the listener inside the namespace (same address, so the serving certificate fits)
const nsKubeconfig = join(dir, 'kubeconfig-netns')
writeFileSync(nsKubeconfig, readFileSync(join(apiDir, 'kubeconfig'), 'utf8').replace(`https://127.0.0.1:${apiPort}`, 'https://127.0.0.1:6443'))
await waitFor('the API to answer', async () => (await call(ep, 'GET', '/readyz')).status === 200, { timeoutMs: 60_000 })

const dns = start(PONTOON, ['dns', '--kubeconfig', nsKubeconfig, '--listen', `127.0.0.1:${PONTOON_PORT}`, '--metrics-bind-address', '127.0.0.1:0'])
await waitFor('pontoon dns', () => ns.try('dig', ['@127.0.0.1', '-p', String(PONTOON_PORT), '+short', '+time=1', '+tries=1', 'dns-version.cluster.local', 'TXT']).stdout.includes('1.1.0'), { timeoutMs: 60_000 })
const pontoonIdle = await settledRss(dns.pid!)

console.log(`creating ${N} Services...`)
const ips: string[] = []
let next = 0
await Promise.all(Array.from({ length: 16 }, async () => {
  for (let i = next++; i < N; i = next++) {
    const r = await call(ep, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` }, spec: { ports: [{ port: 80 }] } })
    if (r.status !== 201) throw new Error(`create svc-${i}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
    ips[i] = r.body.spec.clusterIP
  }
}))
await waitFor('pontoon dns to serve the last Service', () => digIn(PONTOON_PORT, name(N - 1)) === ips[N - 1], { timeoutMs: 120_000 })
const pontoonFull = await settledRss(dns.pid!)

// dnsmasq: idle with an empty hosts file, then the same names from one (a fresh process: it reads the file at start)
const emptyHosts = join(dir, 'empty.hosts')
const hosts = join(dir, 'services.hosts')
writeFileSync(emptyHosts, '')
writeFileSync(hosts, ips.map((ip, i) => `${ip} ${name(i)}`).join('\n') + '\n')
const dnsmasqArgs = (file: string) => ['--keep-in-foreground', '--no-resolv', '--no-hosts', `--addn-hosts=${file}`, '--bind-interfaces', '--listen-address=127.0.0.1', `--port=${DNSMASQ_PORT}`, '--local-ttl=5', '--cache-size=0', `--pid-file=`, '--user=root']
let masq = start('dnsmasq', dnsmasqArgs(emptyHosts))
await waitFor('dnsmasq (idle)', () => ns.try('dig', ['@127.0.0.1', '-p', String(DNSMASQ_PORT), '+time=1', '+tries=1', 'none.example']).status === 0, { timeoutMs: 20_000 })
const masqIdle = await settledRss(masq.pid!)
masq.kill('SIGTERM')
await new Promise((r) => masq.once('exit', r))
masq = start('dnsmasq', dnsmasqArgs(hosts))
await waitFor('dnsmasq to serve the last name', () => digIn(DNSMASQ_PORT, name(N - 1)) === ips[N - 1], { timeoutMs: 20_000 })
const masqFull = await settledRss(masq.pid!)

// one query file, every name once in a shuffled order (a deterministic shuffle: runs compare)
const order = Array.from({ length: N }, (_, i) => i)
for (let i = N - 1, s = 42; i > 0; i--) { s = (s * 1103515245 + 12345) & 0x7fffffff; const j = s % (i + 1); [order[i], order[j]] = [order[j]!, order[i]!] }
const queries = join(dir, 'queries.txt')
writeFileSync(queries, order.map((i) => `${name(i)} A`).join('\n') + '\n')

function dnsperf(port: number, extra: string[]): string {
  const r = ns.try('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', queries, '-l', String(SECONDS), ...extra])
  if (r.status !== 0) throw new Error(`dnsperf: ${r.stderr}`)
  return r.stdout
}
const num = (out: string, re: RegExp) => Number(re.exec(out)?.[1] ?? NaN)
function measure(port: number) {
  const max = dnsperf(port, ['-c', '4', '-q', '100'])
  const paced = dnsperf(port, ['-Q', String(RATE), '-v'])
  // verbose lines: "> NOERROR <name> A <latency seconds>"
  const lat = paced.split('\n').filter((l) => l.startsWith('> ')).map((l) => Number(l.trim().split(/\s+/).at(-1))).filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  const pct = (p: number) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! * 1000 : NaN
  return { qps: num(max, /Queries per second:\s+([\d.]+)/), lost: num(max, /Queries lost:\s+(\d+)/), completed: lat.length, p50: pct(0.5), p99: pct(0.99) }
}
const pontoonRun = measure(PONTOON_PORT)
const masqRun = measure(DNSMASQ_PORT)

const mb = (kb: number) => (kb / 1024).toFixed(1)
const row = (who: string, r: ReturnType<typeof measure>, idle: number, full: number) =>
  `${who.padEnd(14)} ${r.qps.toFixed(0).padStart(8)} ${String(r.lost).padStart(6)} ${r.p50.toFixed(3).padStart(8)} ${r.p99.toFixed(3).padStart(8)} ${String(r.completed).padStart(8)} ${mb(idle).padStart(8)} ${mb(full).padStart(8)} ${mb(full - idle).padStart(8)}`
console.log(`\n${N} names, dnsperf ${SECONDS} s unlimited (-c 4 -q 100) for qps, then ${SECONDS} s at ${RATE} qps for latency; loopback in ${ns.name}`)
console.log(`${'server'.padEnd(14)} ${'qps'.padStart(8)} ${'lost'.padStart(6)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'paced n'.padStart(8)} ${'idle MB'.padStart(8)} ${'full MB'.padStart(8)} ${'+MB'.padStart(8)}`)
console.log(row('pontoon dns', pontoonRun, pontoonIdle, pontoonFull))
console.log(row('dnsmasq', masqRun, masqIdle, masqFull))
console.log(`\nqps pontoon/dnsmasq: ${(pontoonRun.qps / masqRun.qps).toFixed(2)}; targets (issue 12): qps >= the anchor's, p99 <= 1 ms, +MB <= 60`)
process.exit(0)
