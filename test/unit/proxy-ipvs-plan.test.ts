// The IPVS mode's planner and diff, pure: intents built by hand over a fixed
// address plan, the desired node state as one normalised dump per feature
// (golden files in test/golden/ipvs, PONTOON_UPDATE_GOLDEN=1 rewrites them; review
// the diff), and the kernel operations the diff derives from what IPVS reports.
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import type { IpvsDest, IpvsService } from '../../src/netlink/index.ts'
import { nodePortAddresses, OUR_SET, twinName, planAll, planIntent, serverKey, setName, SET_BASES, type IpvsDesired, type IpvsPlanOptions, type VirtualServer } from '../../src/proxy/ipvs/desired.ts'
import { diffServers, isOurServer, observedKey, type ObservedServer } from '../../src/proxy/ipvs/diff.ts'
import { connReuseMode, DrainQueue, drainKey, drainVerdict } from '../../src/proxy/ipvs/drain.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'ipvs')

function golden(t: Test, name: string, text: string): void {
  const file = join(GOLDEN, `${name}.txt`)
  if (process.env.PONTOON_UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.PONTOON_UPDATE_GOLDEN !== '1') t.fail(`no golden file ${name}.txt (run with PONTOON_UPDATE_GOLDEN=1)`)
    mkdirSync(GOLDEN, { recursive: true })
    writeFileSync(file, text)
  }
  t.equal(text, readFileSync(file, 'utf8'), `golden ${name}`)
}

const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })
const A = ep('10.244.1.5', 8080, true)
const B = ep('10.244.2.5')

function intent(over: Partial<PortIntent> = {}): PortIntent {
  const base: PortIntent = {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [B, A], localEndpoints: [A], hasAnyEndpoints: true,
  }
  const i = { ...base, ...over }
  if (!('key' in over)) i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const fam4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: ['192.168.50.1'] }
const fam6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }
const OPTS: IpvsPlanOptions = { scheduler: 'rr', localAddresses: { 4: ['192.168.50.1', '10.0.0.7'], 6: ['fd00:50::1'] } }
function plan(intents: PortIntent[], g: Partial<ProxyGlobals> = {}): ProxyPlan {
  return { globals: { nodeName: 'node-1', masqueradeAll: false, families: [fam4], ...g }, intents: new Map(intents.map((i) => [i.key, i])) }
}

/** The desired state as text: servers with their reals, VIPs, non-empty sets. */
function dump(d: IpvsDesired): string {
  const lines: string[] = []
  for (const v of [...d.servers.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    lines.push(`server ${v.key} ${v.scheduler}${v.persistence ? ` persistent ${v.persistence}` : ''} (${v.frontend} of ${v.intent})`)
    for (const r of v.reals) lines.push(`  real ${r.address}:${r.port} weight ${r.weight}`)
  }
  for (const [f, s] of d.vips) lines.push(`vips IPv${f}: ${[...s].sort().join(' ')}`)
  for (const [n, s] of [...d.sets].sort()) if (s.size) lines.push(`set ${n}: ${[...s].sort().join(' ')}`)
  for (const c of d.conflicts) lines.push(`conflict ${c}`)
  return lines.join('\n') + '\n'
}
const g = (t: Test, name: string, intents: PortIntent[], gl: Partial<ProxyGlobals> = {}, o: IpvsPlanOptions = OPTS) => golden(t, name, dump(planAll(plan(intents, gl), o)))

t.test('set names are kube-proxy\'s for IPv4, KUBE6- for IPv6, all within ipset\'s 31 characters', async (t) => {
  t.equal(setName('CLUSTER-IP', 4), 'KUBE-CLUSTER-IP')
  t.equal(setName('CLUSTER-IP', 6), 'KUBE6-CLUSTER-IP')
  for (const b of SET_BASES) for (const f of [4, 6] as const) {
    t.ok(setName(b, f).length <= 31 && twinName(setName(b, f)).length <= 31, `${setName(b, f)} and its twin fit`)
    t.not(twinName(setName(b, f)), setName(b, f))
    t.ok(OUR_SET.test(setName(b, f)) && OUR_SET.test(twinName(setName(b, f))), `${setName(b, f)} and its twin are recognised as ours`)
  }
  t.notOk(OUR_SET.test('FOREIGN-SET'))
  t.notOk(OUR_SET.test('KUBE-CLUSTER-IPX'))
  t.notOk(OUR_SET.test('PONTOON-CLUSTER-IPS-4'))
  t.equal(serverKey('tcp', '10.96.0.10', 80), 'tcp/10.96.0.10:80')
  t.equal(serverKey('udp', 'fd00::a', 53), 'udp/[fd00::a]:53')
})

t.test('golden: ClusterIP with endpoints, TCP and UDP ports of one Service', async (t) => {
  g(t, 'cluster-ip', [intent(), intent({ portName: 'dns', protocol: 'udp', port: 53, clusterEndpoints: [ep('10.244.2.5', 5353)], localEndpoints: [] })])
})

t.test('golden: no endpoints is a reject member, no virtual server', async (t) => {
  g(t, 'no-endpoints', [intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, nodePort: 30080, externalIPs: ['192.0.2.1'] })])
})

