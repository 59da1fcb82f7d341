// The IPVS mode agrees with route.ts (what `pontoon trace` prints), except where IPVS
// cannot. A small evaluator walks one packet through what the mode programs: the nat
// KUBE-SERVICES rules rules.ts renders (the masquerade mark), filter KUBE-IPVS-FILTER
// (drop, reject, or on to IPVS), then the virtual server desired.ts planned for the
// packet's protocol, address and port (its real servers), over the sets desired.ts
// filled. The result must be routePacket's: the same endpoint set and masquerade, or the
// same reject/drop. A grid of intents (policies x endpoint sets x frontends x source
// ranges x globals) times every frontend and kind of source.
//
// The one difference, asserted as such: eTP Local reached from a pod (with local
// detection) or from the node itself through an external frontend. iptables and nftables
// short-circuit those to every endpoint; an IPVS virtual server has one real-server list
// whatever the source, the local endpoints, so IPVS gives those (or drops when there are
// none), without masquerade. kube-proxy's ipvs mode has the same limit.
import t from 'tap'
import { contains, parseCidr, parseIp } from '../../src/net/address.ts'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { routePacket, type FrontendKind, type PacketSource } from '../../src/proxy/plan/route.ts'
import { planAll, serverKey, type IpvsDesired } from '../../src/proxy/ipvs/desired.ts'
import { familyRules } from '../../src/proxy/ipvs/rules.ts'
import type { Rule } from '../../src/proxy/iptables/render.ts'

interface Packet { src: string; dst: string; dport: number; proto: string; dstLocal: boolean }
type Verdict = { kind: 'endpoints'; endpoints: string[]; masquerade: boolean } | { kind: 'reject' | 'drop' }

const inNet = (ip: string, net: string) => (net.includes('/') ? contains(parseCidr(net, { hostBits: 'keep' }), parseIp(ip)) : net === ip)

function inSet(d: IpvsDesired, name: string, dirs: string, p: Packet): boolean {
  const elems = [...(d.sets.get(name) ?? [])]
  const pp = `${p.proto}:${p.dport}`
  if (dirs === 'dst') return elems.some((e) => e === p.dst || e === String(p.dport))
  if (dirs === 'dst,dst') return elems.includes(`${p.dst},${pp}`)
  if (dirs === 'dst,dst,src') return elems.some((e) => { const [ip, port, net] = e.split(','); return ip === p.dst && port === pp && inNet(p.src, net!) })
  throw new Error(`set direction ${dirs}`)
}

/** Does the rule match; its target. Throws on anything the rules should not contain. */
function match(spec: readonly string[], p: Packet, d: IpvsDesired): { hit: boolean; target: string[] } {
  let hit = true
  let k = 0
  while (k < spec.length) {
    const neg = spec[k] === '!'
    if (neg) k++
    const tok = spec[k]!
    if (tok === '-j') return { hit, target: spec.slice(k + 1) }
    if (tok === '-m') {
      const mod = spec[k + 1]!
      k += 2
      if (mod === 'comment' || mod === 'conntrack') { k += 2; continue } // a new connection
      if (mod === 'addrtype') { if (!p.dstLocal) hit = false; k += 2; continue }
      if (mod === 'set') {
        const sneg = spec[k] === '!'
        if (sneg) k++
        if (inSet(d, spec[k + 1]!, spec[k + 2]!, p) === sneg) hit = false
        k += 3
        continue
      }
      throw new Error(`module ${mod}`)
    }
    const arg = spec[k + 1]!
    k += 2
    const m = tok === '-s' ? inNet(p.src, arg) : tok === '-p' ? p.proto === arg : (() => { throw new Error(`match ${tok}`) })()
    if (m === neg) hit = false
  }
  throw new Error(`no target in ${spec.join(' ')}`)
}

/** One chain: 'return' (fell through or RETURN), 'drop', 'reject', 'mark' noted on the way. */
function run(rules: readonly Rule[], chain: string, p: Packet, d: IpvsDesired, st: { mark: boolean }): 'return' | 'drop' | 'reject' {
  for (const r of rules.filter((x) => x.chain === chain)) {
    const { hit, target } = match(r.spec, p, d)
    if (!hit) continue
    const j = target[0]!
    if (j === 'RETURN') return 'return'
    if (j === 'DROP') return 'drop'
    if (j === 'REJECT') return 'reject'
    if (j === 'MARK') { st.mark = true; continue }
    const sub = run(rules, j, p, d, st)
    if (sub !== 'return') return sub
  }
  return 'return'
}

function evaluate(plan: ProxyPlan, fg: FamilyGlobals, p: Packet): Verdict {
  const d = planAll(plan, { scheduler: 'rr', localAddresses: { 4: [NODE_IP], 6: [] } })
  const r = familyRules(fg, plan.globals.masqueradeAll)
  const st = { mark: false }
  run(r.nat, 'KUBE-SERVICES', p, d, st)
  const f = run(r.filter, 'KUBE-IPVS-FILTER', p, d, st)
  if (f !== 'return') return { kind: f }
  const vs = d.servers.get(serverKey(p.proto as 'tcp', p.dst, p.dport))
  if (!vs) throw new Error(`nothing decided ${p.dst}:${p.dport}: neither a virtual server nor a verdict`)
  return { kind: 'endpoints', endpoints: vs.reals.map((x) => `${x.address}:${x.port}`).sort(), masquerade: st.mark }
}

