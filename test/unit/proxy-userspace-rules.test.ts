// The userspace mode's iptables renderer, one feature per golden file (whole
// restore dumps, so any change shows as a diff), its refusals, the dump
// readers its full sync and cleanup use, and decide.ts (route.ts for one
// client of a proxy socket). PONTOON_UPDATE_GOLDEN=1 rewrites the files.
import t, { type Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { builtinJumps, chainTail, observeBuiltinJumps, proxiedPlan, renderAll, renderCleanup, renderIntent, UserspaceRenderError, type ProxyPorts } from '../../src/proxy/userspace/rules.ts'
import { decide } from '../../src/proxy/userspace/decide.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'userspace')

function golden(t: Test, name: string, text: string): void {
  const file = join(GOLDEN, `${name}.txt`)
  if (process.env.PONTOON_UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.PONTOON_UPDATE_GOLDEN !== '1') t.fail(`no golden file ${name}.txt (run with PONTOON_UPDATE_GOLDEN=1)`)
    writeFileSync(file, text)
  }
  t.equal(text, readFileSync(file, 'utf8'), `golden ${name}`)
}

const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })
const A = ep('10.244.1.5', 8080, true)
const B = ep('10.244.2.5')

function intent(over: Partial<PortIntent> = {}): PortIntent {
  const base: PortIntent = {
    key: '', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [A, B], localEndpoints: [A], hasAnyEndpoints: true,
  }
  const i = { ...base, ...over }
  if (!('key' in over)) i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const fg4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }
const fg6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/48'], nodePortAddresses: 'local' }

function plan(intents: PortIntent[], families: FamilyGlobals[] = [fg4]): ProxyPlan {
  return { globals: { nodeName: 'node-a', masqueradeAll: false, families }, intents: new Map(intents.map((i) => [i.key, i])) }
}

function portsFor(intents: PortIntent[]): Map<string, ProxyPorts> {
  return new Map(intents.map((i, n) => [i.key, { internal: 40000 + 2 * n, external: i.nodePort !== null || i.externalIPs.length || i.loadBalancerIPs.length ? 40001 + 2 * n : null }]))
}

const render = (intents: PortIntent[], families: FamilyGlobals[] = [fg4], relink: Parameters<typeof renderAll>[2] = null) =>
  renderAll(plan(intents, families), portsFor(intents), relink).map((r) => r.text).join('')

t.test('golden: a clusterIP, TCP and UDP', async (t) => {
  golden(t, 'cluster-ip', render([intent(), intent({ portName: 'dns', protocol: 'udp', port: 53 })]))
})

t.test('golden: NodePort on local addresses and on a CIDR list', async (t) => {
  golden(t, 'node-port-local', render([intent({ nodePort: 30080 })]))
  golden(t, 'node-port-cidrs', render([intent({ nodePort: 30080 })], [{ ...fg4, nodePortAddresses: ['192.168.50.0/24', '192.168.60.1'] }]))
})

t.test('golden: externalIPs and LB IPs, with and without source ranges', async (t) => {
  golden(t, 'external', render([
    intent({ externalIPs: ['192.0.2.1', '192.0.2.2'] }),
    intent({ service: 'default/lb', loadBalancerIPs: ['203.0.113.1'], loadBalancerSourceRanges: ['198.51.100.0/24', '203.0.113.128/25'] }),
    intent({ service: 'default/lb-open', loadBalancerIPs: ['203.0.113.2'] }),
  ]))
})

t.test('golden: no endpoints anywhere are refused in filter; no local endpoint still reaches the proxy', async (t) => {
  golden(t, 'no-endpoints', render([
    intent({ service: 'default/empty', nodePort: 30081, externalIPs: ['192.0.2.3'], loadBalancerIPs: ['203.0.113.3'], clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }),
    intent({ service: 'default/empty-udp', protocol: 'udp', port: 53, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }),
    intent({ service: 'default/elsewhere', nodePort: 30082, externalPolicyLocal: true, clusterEndpoints: [B], localEndpoints: [] }),
  ]))
  golden(t, 'no-endpoints-cidrs', render([
    intent({ service: 'default/empty', nodePort: 30081, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }),
  ], [{ ...fg4, nodePortAddresses: ['192.168.50.1'] }]))
})

t.test('golden: IPv6 and dual-stack, intents sorted by key', async (t) => {
  const v6 = intent({ family: 6, clusterIP: 'fd00:10:96::a', nodePort: 30080, clusterEndpoints: [ep('fd00:10:244:1::5')], localEndpoints: [] })
  golden(t, 'dual-stack', render([intent({ service: 'default/zeta' }), v6, intent({ service: 'default/alpha' })], [fg4, fg6]))
})