t.test('golden: NodePort on the chosen addresses, and on every local address', async (t) => {
  g(t, 'node-port', [intent({ nodePort: 30080 }), intent({ service: 'default/dns', portName: '', protocol: 'udp', clusterIP: '10.96.0.11', port: 53, nodePort: 30053 })])
  g(t, 'node-port-local-addresses', [intent({ nodePort: 30080 })], { families: [{ ...fam4, nodePortAddresses: 'local' }] })
  t.same(nodePortAddresses({ ...fam4, nodePortAddresses: 'local' }, OPTS), ['192.168.50.1', '10.0.0.7'])
  t.same(nodePortAddresses(fam4, OPTS), ['192.168.50.1'])
})

t.test('golden: externalTrafficPolicy Local: external servers get the local endpoints, -LOCAL sets', async (t) => {
  g(t, 'etp-local', [intent({ externalPolicyLocal: true, nodePort: 30080, externalIPs: ['192.0.2.1'], loadBalancerIPs: ['203.0.113.1'] })])
  g(t, 'etp-local-no-local-endpoint', [intent({ externalPolicyLocal: true, nodePort: 30080, clusterEndpoints: [B], localEndpoints: [] })])
})

t.test('golden: externalIPs, LB IPs with source ranges', async (t) => {
  g(t, 'external', [intent({ externalIPs: ['192.0.2.1', '192.0.2.2'], loadBalancerIPs: ['203.0.113.1'], loadBalancerSourceRanges: ['198.51.100.0/24', '10.0.0.0/8'] })])
})

t.test('golden: affinity is persistence with its timeout; the scheduler flag', async (t) => {
  g(t, 'affinity-sh', [intent({ affinityTimeoutSeconds: 10800 })], {}, { ...OPTS, scheduler: 'sh' })
})

t.test('golden: internalTrafficPolicy Local', async (t) => {
  g(t, 'itp-local', [intent({ internalPolicyLocal: true, nodePort: 30080 }), intent({ service: 'default/none', clusterIP: '10.96.0.12', internalPolicyLocal: true, clusterEndpoints: [B], localEndpoints: [] })])
})

t.test('golden: dual-stack, one code path', async (t) => {
  const v6 = intent({ family: 6, clusterIP: 'fd00:10:96::a', nodePort: 30080, clusterEndpoints: [ep('fd00:10:244:1::5', 8080, true)], localEndpoints: [ep('fd00:10:244:1::5', 8080, true)] })
  g(t, 'dual-stack', [intent({ nodePort: 30080 }), v6], { families: [fam4, fam6] })
})

