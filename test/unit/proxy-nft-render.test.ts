// The nftables renderer: whole rendered tables as golden files (one per feature
// of issue 8; regenerate with PONTOON_GOLDEN=update and read the diff by eye),
// deltas that touch only one intent's elements, and a walk through the rendered
// elements that must land where route.ts says, for every frontend and source class.
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { routePacket, type FrontendKind, type PacketSource, type Route } from '../../src/proxy/plan/route.ts'
import {
  NftRenderError, diffRenders, elementCommands, fullScript, objectCommands, renderDelta, renderIntent, renderPlan,
  type IntentRender, type NftElement,
} from '../../src/proxy/nftables/render.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'nft')
const UPDATE = process.env.PONTOON_GOLDEN === 'update'

// ---- fixtures over a fixed address plan: pods 10.244.0.0/16 (this node 10.244.1.0/24), services 10.96.0.0/16

const here = (n: number, port = 8080): EndpointTarget => ({ ip: `10.244.1.${n}`, port, local: true })
const there = (n: number, port = 8080): EndpointTarget => ({ ip: `10.244.2.${n}`, port, local: false })

function svc(name: string, o: Partial<PortIntent> = {}): PortIntent {
  const i: PortIntent = {
    key: '', service: `default/${name}`, portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [here(1), there(1)], localEndpoints: [here(1)], hasAnyEndpoints: true,
    ...o,
  }
  // the local list follows the cluster list unless a test says otherwise
  if (!('localEndpoints' in o)) i.localEndpoints = i.clusterEndpoints.filter((e) => e.local)
  if (!('hasAnyEndpoints' in o)) i.hasAnyEndpoints = i.clusterEndpoints.length > 0
  i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const V4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }
const V6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }

function globals(o: Partial<ProxyGlobals> = {}): ProxyGlobals {
  return { nodeName: 'node-1', masqueradeAll: false, families: [V4], ...o }
}

function plan(intents: PortIntent[], g = globals()): ProxyPlan {
  return { globals: g, intents: new Map(intents.map((i) => [i.key, i])) }
}

// ---- the walk: follow a packet through the rendered elements, as the kernel would

interface Walk {
  verdict: 'endpoints' | 'reject' | 'drop' | 'none'
  endpoints?: string[]
  masquerade?: boolean
  affinity?: number
}

type Cls = 'other' | 'pod' | 'node'
const SRC: Record<Cls, PacketSource> = {
  other: { inCluster: false, fromNode: false, inSourceRanges: true },
  pod: { inCluster: true, fromNode: false, inSourceRanges: true },
  node: { inCluster: false, fromNode: true, inSourceRanges: true },
}

function lookup(r: IntentRender, set: string, key: string): NftElement | undefined {
  return r.elements.find((e) => e.set === set && e.key === key)
}