t.test('golden: a full sync relinks the jumps it found', async (t) => {
  const old = '-A PREROUTING -m comment --comment "pontoon-userspace handle ClusterIPs" -j KUBE-PORTALS-CONTAINER'
  golden(t, 'relink', render([intent()], [fg4], new Map([[4, { nat: [old], filter: [] }]])))
  t.match(render([intent()], [fg4], new Map()), /-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/, 'relink with nothing observed: the jumps are written')
  t.notMatch(render([intent()]), /PREROUTING|INPUT/, 'a delta writes only our own chains')
})

t.test('counts and refusals', async (t) => {
  const r = renderAll(plan([intent({ nodePort: 30080 })]), portsFor([intent({ nodePort: 30080 })]), null)
  t.equal(r.length, 1)
  t.equal(r[0]!.family, 4)
  t.equal(r[0]!.rules, 4, 'clusterIP and NodePort, each from the container and host side')
  t.throws(() => renderIntent(intent(), fg4, undefined), { code: 'USERSPACE_RENDER', message: /no proxy port/ })
  t.throws(() => renderIntent(intent({ nodePort: 30080 }), fg4, { internal: 1, external: null }), { code: 'USERSPACE_RENDER', message: /no external proxy port/ })
  t.throws(() => renderIntent(intent(), fg6, { internal: 1, external: null }), UserspaceRenderError)
  t.throws(() => renderIntent(intent(), fg6, { internal: 1, external: null }), { message: /family 4 rendered with the globals of family 6/ })
  t.doesNotThrow(() => renderIntent(intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), fg4, undefined), 'nothing to redirect: no port needed')
  t.throws(() => renderIntent(intent({ clusterIP: 'nonsense' }), fg4, { internal: 1, external: null }), 'a bad address is refused by the shared validation')
  t.throws(() => renderAll(plan([intent()], [{ ...fg4, clusterCIDRs: ['bogus'] }]), portsFor([intent()]), null), 'bad globals are refused')
  const e = new UserspaceRenderError('k', 'why')
  t.equal(e.name, 'UserspaceRenderError')
  t.equal(e.intentKey, 'k')
  t.equal(e.message, 'k: why')
})

t.test('the fixed rules: jumps and the canary tails', async (t) => {
  const j = builtinJumps()
  t.same(j.nat.map((r) => r.chain), ['PREROUTING', 'PREROUTING', 'OUTPUT', 'OUTPUT'])
  t.same(j.filter.map((r) => r.chain), ['INPUT', 'FORWARD', 'OUTPUT'])
  t.same(chainTail('KUBE-PORTALS-HOST'), { chain: 'KUBE-PORTALS-HOST', spec: ['-m', 'comment', '--comment', 'pontoon-userspace end', '-j', 'RETURN'] })
})

const SAVE = `# Generated by iptables-save
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-PORTALS-CONTAINER - [0:0]
:KUBE-PORTALS-HOST - [0:0]
:KUBE-NODEPORT-HOST - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "pontoon-userspace handle ClusterIPs" -j KUBE-PORTALS-CONTAINER
-A PREROUTING -s 198.51.100.0/24 -j RETURN
-A PREROUTING -m comment --comment "pontoon kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "pontoon-userspace handle ClusterIPs" -j KUBE-PORTALS-HOST
-A OUTPUT -j KUBE-NODEPORT-HOST
-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m comment --comment "pontoon-userspace default/web:http cluster IP" -m tcp --dport 80 -j REDIRECT --to-ports 40000
-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p tcp -m comment --comment "pontoon-userspace default/web:http cluster IP" -m tcp --dport 80 -j REDIRECT --to-ports 40000
-A KUBE-PORTALS-HOST -d 10.96.0.11/32 -p tcp -j ACCEPT
-A KUBE-NODEPORT-HOST -m comment --comment pontoon-userspace -j RETURN
COMMIT
`

t.test('reading a dump: our jumps in the built-in chains, nothing else', async (t) => {
  t.same(observeBuiltinJumps(SAVE.split('*nat')[1]!.replace(/^/, '*nat')), [
    '-A PREROUTING -m comment --comment "pontoon-userspace handle ClusterIPs" -j KUBE-PORTALS-CONTAINER',
    '-A OUTPUT -m comment --comment "pontoon-userspace handle ClusterIPs" -j KUBE-PORTALS-HOST',
  ], 'not the iptables mode\'s "pontoon" jump, not our rules in our own chains')
  t.same(observeBuiltinJumps(''), [])
})