t.test('golden: two Services claiming one externalIP:port: the first keeps it', async (t) => {
  g(t, 'conflict', [intent({ externalIPs: ['192.0.2.1'] }), intent({ service: 'default/other', clusterIP: '10.96.0.20', externalIPs: ['192.0.2.1'] })])
})

t.test('shared parts: a VIP and the loop-back member are listed once', async (t) => {
  const s = planIntent(intent({ clusterEndpoints: [A, A], externalIPs: ['10.96.0.10'] }), fam4, OPTS)
  t.same(s.vips, ['10.96.0.10'])
  t.equal(s.members.filter((m) => m.startsWith('KUBE-LOOP-BACK ')).length, 1)
  t.equal(new Set(s.members).size, s.members.length)
  t.same(s.servers[0]!.reals.map((r) => `${r.address}:${r.port}`), ['10.244.1.5:8080', '10.244.1.5:8080'], 'one real per endpoint, the kernel refuses the duplicate as EEXIST')
  const sorted = planIntent(intent({ clusterEndpoints: [ep('10.244.1.5', 9090), ep('10.244.1.5', 8080), ep('10.244.0.9', 9999)] }), fam4, OPTS)
  t.same(sorted.servers[0]!.reals.map((r) => `${r.address}:${r.port}`), ['10.244.0.9:9999', '10.244.1.5:8080', '10.244.1.5:9090'], 'sorted by address, then port')
})

t.test('every set of every family exists, empty or not', async (t) => {
  const d = planAll(plan([], { families: [fam4, fam6] }), OPTS)
  t.equal(d.sets.size, SET_BASES.length * 2)
  t.ok([...d.sets.values()].every((s) => s.size === 0))
  t.same([...d.vips.keys()], [4, 6])
})

t.test('bad input: refused with a code before anything is planned', async (t) => {
  t.throws(() => planIntent(intent({ clusterIP: '10.96.0.300' }), fam4, OPTS), { code: 'IPT_BAD_INTENT' })
  t.throws(() => planIntent(intent({ family: 6, clusterIP: 'fd00::1', clusterEndpoints: [], localEndpoints: [] }), fam4, OPTS), { name: 'IpvsPlanError' })
  t.throws(() => planIntent(intent({ family: 6, clusterIP: 'fd00::1', clusterEndpoints: [], localEndpoints: [] }), fam4, OPTS), { code: 'IPVS_BAD_PLAN', message: /IPv6 intent planned with the IPv4 globals/ })
  t.throws(() => planAll(plan([intent({ family: 6, clusterIP: 'fd00::1', clusterEndpoints: [], localEndpoints: [] })]), OPTS), { code: 'IPVS_BAD_PLAN', message: /runs no IPv6/ })
  t.throws(() => planAll(plan([], { families: [{ ...fam4, clusterCIDRs: ['10.0.0.0/33'] }] }), OPTS), { code: 'IPT_BAD_INTENT' })
})

// ---------------------------------------------------------------- diff

const svc = (over: Partial<IpvsService> = {}): IpvsService => ({ protocol: 'tcp', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, ...over })
const dest = (address: string, over: Partial<IpvsDest> = {}): IpvsDest => ({ address, port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistConns: 0, ...over })
const desiredOf = (...is: PortIntent[]) => planAll(plan(is), OPTS).servers
const obs = (service: IpvsService, dests: IpvsDest[]): Map<string, ObservedServer> => new Map([[observedKey(service), { service, dests }]])
const show = (d: ReturnType<typeof diffServers>) => d.ops.map((o) => {
  const base = `${o.kind} ${observedKey(o.server)}`
  if (o.kind === 'add-dest' || o.kind === 'set-dest') return `${base} ${o.real.address}:${o.real.port} w${o.real.weight}`
  if (o.kind === 'del-dest') return `${base} ${o.real.address}:${o.real.port}`
  if (o.kind === 'add-service' || o.kind === 'set-service') return `${base} ${o.server.scheduler} p${o.server.persistence}`
  return base
})

