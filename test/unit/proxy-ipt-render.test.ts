// The iptables renderer, one feature per golden file: whole restore dumps, so a
// change anywhere in a feature's rules shows as a diff. Intents are built by
// hand over a fixed address plan (the planner is built elsewhere).
// PONTOON_UPDATE_GOLDEN=1 rewrites the files; review the diff before committing.
import t, { type Test } from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EndpointTarget, FamilyGlobals, PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { IptRenderError, probability, renderFull, renderIntent, renderPartial, ruleLine, validateIntent, type Observed } from '../../src/proxy/iptables/render.ts'
import { endpointChain, hostPort, intentChains, isOurChainName, servicePortName, setName } from '../../src/proxy/iptables/names.ts'
import { lbSourceElements, renderSetsCleanup, renderSetsFull, renderSetsPartial, SET_MAXELEM } from '../../src/proxy/iptables/sets.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'ipt')

function golden(t: Test, name: string, text: string): void {
  const file = join(GOLDEN, `${name}.txt`)
  if (process.env.PONTOON_UPDATE_GOLDEN === '1' || !existsSync(file)) {
    if (process.env.PONTOON_UPDATE_GOLDEN !== '1') t.fail(`no golden file ${name}.txt (run with PONTOON_UPDATE_GOLDEN=1)`)
    writeFileSync(file, text)
  }
  t.equal(text, readFileSync(file, 'utf8'), `golden ${name}`)
}

// ---- the address plan: pods 10.244.0.0/16 (this node 10.244.1.0/24), services 10.96.0.0/16
const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })
const A = ep('10.244.1.5', 8080, true)
const B = ep('10.244.2.5')
const C = ep('10.244.3.5')

function intent(over: Partial<PortIntent> = {}): PortIntent {
  const base: PortIntent = {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [A, B], localEndpoints: [A], hasAnyEndpoints: true,
  }
  const i = { ...base, ...over }
  if (!('key' in over)) i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const fam4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }
const fam6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }
function plan(intents: PortIntent[], g: Partial<ProxyGlobals> = {}): ProxyPlan {
  return { globals: { nodeName: 'node-1', masqueradeAll: false, families: [fam4], ...g }, intents: new Map(intents.map((i) => [i.key, i])) }
}
const full = (p: ProxyPlan, observed?: Map<4 | 6, Observed>) => renderFull(p, observed).map((r) => `# IPv${r.family}\n${r.text}`).join('')

t.test('chain names are kube-proxy\'s', async (t) => {
  // vectors from any kube-proxy node's iptables-save
  t.equal(intentChains({ service: 'default/kubernetes', portName: 'https', protocol: 'tcp' }).svc, 'KUBE-SVC-NPX46M4PTMTKRN6Y')
  t.equal(intentChains({ service: 'kube-system/kube-dns', portName: 'dns', protocol: 'udp' }).svc, 'KUBE-SVC-TCOU7JCQXEZGVUNU')
  const c = intentChains({ service: 'default/kubernetes', portName: 'https', protocol: 'tcp' })
  t.same([c.svl, c.ext, c.fw], ['KUBE-SVL-NPX46M4PTMTKRN6Y', 'KUBE-EXT-NPX46M4PTMTKRN6Y', 'KUBE-FW-NPX46M4PTMTKRN6Y'])
  t.equal(servicePortName({ service: 'ns/a', portName: '' }), 'ns/a')
  t.equal(servicePortName({ service: 'ns/a', portName: 'p' }), 'ns/a:p')
  t.equal(hostPort('10.0.0.1', 80), '10.0.0.1:80')
  t.equal(hostPort('fd00::1', 80), '[fd00::1]:80')
  t.not(endpointChain(intent(), A), endpointChain(intent(), B))
  t.not(endpointChain(intent(), A), endpointChain(intent({ protocol: 'udp' }), A))
  t.match(endpointChain(intent(), A), /^KUBE-SEP-[A-Z2-7]{16}$/)
  t.ok(isOurChainName('KUBE-SERVICES'))
  t.ok(isOurChainName('KUBE-SEP-AFGSLHOD2HFNCBX4'))
  t.notOk(isOurChainName('KUBE-SEP-short'))
  t.notOk(isOurChainName('KUBE-FORWARD'))
  t.notOk(isOurChainName('CNI-HOSTPORT-DNAT'))
  t.equal(setName('LB-SRC', 6), 'PONTOON-LB-SRC-6')
})