/** What the rendered elements do with a new connection of class `cls` to frontend `key`. */
function walk(t: Test, r: IntentRender, v: "v4" | "v6", front: 'ip' | 'np', key: string, cls: Cls, detection: boolean, inSourceRanges = true): Walk {
  const fam = v
  const classes: Cls[] = detection ? ['pod', 'node', 'other'] : ['node', 'other']
  const order = classes.filter((c) => c === cls || c === 'other')
  const fw = front === 'ip' && lookup(r, `firewall-${fam}`, key)
  if (fw && !inSourceRanges) return { verdict: 'drop' }
  const verdicts = front === 'ip' ? 'service-verdicts' : 'nodeport-verdicts'
  for (const c of order) {
    const e = lookup(r, `${verdicts}${c === 'other' ? '' : `-${c}`}-${fam}`, key)
    if (!e) continue
    if (e.value === 'drop') return { verdict: 'drop' }
    if (e.value === 'goto reject-chain') return { verdict: 'reject' }
    if (e.value === 'return') break
    throw new Error(`unexpected verdict ${e.value}`)
  }
  const dispatch = front === 'ip' ? 'service-ips' : 'service-nodeports'
  for (const c of order) {
    const e = lookup(r, `${dispatch}${c === 'other' ? '' : `-${c}`}-${fam}`, key)
    if (!e) continue
    const m = /^goto lb-(v4|v6)-(ip|np)-(main|alt)-(keep|masq|masqext)(?:-aff(\d+))?-(\d+)$/.exec(e.value ?? '')
    if (!m) throw new Error(`bad dispatch ${e.value}`)
    t.equal(m[1], fam)
    t.equal(m[2], front)
    const chain = r.objects.find((o) => o.name === e.value!.slice(5))
    t.ok(chain, `chain ${e.value} comes with the intent`)
    const count = Number(m[6])
    const proto = key.split(' . ')[front === 'ip' ? 1 : 0]
    const map = `${m[3] === 'alt' ? 'alt-' : ''}${front === 'ip' ? 'backends' : 'nodeport-backends'}-${proto}-${fam}`
    const endpoints: string[] = []
    for (let s = 0; s < count; s++) {
      const b = lookup(r, map, `${key} . ${s}`)
      if (!b) throw new Error(`slot ${s} of ${key} missing in ${map}`)
      endpoints.push(b.value!)
    }
    t.notOk(lookup(r, map, `${key} . ${count}`), 'no slot beyond M')
    const masquerade = m[4] === 'masq' || (m[4] === 'masqext' && cls !== 'pod')
    return { verdict: 'endpoints', endpoints, masquerade, affinity: m[5] ? Number(m[5]) : 0 }
  }
  return { verdict: 'none' } // no rule of ours takes the packet
}

function expected(route: Route): Walk {
  if (route.verdict !== 'endpoints') return { verdict: route.verdict }
  return { verdict: 'endpoints', endpoints: route.endpoints.map((e) => `${e.ip} . ${e.port}`), masquerade: route.masquerade, affinity: route.affinityTimeoutSeconds }
}

/** Every frontend of the intent, every source class: the elements agree with routePacket. */
function agreesWithRoute(t: Test, i: PortIntent, g: ProxyGlobals) {
  const r = renderIntent(i, g)
  const fg = g.families.find((f) => f.family === i.family)!
  const detection = fg.clusterCIDRs.length > 0
  const node = { masqueradeAll: g.masqueradeAll, hasLocalDetection: detection }
  const v = i.family === 4 ? 'v4' : 'v6'
  const fronts: { kind: FrontendKind; front: 'ip' | 'np'; key: string }[] = [
    { kind: 'cluster-ip', front: 'ip', key: `${i.clusterIP} . ${i.protocol} . ${i.port}` },
    ...i.externalIPs.map((ip) => ({ kind: 'external-ip' as const, front: 'ip' as const, key: `${ip} . ${i.protocol} . ${i.port}` })),
    ...i.loadBalancerIPs.map((ip) => ({ kind: 'load-balancer' as const, front: 'ip' as const, key: `${ip} . ${i.protocol} . ${i.port}` })),
    ...(i.nodePort === null || (fg.nodePortAddresses !== 'local' && fg.nodePortAddresses.length === 0) ? [] : [{ kind: 'node-port' as const, front: 'np' as const, key: `${i.protocol} . ${i.nodePort}` }]),
  ]
  if (i.nodePort !== null && fronts.every((f) => f.front !== 'np')) {
    t.notOk(r.elements.some((e) => e.key.startsWith(`${i.protocol} . ${i.nodePort}`)), `${i.key}: no NodePort address, no NodePort element`)
  }
  for (const fe of fronts) {
    for (const cls of (detection ? ['other', 'pod', 'node'] : ['other', 'node']) as Cls[]) {
      for (const inSourceRanges of [true, false]) {
        const want = expected(routePacket(i, fe.kind, { ...SRC[cls], inSourceRanges }, node))
        t.same(walk(t, r, v, fe.front, fe.key, cls, detection, inSourceRanges), want, `${i.key} ${fe.kind} ${fe.key} from ${cls}${inSourceRanges ? '' : ' (outside source ranges)'}`)
      }
    }
  }
}

