// The rendered rules agree with route.ts. A small evaluator walks one packet
// through the restore text renderFull wrote (nat KUBE-SERVICES, then, if no
// DNAT happened, the filter chains its hook reaches), following both branches
// of every `-m statistic` rule, and the result must be what routePacket says:
// the same endpoint set and masquerade, or the same reject/drop. A grid of
// intents (policies x endpoint sets x frontends x source ranges x globals)
// times every frontend and kind of source.
import t from 'tap'
import { contains, parseCidr, parseIp } from '../../src/net/address.ts'
import type { EndpointTarget, PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { routePacket, type FrontendKind, type PacketSource } from '../../src/proxy/plan/route.ts'
import { renderFull } from '../../src/proxy/iptables/render.ts'
import { renderSetsFull } from '../../src/proxy/iptables/sets.ts'

interface Packet { src: string; dst: string; dport: number; proto: string; srcLocal: boolean; dstLocal: boolean }
type Out = { end: 'dnat'; to: string; masq: boolean } | { end: 'return'; masq: boolean } | { end: 'reject' | 'drop' }

/** restore text -> table -> chain -> rules (tokens after "-A CHAIN") */
function parseRestore(text: string): Map<string, Map<string, string[][]>> {
  const tables = new Map<string, Map<string, string[][]>>()
  let cur = new Map<string, string[][]>()
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1), cur = new Map())
    else if (line.startsWith(':')) cur.set(line.slice(1).split(' ')[0]!, [])
    else if (line.startsWith('-A ')) {
      const tokens = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!)
      cur.get(tokens[1]!)!.push(tokens.slice(2))
    } else if (line.startsWith('-I ')) {
      // our jumps into built-in chains, each inserted at the head
      const tokens = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!)
      if (!cur.has(tokens[1]!)) cur.set(tokens[1]!, [])
      cur.get(tokens[1]!)!.unshift(tokens.slice(3))
    }
  }
  return tables
}

/** ipset restore text -> set name -> elements (the temporary twins are the content) */
function parseSets(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const m = /^add (\S+)-T (\S+)$/.exec(line)
    if (m) sets.set(m[1]!, [...(sets.get(m[1]!) ?? []), m[2]!])
  }
  return sets
}

const inNet = (ip: string, net: string) => net.includes('/') ? contains(parseCidr(net, { hostBits: 'keep' }), parseIp(ip)) : net === ip

function inSet(sets: Map<string, string[]>, name: string, dirs: string, p: Packet): boolean {
  const elems = sets.get(name) ?? []
  if (dirs === 'dst') return elems.includes(p.dst)
  if (dirs === 'src') return elems.some((c) => inNet(p.src, c))
  if (dirs === 'dst,dst,src') {
    return elems.some((e) => {
      const [ip, pp, net] = e.split(',')
      return ip === p.dst && pp === `${p.proto}:${p.dport}` && inNet(p.src, net!)
    })
  }
  throw new Error(`set direction ${dirs}`)
}

/** 'yes', 'no', or 'both' (a random match); throws on anything it does not model */
function match(spec: string[], p: Packet, sets: Map<string, string[]>): { m: 'yes' | 'no' | 'both'; target: string[] } {
  let m: 'yes' | 'no' | 'both' = 'yes'
  const no = () => { m = 'no' }
  let k = 0
  while (k < spec.length) {
    const neg = spec[k] === '!'
    if (neg) k++
    const tok = spec[k]!
    if (tok === '-j') return { m, target: spec.slice(k + 1) }
    if (tok === '-m') {
      const mod = spec[k + 1]!
      k += 2
      if (mod === 'comment') { k += 2; continue }
      if (mod === 'tcp' || mod === 'udp' || mod === 'sctp') continue
      if (mod === 'conntrack') { k += 2; continue } // a new connection
      if (mod === 'addrtype') {
        const which = spec[k]!, local = which === '--src-type' ? p.srcLocal : p.dstLocal
        if (spec[k + 1] !== 'LOCAL') throw new Error('addrtype')
        if (!local) no()
        k += 2
        continue
      }
      if (mod === 'set') {
        const sneg = spec[k] === '!'
        if (sneg) k++
        if (spec[k] !== '--match-set') throw new Error('set')
        const hit = inSet(sets, spec[k + 1]!, spec[k + 2]!, p)
        if (hit === sneg) no()
        k += 3
        continue
      }
      if (mod === 'statistic') { if (m === 'yes') m = 'both'; k += 4; continue }
      if (mod === 'recent') {
        // no state yet: --rcheck misses, --set matches
        const end = spec.indexOf('-j', k)
        if (spec.slice(k, end).includes('--rcheck')) no()
        k = end
        continue
      }
      throw new Error(`module ${mod}`)
    }
    const arg = spec[k + 1]!
    k += 2
    let hit: boolean
    if (tok === '-d') hit = inNet(p.dst, arg)
    else if (tok === '-s') hit = inNet(p.src, arg)
    else if (tok === '-p') hit = p.proto === arg
    else if (tok === '--dport') hit = p.dport === Number(arg)
    else throw new Error(`match ${tok}`)
    if (hit === neg) no()
  }
  throw new Error(`no target in ${spec.join(' ')}`)
}