t.test('probabilities are kube-proxy\'s 1/n, 1/(n-1)... with ten decimals', async (t) => {
  t.equal(probability(3), '0.3333333333')
  t.equal(probability(2), '0.5000000000')
  const r = renderIntent(intent({ clusterEndpoints: [A, B, C] }), fam4, false)
  const svc = r.own.filter((x) => x.chain === intentChains(intent()).svc).map((x) => ruleLine('-A', x))
  t.match(svc[1], /--probability 0.3333333333 -j KUBE-SEP-/)
  t.match(svc[2], /--probability 0.5000000000 -j KUBE-SEP-/)
  t.notMatch(svc[3], /statistic/)
})

const FEATURES: Record<string, () => ProxyPlan> = {
  'empty': () => plan([]),
  'cluster-ip': () => plan([intent()]),
  'cluster-ip-no-local-detection': () => plan([intent()], { families: [{ ...fam4, clusterCIDRs: [] }] }),
  'cluster-ip-several-cluster-cidrs': () => plan([intent()], { families: [{ ...fam4, clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] }] }),
  'masquerade-all': () => plan([intent({ nodePort: 30080 })], { masqueradeAll: true }),
  'no-endpoints-tcp': () => plan([intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, nodePort: 30080, externalIPs: ['192.0.2.10'] })]),
  'no-endpoints-udp': () => plan([intent({ protocol: 'udp', portName: 'dns', port: 53, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false })]),
  'sctp': () => plan([intent({ protocol: 'sctp', portName: 'sig', port: 3868 })]),
  'affinity': () => plan([intent({ affinityTimeoutSeconds: 10800 })]),
  'node-port': () => plan([intent({ nodePort: 30080 })]),
  'node-port-addresses': () => plan([intent({ nodePort: 30080, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, portName: 'none', service: 'default/none' }), intent({ nodePort: 30081 })], { families: [{ ...fam4, nodePortAddresses: ['172.18.0.2', '172.19.0.0/24'] }] }),
  'external-ips': () => plan([intent({ externalIPs: ['192.0.2.10', '192.0.2.11'] })]),
  'load-balancer': () => plan([intent({ nodePort: 30080, loadBalancerIPs: ['198.51.100.1'] })]),
  'lb-source-ranges': () => plan([intent({ nodePort: 30080, loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.113.0/24', '192.0.2.128/25'] })]),
  'lb-source-ranges-no-endpoints': () => plan([intent({ loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.113.0/24'], clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false })]),
  'etp-local': () => plan([intent({ nodePort: 30080, loadBalancerIPs: ['198.51.100.1'], externalPolicyLocal: true, healthCheckNodePort: 32000 })]),
  'etp-local-no-local-endpoint': () => plan([intent({ nodePort: 30080, externalIPs: ['192.0.2.10'], externalPolicyLocal: true, localEndpoints: [] })]),
  'etp-local-no-local-detection': () => plan([intent({ nodePort: 30080, externalPolicyLocal: true })], { families: [{ ...fam4, clusterCIDRs: [] }] }),
  'etp-local-several-cluster-cidrs': () => plan([intent({ nodePort: 30080, externalPolicyLocal: true })], { families: [{ ...fam4, clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] }] }),
  'itp-local': () => plan([intent({ internalPolicyLocal: true })]),
  'itp-local-no-local-endpoint': () => plan([intent({ internalPolicyLocal: true, localEndpoints: [] })]),
  'itp-local-etp-cluster': () => plan([intent({ internalPolicyLocal: true, nodePort: 30080, affinityTimeoutSeconds: 60 })]),
  'dual-stack': () => plan([
    intent(),
    intent({ family: 6, clusterIP: 'fd00:10:96::10', clusterEndpoints: [ep('fd00:10:244:1::5', 8080, true), ep('fd00:10:244:2::5')], localEndpoints: [ep('fd00:10:244:1::5', 8080, true)], nodePort: 30080, loadBalancerIPs: ['2001:db8::1'], loadBalancerSourceRanges: ['2001:db8:1::/48'] }),
  ], { families: [fam4, fam6] }),
  'several-services': () => plan([intent(), intent({ service: 'kube-system/kube-dns', portName: 'dns', protocol: 'udp', clusterIP: '10.96.0.53', port: 53, clusterEndpoints: [C] }), intent({ service: 'kube-system/kube-dns', portName: 'dns-tcp', clusterIP: '10.96.0.53', port: 53, clusterEndpoints: [C] }), intent({ service: 'default/unnamed', portName: '', clusterIP: '10.96.0.20' })]),
}

for (const [name, make] of Object.entries(FEATURES)) {
  t.test(`golden: ${name}`, async (t) => {
    golden(t, name, full(make()))
    // one code path: the same plan renders the same text, whatever the map's order
    const p = make()
    const reversed = { ...p, intents: new Map([...p.intents].reverse()) }
    t.equal(full(reversed), full(p), 'order of the intents does not matter')
    // the counts are the rules and chains the text writes
    for (const r of renderFull(p)) {
      const table = (name: string) => r.text.split(/^(?=\*)/m).find((b) => b.startsWith(`*${name}\n`))!
      const rules = (name: string) => table(name).split('\n').filter((l) => /^-[AI] /.test(l)).length
      const chains = ['nat', 'filter', 'mangle'].reduce((n, x) => n + table(x).split('\n').filter((l) => l.startsWith(':')).length, 0)
      t.same(r.counts, { natRules: rules('nat'), filterRules: rules('filter'), chains }, `IPv${r.family} counts`)
    }
  })
}

t.test('a full sync re-links our jumps and deletes chains no intent needs', async (t) => {
  const observed: Observed = {
    nat: { ours: ['KUBE-SERVICES', 'KUBE-SVC-AAAAAAAAAAAAAAAA', 'KUBE-SEP-BBBBBBBBBBBBBBBB'], ourBuiltinRules: ['-A PREROUTING -m comment --comment "pontoon kubernetes service portals" -j KUBE-SERVICES'] },
    filter: { ours: ['KUBE-PROXY-FIREWALL'], ourBuiltinRules: [] },
    mangle: { ours: [], ourBuiltinRules: [] },
  }
  golden(t, 'full-with-observed', full(plan([intent()]), new Map([[4, observed]])))
})

t.test('partial: an endpoint change rewrites that Service\'s chains only, no shared rule', async (t) => {
  const before = intent()
  const after = intent({ clusterEndpoints: [A, C] })
  const other = intent({ service: 'default/other', clusterIP: '10.96.0.11' })
  const p = plan([after, other])
  const d: PlanDelta = { upserted: [after], removed: [], previous: new Map([[after.key, before]]) }
  const [r] = renderPartial(p, d)
  golden(t, 'partial-endpoint-change', r!.text)
  t.notMatch(r!.text, /KUBE-SERVICES/)
  t.notMatch(r!.text, intentChains(other).svc, 'unchanged Services are not named')
  t.match(r!.text, `-X ${endpointChain(before, B)}`, 'the gone endpoint\'s chain is deleted')
  t.same(r!.delta, { natRules: 0, filterRules: 0, chains: 0 })
})

t.test('partial: a frontend change deletes the old shared rules by text and inserts the new ones at the head', async (t) => {
  const before = intent()
  const after = intent({ externalIPs: ['192.0.2.10'] })
  const [r] = renderPartial(plan([after]), { upserted: [after], removed: [], previous: new Map([[after.key, before]]) })
  golden(t, 'partial-frontend-change', r!.text)
  t.equal(r!.delta.chains, 1, 'KUBE-EXT is new')
})

t.test('partial: losing every endpoint moves the Service from nat to a filter reject', async (t) => {
  const before = intent()
  const after = intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false })
  const [r] = renderPartial(plan([after]), { upserted: [after], removed: [], previous: new Map([[after.key, before]]) })
  golden(t, 'partial-lose-endpoints', r!.text)
  t.ok(r!.text.indexOf('*nat') < r!.text.indexOf('*filter'), 'nat first')
})

t.test('partial: new and removed Services, two families', async (t) => {
  const added = intent({ service: 'default/new', clusterIP: '10.96.0.12' })
  const gone = intent({ family: 6, clusterIP: 'fd00:10:96::10', clusterEndpoints: [ep('fd00:10:244:1::5')], localEndpoints: [] })
  const rs = renderPartial(plan([added], { families: [fam4, fam6] }), { upserted: [added], removed: [gone], previous: new Map() })
  golden(t, 'partial-add-remove', rs.map((r) => `# IPv${r.family}\n${r.text}`).join(''))
  t.same(rs.map((r) => r.family), [4, 6])
  t.ok(rs[1]!.delta.chains < 0 && rs[1]!.delta.natRules < 0)
  t.ok(rs[0]!.delta.chains > 0 && rs[0]!.delta.natRules > 0)
})

t.test('partial: an unchanged re-upsert writes the chains again but no shared rule', async (t) => {
  const i = intent({ nodePort: 30080 })
  const [r] = renderPartial(plan([i]), { upserted: [i], removed: [], previous: new Map([[i.key, i]]) })
  t.notMatch(r!.text, /^-[DI] /m)
  t.notMatch(r!.text, /^-X /m)
  t.notMatch(r!.text, /\*filter/)
})

t.test('partial: a filter-only change writes no nat block', async (t) => {
  // no endpoints anywhere -> still none, but a new externalIP gets a reject
  const none = { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }
  const before = intent(none)
  const after = intent({ ...none, externalIPs: ['192.0.2.10'] })
  const [r] = renderPartial(plan([after]), { upserted: [after], removed: [], previous: new Map([[after.key, before]]) })
  t.notMatch(r!.text, /\*nat/)
  t.match(r!.text, /-I KUBE-EXTERNAL-SERVICES 1 .*-d 192.0.2.10 .*REJECT/)
  t.match(r!.text, /-D KUBE-SERVICES .*-d 10.96.0.10/)
})

t.test('partial: a Service deleted and made again in one delta keeps its chains', async (t) => {
  const gone = intent()
  const again = intent({ clusterEndpoints: [A] })
  const [r] = renderPartial(plan([again]), { upserted: [again], removed: [gone], previous: new Map() })
  t.notMatch(r!.text, `-X ${intentChains(gone).svc}`, 'KUBE-SVC is still needed')
  t.match(r!.text, `-X ${endpointChain(gone, B)}`, 'the endpoint that went is deleted')
  t.match(r!.text, /^-D KUBE-SERVICES .*\n(?:.*\n)*-I KUBE-SERVICES 1 /m, 'the old jump deleted before the new one is inserted')
})

t.test('partial: an intent with no chains, unchanged, writes nothing at all', async (t) => {
  const none = intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false })
  const rs = renderPartial(plan([none]), { upserted: [none], removed: [], previous: new Map([[none.key, none]]) })
  t.same(rs, [{ family: 4, text: '', delta: { natRules: 0, filterRules: 0, chains: 0 } }])
  t.same(renderPartial(plan([]), { upserted: [], removed: [], previous: new Map() }), [], 'an empty delta: no family')
})

t.test('sets: full render swaps complete sets in; partial adds and deletes elements', async (t) => {
  const lb = intent({ loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.113.0/24'] })
  const dns = intent({ service: 'kube-system/dns', portName: 'dns', protocol: 'udp', clusterIP: '10.96.0.53', port: 53 })
  const p = plan([lb, dns, intent({ family: 6, clusterIP: 'fd00:10:96::10' })], { families: [{ ...fam4, clusterCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] }, fam6] })
  const s = renderSetsFull(p)
  golden(t, 'sets-full', s.text)
  t.equal(s.elements, 6)
  t.same(lbSourceElements(lb), ['198.51.100.1,tcp:80,203.0.113.0/24'])
  t.match(s.text, `maxelem ${SET_MAXELEM}`)

  const lb2 = intent({ loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.114.0/24'] })
  const text = renderSetsPartial({ upserted: [lb2], removed: [dns], previous: new Map([[lb.key, lb]]) }, (_f, ip) => ip === '10.96.0.10')
  golden(t, 'sets-partial', text)
  t.notMatch(text, /del PONTOON-CLUSTER-IPS-4 10.96.0.10/, 'a clusterIP still in use stays')
  t.match(text, /del PONTOON-CLUSTER-IPS-4 10.96.0.53 -exist/, 'the last user gone, the clusterIP goes')
  t.equal(renderSetsPartial({ upserted: [], removed: [], previous: new Map() }, () => false), '')
  t.equal(renderSetsCleanup(['PONTOON-LB-SRC-4', 'PONTOON-CLUSTER-IPS-6-T', 'KUBE-CLUSTER-IP', 'PONTOON-OTHER-4', 'x']), 'destroy PONTOON-LB-SRC-4\ndestroy PONTOON-CLUSTER-IPS-6-T\n')
  t.equal(renderSetsCleanup(['KUBE-CLUSTER-IP']), '')
})

t.test('bad intents are refused with a code and the intent\'s key, before any text', async (t) => {
  const bad: Array<[Partial<PortIntent>, RegExp]> = [
    [{ service: 'default/we"b' }, /service/],
    [{ service: 'noslash' }, /service/],
    [{ portName: 'a b' }, /port name/],
    [{ protocol: 'icmp' as 'tcp' }, /protocol/],
    [{ clusterIP: '10.96.0.010' }, /clusterIP/],
    [{ clusterIP: 'fd00::1' }, /not IPv4/],
    [{ port: 0 }, /port 0/],
    [{ port: 65536 }, /port 65536/],
    [{ port: 1.5 }, /port 1.5/],
    [{ nodePort: 70000 }, /nodePort/],
    [{ externalIPs: ['1.2.3'] }, /externalIP/],
    [{ loadBalancerIPs: ['x'] }, /loadBalancer IP/],
    [{ loadBalancerSourceRanges: ['10.0.0.0/33'] }, /loadBalancerSourceRange/],
    [{ loadBalancerSourceRanges: ['fd00::/64'] }, /not IPv4/],
    [{ affinityTimeoutSeconds: -1 }, /affinity/],
    [{ affinityTimeoutSeconds: 0.5 }, /affinity/],
    [{ clusterEndpoints: [ep('10.244.1.5', 0)] }, /endpoint port/],
    [{ localEndpoints: [ep('fd00::5')] }, /endpoint/],
  ]
  for (const [over, msg] of bad) {
    const i = intent({ ...over, key: 'k' })
    t.throws(() => validateIntent(i), { code: 'IPT_BAD_INTENT', message: msg }, JSON.stringify(over))
    t.throws(() => renderFull(plan([i])), { code: 'IPT_BAD_INTENT' })
  }
  t.doesNotThrow(() => validateIntent(intent({ portName: '' })))
  t.doesNotThrow(() => validateIntent(intent({ port: 1, nodePort: 65535, clusterEndpoints: [ep('10.244.1.5', 65535)], localEndpoints: [ep('10.244.1.5', 1)] })), 'ports 1 and 65535 are ports')
  t.doesNotThrow(() => validateIntent(intent({ service: 'a/b', portName: 'p' })), 'one-letter names')
  t.doesNotThrow(() => renderFull(plan([], { families: [{ ...fam4, nodePortAddresses: ['10.0.0.1', '10.1.0.0/16'] }] })), 'node port addresses: IPs and CIDRs')
  t.doesNotThrow(() => validateIntent(intent({ loadBalancerSourceRanges: ['203.0.113.7/24'] })), 'host bits in a source range are fine, as kube-proxy takes them')
  const six = intent({ family: 6, clusterIP: 'fd00::10', clusterEndpoints: [], localEndpoints: [] })
  t.throws(() => renderFull(plan([six])), { code: 'IPT_FAMILY' })
  t.throws(() => renderPartial(plan([six]), { upserted: [six], removed: [], previous: new Map() }), { code: 'IPT_FAMILY' })
  const badUpsert = intent({ port: 0 })
  t.throws(() => renderPartial(plan([badUpsert]), { upserted: [badUpsert], removed: [], previous: new Map() }), { code: 'IPT_BAD_INTENT' })
  t.throws(() => renderFull(plan([], { families: [{ ...fam4, clusterCIDRs: ['10.244.0.0/33'] }] })), { code: 'IPT_BAD_INTENT', message: /cluster CIDR/ })
  t.throws(() => renderFull(plan([], { families: [{ ...fam4, nodePortAddresses: ['fd00::1'] }] })), { code: 'IPT_BAD_INTENT', message: /nodePort address/ })
  t.throws(() => renderFull(plan([], { families: [{ ...fam4, nodePortAddresses: ['10.0.0.0/8', '10.0.0.0/40'] }] })), { code: 'IPT_BAD_INTENT', message: /nodePort address/ })
  const e = new IptRenderError('IPT_BAD_INTENT', 'k', 'm')
  t.equal(e.name, 'IptRenderError')
  t.equal(e.message, 'k: m')
})