t.test('diff: a new server is created before its reals', async (t) => {
  const d = diffServers(desiredOf(intent()), new Map())
  t.same(show(d), ['add-service tcp/10.96.0.10:80 rr p0', 'add-dest tcp/10.96.0.10:80 10.244.1.5:8080 w1', 'add-dest tcp/10.96.0.10:80 10.244.2.5:8080 w1'])
  t.same(d.drains, [])
  t.same(d.restored.map((r) => r.address), ['10.244.1.5', '10.244.2.5'])
})

t.test('diff: what the kernel already has costs nothing', async (t) => {
  const d = diffServers(desiredOf(intent()), obs(svc(), [dest('10.244.2.5'), dest('10.244.1.5')]))
  t.same(d.ops, [])
  t.same(d.drains, [])
})

t.test('diff: scheduler and persistence changes edit the service in place', async (t) => {
  t.same(show(diffServers(desiredOf(intent()), obs(svc({ scheduler: 'wrr' }), [dest('10.244.2.5'), dest('10.244.1.5')]))), ['set-service tcp/10.96.0.10:80 rr p0'])
  t.same(show(diffServers(desiredOf(intent({ affinityTimeoutSeconds: 60 })), obs(svc(), [dest('10.244.2.5'), dest('10.244.1.5')]))), ['set-service tcp/10.96.0.10:80 rr p60'])
  t.same(show(diffServers(desiredOf(intent({ affinityTimeoutSeconds: 60 })), obs(svc({ flags: 1, timeout: 30 }), [dest('10.244.2.5'), dest('10.244.1.5')]))), ['set-service tcp/10.96.0.10:80 rr p60'])
  t.same(diffServers(desiredOf(intent({ affinityTimeoutSeconds: 60 })), obs(svc({ flags: 1, timeout: 60 }), [dest('10.244.2.5'), dest('10.244.1.5')])).ops, [])
  t.same(show(diffServers(desiredOf(intent()), obs(svc({ flags: 1, timeout: 60 }), [dest('10.244.2.5'), dest('10.244.1.5')]))), ['set-service tcp/10.96.0.10:80 rr p0'])
})

t.test('diff: a real server with another weight or method is set; a missing one added', async (t) => {
  t.same(show(diffServers(desiredOf(intent()), obs(svc(), [dest('10.244.2.5', { weight: 0 }), dest('10.244.1.5', { forward: 'route' })]))), [
    'set-dest tcp/10.96.0.10:80 10.244.1.5:8080 w1', 'set-dest tcp/10.96.0.10:80 10.244.2.5:8080 w1',
  ])
  t.same(show(diffServers(desiredOf(intent()), obs(svc(), [dest('10.244.2.5')]))), ['add-dest tcp/10.96.0.10:80 10.244.1.5:8080 w1'])
})

t.test('diff: a TCP real server that left the plan drains: weight 0, queued, not deleted', async (t) => {
  const d = diffServers(desiredOf(intent({ clusterEndpoints: [A] })), obs(svc(), [dest('10.244.1.5'), dest('10.244.2.5', { activeConns: 1 })]))
  t.same(show(d), ['set-dest tcp/10.96.0.10:80 10.244.2.5:8080 w0'])
  t.same(d.drains, [{ server: { protocol: 'tcp', address: '10.96.0.10', port: 80 }, address: '10.244.2.5', port: 8080 }])
  const inactive = diffServers(desiredOf(intent({ clusterEndpoints: [A] })), obs(svc(), [dest('10.244.1.5'), dest('10.244.2.5', { inactiveConns: 1 })]))
  t.same(show(inactive), ['set-dest tcp/10.96.0.10:80 10.244.2.5:8080 w0'], 'inactive (closing) connections count too')
  const already = diffServers(desiredOf(intent({ clusterEndpoints: [A] })), obs(svc(), [dest('10.244.1.5'), dest('10.244.2.5', { weight: 0, activeConns: 3 })]))
  t.same(already.ops, [], 'already at weight 0: nothing to send')
  t.equal(already.drains.length, 1, 'but still queued')
})