function runChain(chains: Map<string, string[][]>, chain: string, p: Packet, sets: Map<string, string[]>, masq: boolean): Out[] {
  const rules = chains.get(chain)
  if (!rules) throw new Error(`no chain ${chain}`)
  const out: Out[] = []
  let threads = [masq]
  for (const spec of rules) {
    const next: boolean[] = []
    for (const mq of threads) {
      const { m, target } = match(spec, p, sets)
      if (m !== 'yes') next.push(mq)
      if (m === 'no') continue
      const [j, ...rest] = target
      if (j === 'DNAT') out.push({ end: 'dnat', to: rest[1]!, masq: mq })
      else if (j === 'REJECT') out.push({ end: 'reject' })
      else if (j === 'DROP') out.push({ end: 'drop' })
      else if (j === 'RETURN') out.push({ end: 'return', masq: mq })
      else if (j === 'MARK') next.push(true)
      else for (const o of runChain(chains, j!, p, sets, mq)) (o.end === 'return' ? next.push(o.masq) : out.push(o))
    }
    threads = next
  }
  for (const mq of threads) out.push({ end: 'return', masq: mq })
  return out
}

type Traced = { verdict: 'endpoints'; endpoints: string[]; masquerade: boolean } | { verdict: 'reject' | 'drop' | 'accept' | 'mixed' }

function trace(text: string, setsText: string, p: Packet): Traced {
  const tables = parseRestore(text)
  const sets = parseSets(setsText)
  const nat = runChain(tables.get('nat')!, p.srcLocal ? 'OUTPUT' : 'PREROUTING', p, sets, false)
  const dnat = nat.filter((o) => o.end === 'dnat') as Array<{ to: string; masq: boolean }>
  if (dnat.length > 0) {
    if (dnat.length !== nat.length) return { verdict: 'mixed' }
    const masq = new Set(dnat.map((o) => o.masq))
    if (masq.size !== 1) return { verdict: 'mixed' }
    return { verdict: 'endpoints', endpoints: [...new Set(dnat.map((o) => o.to))].sort(), masquerade: [...masq][0]! }
  }
  // not DNATed: the filter chains of the hooks the packet passes, as our built-in jumps reach them
  const filter = tables.get('filter')!
  const hooks = p.srcLocal ? ['OUTPUT', ...(p.dstLocal ? ['INPUT'] : [])] : p.dstLocal ? ['INPUT'] : ['FORWARD']
  for (const h of hooks) {
    const v = runChain(filter, h, p, sets, false).find((o) => o.end === 'reject' || o.end === 'drop')
    if (v) return { verdict: v.end as 'reject' | 'drop' }
  }
  return { verdict: 'accept' }
}

// ---- the grid
const ep = (ip: string, local: boolean): EndpointTarget => ({ ip, port: 8080, local })
const A = ep('10.244.1.5', true), B = ep('10.244.2.5', false)
const NODE = '172.18.0.2'
const ENDPOINT_SETS: Array<Pick<PortIntent, 'clusterEndpoints' | 'localEndpoints' | 'hasAnyEndpoints'>> = [
  { clusterEndpoints: [A, B], localEndpoints: [A], hasAnyEndpoints: true },
  { clusterEndpoints: [B], localEndpoints: [], hasAnyEndpoints: true },
  { clusterEndpoints: [A], localEndpoints: [A], hasAnyEndpoints: true },
  { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false },
]
const SOURCES = { outside: '192.168.9.9', 'outside-in-range': '203.0.113.9', pod: '10.244.5.7', node: NODE }