function golden(t: Test, name: string, p: ProxyPlan) {
  const text = fullScript(renderPlan(p))
  const file = join(GOLDEN, `${name}.nft`)
  if (UPDATE || !existsSync(file)) {
    if (!UPDATE) t.fail(`golden file ${file} is missing; run with PONTOON_GOLDEN=update and review it`)
    mkdirSync(GOLDEN, { recursive: true })
    writeFileSync(file, text)
  }
  t.equal(text, readFileSync(file, 'utf8'), `${name}.nft`)
  for (const i of p.intents.values()) agreesWithRoute(t, i, p.globals)
}

// ---- the features of issue 8, one golden file each

const features: Record<string, ProxyPlan> = {
  'cluster-ip': plan([
    svc('web'),
    svc('web', { portName: 'metrics', port: 9090, clusterEndpoints: [here(1, 9090), there(1, 9090), there(2, 9090)] }),
    svc('dns', { clusterIP: '10.96.0.53', protocol: 'udp', port: 53, portName: 'dns', clusterEndpoints: [there(5, 53)] }),
    svc('dns', { clusterIP: '10.96.0.53', protocol: 'tcp', port: 53, portName: 'dns-tcp', clusterEndpoints: [there(5, 53)] }),
    svc('assoc', { clusterIP: '10.96.0.77', protocol: 'sctp', port: 9999, portName: '', clusterEndpoints: [here(7, 9999)] }),
  ]),
  'no-endpoints': plan([svc('empty', { clusterIP: '10.96.0.20', nodePort: 30020, clusterEndpoints: [] })]),
  'node-port': plan([svc('np', { clusterIP: '10.96.0.30', nodePort: 30080 })]),
  'node-port-addresses': plan([svc('np', { clusterIP: '10.96.0.30', nodePort: 30080 })],
    globals({ families: [{ ...V4, nodePortAddresses: ['192.168.50.0/24', '172.18.0.2'] }] })),
  'external-ips': plan([svc('ext', { clusterIP: '10.96.0.40', externalIPs: ['192.168.50.100', '192.168.50.101'] })]),
  'load-balancer': plan([svc('lb', { clusterIP: '10.96.0.50', nodePort: 30050, loadBalancerIPs: ['192.168.60.1'] })]),
  'source-ranges': plan([svc('fw', { clusterIP: '10.96.0.51', loadBalancerIPs: ['192.168.60.2'], loadBalancerSourceRanges: ['192.168.50.0/24', '10.1.0.0/16'] })]),
  'affinity': plan([
    svc('sticky', { clusterIP: '10.96.0.60', nodePort: 30060, affinityTimeoutSeconds: 10800, clusterEndpoints: [here(1), there(1), there(2)] }),
    svc('short', { clusterIP: '10.96.0.61', affinityTimeoutSeconds: 60, protocol: 'udp', port: 53, portName: 'dns', clusterEndpoints: [there(5, 53)] }),
  ]),
  'external-local': plan([
    svc('local', { clusterIP: '10.96.0.70', nodePort: 30070, loadBalancerIPs: ['192.168.60.7'], externalPolicyLocal: true, healthCheckNodePort: 32000 }),
    svc('remote-only', { clusterIP: '10.96.0.71', nodePort: 30071, externalPolicyLocal: true, clusterEndpoints: [there(1), there(2)] }),
  ]),
  'internal-local': plan([
    svc('itp', { clusterIP: '10.96.0.80', internalPolicyLocal: true, clusterEndpoints: [here(1), here(2), there(1)] }),
    svc('itp-none', { clusterIP: '10.96.0.81', internalPolicyLocal: true, clusterEndpoints: [there(1)] }),
  ]),
  'masquerade-all': plan([svc('web', { nodePort: 30090 })], globals({ masqueradeAll: true })),
  'no-local-detection': plan([svc('web', { nodePort: 30091, externalIPs: ['192.168.50.9'] })], globals({ families: [{ ...V4, clusterCIDRs: [] }] })),
  'hairpin': plan([
    svc('self', { clusterIP: '10.96.0.90', clusterEndpoints: [here(3)] }),
    svc('self', { clusterIP: '10.96.0.90', portName: 'alt', port: 81, clusterEndpoints: [here(3, 8081)] }),
  ]),
  'dual-stack': plan([
    svc('web', { clusterIP: '10.96.0.10', nodePort: 30100, externalPolicyLocal: true }),
    svc('web', {
      family: 6, clusterIP: 'fd00:10:96::10', nodePort: 30100, externalPolicyLocal: true,
      clusterEndpoints: [{ ip: 'fd00:10:244:1::5', port: 8080, local: true }, { ip: 'fd00:10:244:2::5', port: 8080, local: false }],
    }),
  ], globals({ families: [V4, V6] })),
  'node-port-none': plan([svc('np', { clusterIP: '10.96.0.30', nodePort: 30080 })],
    globals({ families: [{ ...V4, nodePortAddresses: [] }] })),
}