t.test('diff: without connections, or for UDP, a real server goes at once', async (t) => {
  t.same(show(diffServers(desiredOf(intent({ clusterEndpoints: [A] })), obs(svc(), [dest('10.244.1.5'), dest('10.244.2.5')]))), ['del-dest tcp/10.96.0.10:80 10.244.2.5:8080'])
  const udp = intent({ protocol: 'udp', clusterEndpoints: [A] })
  const d = diffServers(desiredOf(udp), obs(svc({ protocol: 'udp' }), [dest('10.244.1.5'), dest('10.244.2.5', { activeConns: 4, inactiveConns: 2 })]))
  t.same(show(d), ['del-dest udp/10.96.0.10:80 10.244.2.5:8080'])
  t.same(d.drains, [])
})

t.test('diff: an observed server the plan no longer has is deleted whole', async (t) => {
  t.same(show(diffServers(new Map<string, VirtualServer>(), obs(svc(), [dest('10.244.1.5', { activeConns: 2 })]))), ['del-service tcp/10.96.0.10:80'])
})

t.test('ownership: VIPs on kube-ipvs0 and our NodePorts; everything else is foreign', async (t) => {
  const vips = new Set(['10.96.0.10'])
  const ports = new Set(['tcp:30080'])
  t.ok(isOurServer(svc(), vips, ports))
  t.ok(isOurServer(svc({ address: '192.168.50.1', port: 30080 }), vips, ports))
  t.notOk(isOurServer(svc({ address: '192.168.50.1', port: 30080, protocol: 'udp' }), vips, ports))
  t.notOk(isOurServer(svc({ address: '198.51.100.50' }), vips, ports))
})

// ---------------------------------------------------------------- drain queue

t.test('drain verdicts', async (t) => {
  t.equal(drainVerdict(undefined, 0, 10), 'forget', 'gone already')
  t.equal(drainVerdict({ weight: 1, activeConns: 5, inactiveConns: 0 }, 0, 10), 'forget', 'wanted again')
  t.equal(drainVerdict({ weight: 0, activeConns: 0, inactiveConns: 0 }, 0, 10), 'delete', 'no connections left')
  t.equal(drainVerdict({ weight: 0, activeConns: 1, inactiveConns: 0 }, 10, 10), 'delete', 'deadline reached')
  t.equal(drainVerdict({ weight: 0, activeConns: 0, inactiveConns: 1 }, 9, 10), 'wait')
  t.equal(drainVerdict({ weight: 0, activeConns: 1, inactiveConns: 0 }, 9, 10), 'wait')
})

t.test('the drain queue is bounded and keeps the first deadline', async (t) => {
  const q = new DrainQueue(2, 1000)
  const d = (address: string) => ({ server: { protocol: 'tcp' as const, address: '10.96.0.10', port: 80 }, address, port: 8080 })
  t.ok(q.add(d('10.0.0.1'), 0))
  t.ok(q.add(d('10.0.0.1'), 500), 'again: still pending')
  t.equal(q.entries()[0]!.deadline, 1000, 'with its first deadline')
  t.ok(q.add(d('10.0.0.2'), 0))
  t.notOk(q.add(d('10.0.0.3'), 0), 'full: refused, the caller deletes at once')
  t.equal(q.size, 2)
  q.forget(d('10.0.0.1'))
  t.equal(q.size, 1)
  t.equal(drainKey(d('10.0.0.2')), 'tcp/10.96.0.10:80 10.0.0.2|8080')
  q.clear()
  t.equal(q.size, 0)
})

t.test('conn_reuse_mode: 0 only before 5.9, as kube-proxy', async (t) => {
  t.equal(connReuseMode('4.19.0-21-amd64'), 0)
  t.equal(connReuseMode('5.8.18'), 0)
  t.equal(connReuseMode('5.9.0'), null)
  t.equal(connReuseMode('6.1.0-26-amd64'), null)
  t.equal(connReuseMode('garbage'), null)
})