// ---- the grid
const NODE_IP = '192.168.50.1'
const LOCAL: EndpointTarget = { ip: '10.244.1.5', port: 8080, local: true }
const REMOTE: EndpointTarget = { ip: '10.244.2.5', port: 8080, local: false }
const SOURCES: Array<{ name: string; ip: string; src: (lbRanges: boolean) => PacketSource }> = [
  { name: 'pod', ip: '10.244.3.9', src: () => ({ inCluster: true, fromNode: false, inSourceRanges: false }) },
  { name: 'outside, in the source range', ip: '198.51.100.9', src: () => ({ inCluster: false, fromNode: false, inSourceRanges: true }) },
  { name: 'outside, not in it', ip: '203.0.113.99', src: (r) => ({ inCluster: false, fromNode: false, inSourceRanges: !r }) },
  { name: 'the node', ip: NODE_IP, src: (r) => ({ inCluster: false, fromNode: true, inSourceRanges: !r }) },
]
const endpointSets: Array<[string, EndpointTarget[], EndpointTarget[], boolean]> = [
  ['local and remote', [LOCAL, REMOTE], [LOCAL], true],
  ['remote only', [REMOTE], [], true],
  ['none', [], [], false],
]

t.test('every frontend, source and policy: IPVS does what route.ts says, but for the eTP Local short-circuit', async (t) => {
  let checked = 0
  let differences = 0
  for (const detection of [true, false]) for (const masqueradeAll of [false, true]) for (const [epName, cluster, local, any] of endpointSets)
    for (const itp of [false, true]) for (const etp of [false, true]) for (const ranges of [false, true]) for (const proto of ['tcp', 'udp'] as const) {
      const fg: FamilyGlobals = { family: 4, clusterCIDRs: detection ? ['10.244.0.0/16'] : [], nodePortAddresses: [NODE_IP] }
      const intent: PortIntent = {
        key: `default/web:http:${proto}:4`, service: 'default/web', portName: 'http', family: 4, protocol: proto,
        clusterIP: '10.96.0.10', port: 80, nodePort: 30080, externalIPs: ['192.0.2.1'], loadBalancerIPs: ['203.0.113.1'],
        loadBalancerSourceRanges: ranges ? ['198.51.100.0/24'] : [], affinityTimeoutSeconds: 0,
        internalPolicyLocal: itp, externalPolicyLocal: etp, healthCheckNodePort: null,
        clusterEndpoints: cluster, localEndpoints: local, hasAnyEndpoints: any,
      }
      const plan: ProxyPlan = { globals: { nodeName: 'n', masqueradeAll, families: [fg] }, intents: new Map([[intent.key, intent]]) }
      const frontends: Array<[FrontendKind, string, number]> = [['cluster-ip', '10.96.0.10', 80], ['node-port', NODE_IP, 30080], ['external-ip', '192.0.2.1', 80], ['load-balancer', '203.0.113.1', 80]]
      for (const [kind, dst, dport] of frontends) for (const s of SOURCES) {
        const what = `${proto} ${kind} from ${s.name}, endpoints ${epName}, iTP ${itp ? 'Local' : 'Cluster'}, eTP ${etp ? 'Local' : 'Cluster'}, ranges ${ranges}, detection ${detection}, masqueradeAll ${masqueradeAll}`
        const src = s.src(ranges)
        const route = routePacket(intent, kind, src, { masqueradeAll, hasLocalDetection: detection })
        const got = evaluate(plan, fg, { src: s.ip, dst, dport, proto, dstLocal: true })
        const shortCircuit = kind !== 'cluster-ip' && etp && ((detection && src.inCluster) || src.fromNode) && route.verdict === 'endpoints'
        let want: Verdict
        if (shortCircuit) {
          differences++
          // IPVS: the external server's reals are the local endpoints (none: the drop verdict), no masquerade
          want = local.length > 0 ? { kind: 'endpoints', endpoints: local.map((e) => `${e.ip}:${e.port}`), masquerade: false } : { kind: 'drop' }
        } else if (route.verdict === 'endpoints') {
          want = { kind: 'endpoints', endpoints: route.endpoints.map((e) => `${e.ip}:${e.port}`).sort(), masquerade: route.masquerade }
        } else {
          want = { kind: route.verdict }
        }
        if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, what)
        checked++
      }
    }
  t.equal(checked, 2 * 2 * 3 * 2 * 2 * 2 * 2 * 4 * 4, 'the whole grid was walked')
  t.ok(differences > 0, `the known short-circuit difference occurs (${differences} cases) and is exactly as described`)
})

t.test('an unallocated port of a VIP is refused, not left to the node\'s own listeners', async (t) => {
  const fg: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: [NODE_IP] }
  const intent: PortIntent = {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp', clusterIP: '10.96.0.10', port: 80,
    nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], affinityTimeoutSeconds: 0, internalPolicyLocal: false,
    externalPolicyLocal: false, healthCheckNodePort: null, clusterEndpoints: [REMOTE], localEndpoints: [], hasAnyEndpoints: true,
  }
  const plan: ProxyPlan = { globals: { nodeName: 'n', masqueradeAll: false, families: [fg] }, intents: new Map([[intent.key, intent]]) }
  t.same(evaluate(plan, fg, { src: '10.244.3.9', dst: '10.96.0.10', dport: 9999, proto: 'tcp', dstLocal: true }), { kind: 'reject' })
  t.same(evaluate(plan, fg, { src: '10.244.3.9', dst: '10.96.0.10', dport: 80, proto: 'tcp', dstLocal: true }), { kind: 'endpoints', endpoints: ['10.244.2.5:8080'], masquerade: false })
})