for (const [name, p] of Object.entries(features)) t.test(`golden: ${name}`, async (t) => golden(t, name, p))

// ---- decisions a golden file shows; stated here so a reader need not diff text

t.test('no endpoints: the filter rejects (TCP reset) and no DNAT element exists', async (t) => {
  const r = renderIntent(svc('empty', { clusterEndpoints: [], nodePort: 30020 }), globals())
  t.same(r.elements.filter((e) => e.set.startsWith('service-verdicts') || e.set.startsWith('nodeport-verdicts')), [
    { set: 'service-verdicts-v4', key: '10.96.0.10 . tcp . 80', value: 'goto reject-chain' },
    { set: 'nodeport-verdicts-v4', key: 'tcp . 30020', value: 'goto reject-chain' },
  ])
  t.notOk(r.elements.some((e) => /^(service-ips|service-nodeports|backends|nodeport-backends)/.test(e.set)))
  const skel = fullScript(renderPlan(plan([])))
  t.match(skel, 'add rule inet pontoon reject-chain meta l4proto tcp reject with tcp reset\nadd rule inet pontoon reject-chain reject\n')
  t.match(skel, 'ip daddr @cluster-ips-v4 ip daddr . meta l4proto . th dport != @cluster-ports-v4 goto reject-chain')
})

t.test('eTP Local with no local endpoint: others are dropped, pods and the node reach every endpoint', async (t) => {
  const r = renderIntent(svc('remote', { nodePort: 30071, externalPolicyLocal: true, clusterEndpoints: [there(1), there(2)] }), globals())
  const np = r.elements.filter((e) => e.key === 'tcp . 30071' && e.set.includes('verdicts'))
  t.same(np, [
    { set: 'nodeport-verdicts-v4', key: 'tcp . 30071', value: 'drop' },
    { set: 'nodeport-verdicts-pod-v4', key: 'tcp . 30071', value: 'return' },
    { set: 'nodeport-verdicts-node-v4', key: 'tcp . 30071', value: 'return' },
  ])
  t.same(r.elements.filter((e) => e.key === 'tcp . 30071' && e.set.startsWith('service-nodeports')), [
    { set: 'service-nodeports-pod-v4', key: 'tcp . 30071', value: 'goto lb-v4-np-main-keep-2' },
    { set: 'service-nodeports-node-v4', key: 'tcp . 30071', value: 'goto lb-v4-np-main-masq-2' },
  ])
})