t.test('every packet lands where route.ts says', async (t) => {
  let traces = 0
  const disagreements: string[] = []
  for (const eps of ENDPOINT_SETS) for (const iTP of [false, true]) for (const eTP of [false, true])
  for (const ranges of [[], ['203.0.113.0/24']]) for (const masqueradeAll of [false, true]) for (const cidrs of [['10.244.0.0/16'], [], ['10.245.0.0/16', '10.244.0.0/16']])
  for (const nodePortAddresses of ['local', [NODE]] as const) {
    const i: PortIntent = {
      key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
      clusterIP: '10.96.0.10', port: 80, nodePort: 30080, externalIPs: ['192.0.2.10'], loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ranges,
      affinityTimeoutSeconds: 0, internalPolicyLocal: iTP, externalPolicyLocal: eTP, healthCheckNodePort: null, ...eps,
    }
    const plan: ProxyPlan = { globals: { nodeName: 'n', masqueradeAll, families: [{ family: 4, clusterCIDRs: cidrs, nodePortAddresses }] }, intents: new Map([[i.key, i]]) }
    const text = renderFull(plan)[0]!.text
    const sets = renderSetsFull(plan).text
    const frontends: Array<[FrontendKind, string, number]> = [['cluster-ip', '10.96.0.10', 80], ['node-port', NODE, 30080], ['external-ip', '192.0.2.10', 80], ['load-balancer', '198.51.100.1', 80]]
    for (const [kind, dst, dport] of frontends) for (const [sname, src] of Object.entries(SOURCES)) {
      const pkt: Packet = { src, dst, dport, proto: 'tcp', srcLocal: src === NODE, dstLocal: dst === NODE }
      const ps: PacketSource = { inCluster: cidrs.some((c) => inNet(src, c)), fromNode: src === NODE, inSourceRanges: ranges.some((r) => inNet(src, r)) }
      const want = routePacket(i, kind, ps, { masqueradeAll, hasLocalDetection: cidrs.length > 0 })
      const got = trace(text, sets, pkt)
      const wantS = want.verdict === 'endpoints' ? `endpoints ${want.endpoints.map((e) => `${e.ip}:${e.port}`).sort().join(',')} masq=${want.masquerade}` : want.verdict
      const gotS = got.verdict === 'endpoints' ? `endpoints ${got.endpoints.join(',')} masq=${got.masquerade}` : got.verdict
      traces++
      if (wantS !== gotS) disagreements.push(`${kind} from ${sname} [${JSON.stringify({ eps: eps.clusterEndpoints.length + '/' + eps.localEndpoints.length, iTP, eTP, ranges: ranges.length, masqueradeAll, cidrs: cidrs.length, nodePortAddresses })}]: route.ts ${wantS}, rules ${gotS}`)
    }
  }
  t.same(disagreements, [], `${traces} packets traced`)
  t.ok(traces >= 6000)
})

t.test('the evaluator itself: a random split reaches every endpoint; an unknown match is an error', async (t) => {
  const text = '*nat\n:KUBE-SERVICES - [0:0]\n:X - [0:0]\n-I PREROUTING 1 -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1 -j X\n-A X -m statistic --mode random --probability 0.5 -j DNAT --to-destination 1.1.1.1:1\n-A X -j DNAT --to-destination 2.2.2.2:2\nCOMMIT\n'
  const p: Packet = { src: '10.0.0.1', dst: '10.96.0.1', dport: 1, proto: 'tcp', srcLocal: false, dstLocal: false }
  t.same(trace(text, '', p), { verdict: 'endpoints', endpoints: ['1.1.1.1:1', '2.2.2.2:2'], masquerade: false })
  t.throws(() => trace('*nat\n:KUBE-SERVICES - [0:0]\n-I PREROUTING 1 -j KUBE-SERVICES\n-A KUBE-SERVICES -m owner --uid-owner 0 -j RETURN\nCOMMIT\n', '', p), /module owner/)
})