t.test('cleanup: our rules and chains go, foreign ones and chains others use stay', async (t) => {
  golden(t, 'cleanup', renderCleanup('nat', SAVE))
  const text = renderCleanup('nat', SAVE)
  t.match(text, /-X KUBE-PORTALS-CONTAINER/, 'an all-ours chain only we jump to is deleted')
  t.notMatch(text, /-X KUBE-PORTALS-HOST/, 'a chain with a foreign rule stays')
  t.notMatch(text, /-X KUBE-NODEPORT-HOST/, 'a chain a foreign rule jumps to stays')
  t.notMatch(text, /KUBE-SERVICES|198\.51\.100/, 'the iptables mode\'s rules and foreign ones are not touched')
  t.equal(renderCleanup('nat', '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j RETURN\nCOMMIT\n'), '', 'nothing of ours: nothing to do')
  t.equal(renderCleanup('filter', '*filter\n:KUBE-USERSPACE-REJECT - [0:0]\nCOMMIT\n'), '*filter\n:KUBE-USERSPACE-REJECT - [0:0]\n-X KUBE-USERSPACE-REJECT\nCOMMIT\n', 'an empty chain of ours is deleted')
  t.equal(renderCleanup('filter', '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "pontoon-userspace x" -j KUBE-USERSPACE-REJECT\nCOMMIT\n'), '*filter\n-D INPUT -m comment --comment "pontoon-userspace x" -j KUBE-USERSPACE-REJECT\nCOMMIT\n', 'a lone jump is deleted')
  t.equal(renderCleanup('nat', '*nat\n:KUBE-OTHER - [0:0]\n-A KUBE-OTHER -j RETURN\nCOMMIT\n'), '', 'a chain of a name not ours is left')
})

t.test('decide: route.ts for one client of a proxy socket', async (t) => {
  const local = intent({ nodePort: 30080, externalPolicyLocal: true })
  const eps = (d: ReturnType<typeof decide>) => (d.verdict === 'endpoints' ? d.endpoints.map((e) => e.ip).join(',') : d.verdict)
  t.equal(eps(decide(intent(), 'internal', fg4, false, '10.244.1.9')), '10.244.1.5,10.244.2.5', 'clusterIP: every endpoint')
  t.equal(eps(decide(local, 'external', fg4, false, '192.168.50.2')), '10.244.1.5', 'eTP Local from outside: the local endpoint only')
  t.equal(eps(decide(local, 'external', fg4, false, '10.244.3.3')), '10.244.1.5,10.244.2.5', 'a pod short-circuits eTP Local')
  t.equal(eps(decide(local, 'external', fg4, false, '127.0.0.1')), '10.244.1.5,10.244.2.5', 'the node itself too')
  t.equal(eps(decide(local, 'internal', fg4, false, '192.168.50.2')), '10.244.1.5,10.244.2.5', 'the same intent\'s clusterIP socket: every endpoint (eTP is for external traffic)')
  t.equal(eps(decide(local, 'external', { ...fg4, clusterCIDRs: ['10.250.0.0/16', '10.244.0.0/16'] }, false, '10.244.3.3')), '10.244.1.5,10.244.2.5', 'a pod inside any one of several cluster CIDRs')
  t.equal(eps(decide(local, 'external', fg4, false, 'garbage')), '10.244.1.5', 'an unreadable peer counts as outside')
  t.equal(eps(decide(local, 'external', { ...fg4, clusterCIDRs: [] }, false, '10.244.3.3')), '10.244.1.5', 'no local detection: a pod is outside')
  const v6local = intent({ family: 6, clusterIP: 'fd00:10:96::a', nodePort: 30080, externalPolicyLocal: true, clusterEndpoints: [ep('fd00:10:244:1::5', 8080, true), ep('fd00:10:244:2::5')], localEndpoints: [ep('fd00:10:244:1::5', 8080, true)] })
  t.equal(eps(decide(v6local, 'external', fg6, false, '::1')), 'fd00:10:244:1::5,fd00:10:244:2::5', 'v6 loopback is the node')
  t.equal(eps(decide(v6local, 'external', fg6, false, 'fd00:50::2')), 'fd00:10:244:1::5', 'v6 outside')
  const elsewhere = decide(intent({ nodePort: 30080, externalPolicyLocal: true, localEndpoints: [] }), 'external', fg4, false, '192.168.50.2')
  t.same(elsewhere, { verdict: 'drop', reason: 'no local endpoint on this node' })
  t.same(decide(intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), 'internal', fg4, false, '10.244.1.9'), { verdict: 'reject', reason: 'no endpoints' })
  const sticky = decide(intent({ affinityTimeoutSeconds: 300 }), 'internal', fg4, false, '10.244.1.9')
  t.equal(sticky.verdict === 'endpoints' && sticky.affinityTimeoutSeconds, 300, 'the affinity timeout is passed on')
})

t.test('SCTP intents are left out of the plan, the rest is served', async (t) => {
  const tcp = intent()
  const sctp = intent({ protocol: 'sctp' })
  const p = plan([tcp, sctp])
  const r = proxiedPlan(p)
  t.same([...r.plan.intents.keys()], [tcp.key])
  t.same(r.skipped, [sctp.key])
  t.equal(r.plan.globals, p.globals)
  const same = plan([tcp])
  t.equal(proxiedPlan(same).plan, same, 'nothing to leave out: the plan itself')
  t.same(proxiedPlan(same).skipped, [])
})