t.test('exact balance: M slots for M endpoints, one chain per M shared by every Service', async (t) => {
  const a = renderIntent(svc('a', { clusterIP: '10.96.0.1', clusterEndpoints: [there(1), there(2), there(3)] }), globals())
  const b = renderIntent(svc('b', { clusterIP: '10.96.0.2', clusterEndpoints: [there(4), there(5), there(6)] }), globals())
  t.same(a.objects.map((o) => o.name), ['lb-v4-ip-main-masqext-3'])
  t.same(b.objects, a.objects)
  t.same(a.objects[0]!.rules, [
    'ip saddr != { 10.244.0.0/16 } meta mark set meta mark | 0x00004000',
    'meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @backends-tcp-v4',
    'meta l4proto udp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @backends-udp-v4',
    'meta l4proto sctp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @backends-sctp-v4',
  ])
  t.same(a.elements.filter((e) => e.set === 'backends-tcp-v4').map((e) => e.key), ['10.96.0.1 . tcp . 80 . 0', '10.96.0.1 . tcp . 80 . 1', '10.96.0.1 . tcp . 80 . 2'])
})

t.test('affinity: a dynamic map with the timeout, looked up before the random pick, recorded in postrouting', async (t) => {
  const r = renderIntent(svc('s', { affinityTimeoutSeconds: 300 }), globals())
  const names = r.objects.map((o) => o.name)
  t.same(names, ['lb-v4-ip-main-masqext-aff300-2', 'sticky-v4-tcp-300', 'sticky-update-v4-tcp-300', 'sticky-v4-udp-300', 'sticky-update-v4-udp-300', 'sticky-v4-sctp-300', 'sticky-update-v4-sctp-300'])
  const map = r.objects.find((o) => o.name === 'sticky-v4-tcp-300')!
  t.equal(map.dynamic, true)
  t.match(map.spec, 'flags dynamic,timeout ; timeout 300s ;')
  t.same(r.objects[0]!.rules.slice(1), [
    'ct mark set ct mark | 0x00002000',
    'meta l4proto tcp dnat ip to ip saddr . ip daddr . meta l4proto . th dport map @sticky-v4-tcp-300',
    'meta l4proto udp dnat ip to ip saddr . ip daddr . meta l4proto . th dport map @sticky-v4-udp-300',
    'meta l4proto sctp dnat ip to ip saddr . ip daddr . meta l4proto . th dport map @sticky-v4-sctp-300',
    'meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-tcp-v4',
    'meta l4proto udp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-udp-v4',
    'meta l4proto sctp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-sctp-v4',
  ])
  t.same(lookup(r, 'affinity-ips-v4', '10.96.0.10 . tcp . 80')?.value, 'jump sticky-update-v4-tcp-300')
  const full = fullScript(renderPlan(plan([svc('s', { affinityTimeoutSeconds: 300 })])))
  t.notMatch(full, 'flush map inet pontoon sticky-v4-tcp-300', 'a full sync keeps the clients where they are')
  t.match(full, 'flush map inet pontoon backends-tcp-v4')
  const none = renderIntent(svc('s', { affinityTimeoutSeconds: 300, clusterEndpoints: [] }), globals())
  t.notOk(none.elements.some((e) => e.set.startsWith('affinity')), 'no endpoints: nothing to stick to')
})

t.test('source ranges: only LB frontends are firewalled, with one range element per CIDR', async (t) => {
  const r = renderIntent(svc('fw', { externalIPs: ['192.168.50.5'], loadBalancerIPs: ['192.168.60.2'], loadBalancerSourceRanges: ['192.168.50.0/24'] }), globals())
  t.same(r.elements.filter((e) => e.set.startsWith('firewall') || e.set.startsWith('source-ranges')), [
    { set: 'firewall-v4', key: '192.168.60.2 . tcp . 80' },
    { set: 'source-ranges-v4', key: '192.168.60.2 . tcp . 80 . 192.168.50.0/24' },
  ])
})

t.test('hairpin: one pair per local endpoint address, none for remote ones', async (t) => {
  const r = renderIntent(svc('h', { clusterEndpoints: [here(2), here(1), there(1)], localEndpoints: [here(2), here(1)] }), globals())
  t.same(r.elements.filter((e) => e.set === 'hairpin-v4').map((e) => e.key), ['10.244.1.1 . 10.244.1.1', '10.244.1.2 . 10.244.1.2'])
})

t.test('an intent of a family the node does not run is refused with a code', async (t) => {
  t.throws(() => renderIntent(svc('x', { family: 6, clusterIP: 'fd00::1' }), globals()), { code: 'NFT_FAMILY' })
  t.throws(() => renderIntent(svc('x', { family: 5 as never }), globals()), NftRenderError)
})

t.test('a headless intent (no clusterIP) puts nothing in the cluster sets', async (t) => {
  const r = renderIntent(svc('x', { clusterIP: '' }), globals())
  t.same(r.elements.filter((e) => e.set.startsWith('cluster')), [])
  t.notOk(r.elements.some((e) => e.set === 'service-ips-v4'))
})

// ---- deltas

t.test('delta: one endpoint replaced is one delete and one add in backends (plus hairpin)', async (t) => {
  const g = globals()
  const before = svc('web', { clusterEndpoints: [there(1), there(2)] })
  const after = svc('web', { clusterEndpoints: [there(1), there(3)] })
  const d = renderDelta(before, after, g)
  t.same(d.delete, [{ set: 'backends-tcp-v4', key: '10.96.0.10 . tcp . 80 . 1', value: '10.244.2.2 . 8080' }])
  t.same(d.add, [{ set: 'backends-tcp-v4', key: '10.96.0.10 . tcp . 80 . 1', value: '10.244.2.3 . 8080' }])
  t.same(d.objects.map((o) => o.name), ['lb-v4-ip-main-masqext-2'])
  t.same(elementCommands('delete', d.delete), ['delete element inet pontoon backends-tcp-v4 { 10.96.0.10 . tcp . 80 . 1 }'])
  t.same(elementCommands('add', d.add), ['add element inet pontoon backends-tcp-v4 { 10.96.0.10 . tcp . 80 . 1 : 10.244.2.3 . 8080 }'])
})

t.test('delta: a new endpoint count moves the frontend to lb-M+1 and adds one slot', async (t) => {
  const d = renderDelta(svc('web', { clusterEndpoints: [there(1)] }), svc('web', { clusterEndpoints: [there(1), there(2)] }), globals())
  t.same(d.delete, [{ set: 'service-ips-v4', key: '10.96.0.10 . tcp . 80', value: 'goto lb-v4-ip-main-masqext-1' }])
  t.same(d.add, [
    { set: 'service-ips-v4', key: '10.96.0.10 . tcp . 80', value: 'goto lb-v4-ip-main-masqext-2' },
    { set: 'backends-tcp-v4', key: '10.96.0.10 . tcp . 80 . 1', value: '10.244.2.2 . 8080' },
  ])
  t.same(objectCommands(d.objects), [
    'add chain inet pontoon lb-v4-ip-main-masqext-2',
    'add rule inet pontoon lb-v4-ip-main-masqext-2 ip saddr != { 10.244.0.0/16 } meta mark set meta mark | 0x00004000',
    'add rule inet pontoon lb-v4-ip-main-masqext-2 meta l4proto tcp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-tcp-v4',
    'add rule inet pontoon lb-v4-ip-main-masqext-2 meta l4proto udp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-udp-v4',
    'add rule inet pontoon lb-v4-ip-main-masqext-2 meta l4proto sctp dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @backends-sctp-v4',
  ])
})

t.test('delta: a Service added or removed is exactly its own elements', async (t) => {
  const g = globals()
  const i = svc('web', { nodePort: 30080 })
  const all = renderIntent(i, g).elements
  t.same(renderDelta(undefined, i, g).add, all)
  t.same(renderDelta(undefined, i, g).delete, [])
  t.same(renderDelta(i, undefined, g).delete, all)
  t.same(renderDelta(i, undefined, g).add, [])
  t.same(renderDelta(i, undefined, g).objects, [])
  t.same(renderDelta(i, i, g), { add: [], delete: [], objects: renderIntent(i, g).objects })
  t.same(diffRenders(undefined, undefined), { add: [], delete: [], objects: [] })
})

t.test('bad input is refused with a code and a cause, before any text is made', async (t) => {
  const g = globals()
  const bad: [string, Partial<PortIntent>][] = [
    ['clusterIP', { clusterIP: '10.96.0.1 } ; flush ruleset ; add element x {' }],
    ['clusterIP', { clusterIP: 'fd00::1' }],
    ['externalIPs', { externalIPs: ['192.168.1.1/24'] }],
    ['loadBalancerIPs', { loadBalancerIPs: ['1.2.3'] }],
    ['loadBalancerSourceRanges', { loadBalancerIPs: ['192.168.60.1'], loadBalancerSourceRanges: ['10.0.0.0/33'] }],
    ['loadBalancerSourceRanges', { loadBalancerIPs: ['192.168.60.1'], loadBalancerSourceRanges: ['10.0.0.0/8/8'] }],
    ['endpoint', { clusterEndpoints: [{ ip: '10.244.1.1\n', port: 80, local: false }] }],
    ['endpoint 10.244.1.1 port', { clusterEndpoints: [{ ip: '10.244.1.1', port: 0, local: false }] }],
    ['endpoint 10.244.1.1 port', { clusterEndpoints: [{ ip: '10.244.1.1', port: 65536, local: false }] }],
    ['port', { port: 1.5 }],
    ['nodePort', { nodePort: -1 }],
    ['protocol', { protocol: 'icmp' as never }],
    ['affinityTimeoutSeconds', { affinityTimeoutSeconds: -1 }],
    ['affinityTimeoutSeconds', { affinityTimeoutSeconds: 2 ** 31 }],
  ]
  for (const [field, o] of bad) {
    t.throws(() => renderIntent(svc('bad', o), g), { code: 'NFT_INPUT', message: new RegExp(`default/bad.*${field.replace(/[.*]/g, '\\$&')}`) }, `${field}: ${JSON.stringify(o)}`)
  }
  t.throws(() => renderIntent(svc('x'), globals({ families: [{ ...V4, clusterCIDRs: ['10.244.0.0/16 }'] }] })), { code: 'NFT_INPUT', message: /clusterCIDRs/ })
  t.throws(() => renderIntent(svc('x'), globals({ families: [{ ...V4, nodePortAddresses: ['x'] }] })), { code: 'NFT_INPUT', message: /nodePortAddresses/ })
  t.doesNotThrow(() => renderIntent(svc('ok', { port: 65535, nodePort: 1, affinityTimeoutSeconds: 2 ** 31 - 1, loadBalancerIPs: ['192.168.60.1'], loadBalancerSourceRanges: ['10.0.0.0/32', '10.0.0.1'] }), g))
  t.doesNotThrow(() => renderIntent(svc('ok6', { family: 6, clusterIP: 'fd00::1', clusterEndpoints: [{ ip: '::ffff:10.1.1.1', port: 1, local: false }], loadBalancerIPs: ['fd00::2'], loadBalancerSourceRanges: ['fd00::/128'] }), globals({ families: [V6] })))
  t.throws(() => renderIntent(svc('ok6', { family: 6, clusterIP: 'fd00::1', loadBalancerIPs: ['fd00::2'], loadBalancerSourceRanges: ['fd00::/129'] }), globals({ families: [V6] })), { code: 'NFT_INPUT' })
})
