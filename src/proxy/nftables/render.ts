// The nftables renderer: PortIntents -> the content of our one `inet pontoon`
// table, in layout L3 of research/nft-layout.md. Pure: no I/O, no clock.
//
// Shape. Every frontend (clusterIP, externalIP, LB IP: `addr . proto . port`;
// NodePort: `proto . port`) is one element in a verdict map that jumps to a
// chain shared by every frontend with the same endpoint count M (and the same
// masquerade rule, list and affinity timeout). The shared chain picks a slot with
// `numgen random mod M` and DNATs through the `backends` map keyed by
// `frontend . slot`. So a Service or endpoint change is element adds and deletes
// only; a new chain appears only when a (variant, M) is used for the first time.
//
// Decisions. Nothing here decides who gets traffic: for each frontend the
// renderer asks route.ts's routePacket for the three source classes the rules
// can tell apart (a pod: inside the cluster CIDRs; the node itself: `fib saddr
// type local`; anyone else) and encodes the answers. The "anyone else" answer is
// the frontend's default element; a class whose answer differs gets an element in
// that class's override map, which the dispatch consults first.
//
// Both families live in one table and are rendered by the same code with the
// family as a parameter (map and chain names carry -v4 / -v6).
import type { Family } from '../../net/address.ts'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyGlobals, ProxyPlan, L4Protocol } from '../plan/intent.ts'
import { routePacket, type FrontendKind, type PacketSource, type Route } from '../plan/route.ts'

export const TABLE = 'pontoon'
export const FAMILY = 'inet'
/** meta mark bit: masquerade this packet in postrouting (kube-proxy's 0x4000) */
export const MASQ_MARK = '0x00004000'
/** ct mark bit: this connection took an affinity chain; postrouting records its endpoint */
export const AFFINITY_MARK = '0x00002000'

export class NftRenderError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'NftRenderError'
    this.code = code
  }
}

/** One element of one of our maps or sets; `value` only for maps. */
export interface NftElement {
  set: string
  key: string
  value?: string
}

/** A chain, map or set of the table, with everything needed to create it. */
export interface NftObject {
  kind: 'chain' | 'map' | 'set'
  name: string
  /** what goes between the braces of `add chain/map/set` ("" for a regular chain) */
  spec: string
  /** chains only: the rules, in order */
  rules: readonly string[]
  /** maps filled by the kernel (affinity): never flushed by a full sync */
  dynamic?: boolean
}

/** The elements of one intent's render (what the ledger keeps of it). */
export interface RenderedElements {
  elements: NftElement[]
}

/** What one intent puts in the table. */
export interface IntentRender extends RenderedElements {
  /** on-demand chains and maps its elements refer to (shared with other intents) */
  objects: NftObject[]
}

interface Fam {
  f: Family
  /** nft's protocol keyword: ip / ip6 */
  nf: 'ip' | 'ip6'
  addrType: 'ipv4_addr' | 'ipv6_addr'
  v: 'v4' | 'v6'
  loopback: string
}

const FAMS: Record<Family, Fam> = {
  4: { f: 4, nf: 'ip', addrType: 'ipv4_addr', v: 'v4', loopback: '127.0.0.0/8' },
  6: { f: 6, nf: 'ip6', addrType: 'ipv6_addr', v: 'v6', loopback: '::1' },
}

/** How a frontend is keyed: by address (`addr . proto . port`) or, for NodePorts, by port only. */
type FrontType = 'ip' | 'np'
/** Which source class a map answers for. */
type SourceClass = 'other' | 'pod' | 'node'
/** keep: never masquerade; masq: always; masqext: only sources outside the cluster CIDRs */
type MasqRule = 'keep' | 'masq' | 'masqext'
/** which backends map a list lives in: one frontend can need two lists (eTP Local: local for others, all for pods and the node) */
type ListSlot = 'main' | 'alt'

const PROTOCOLS = ['tcp', 'udp', 'sctp'] as const

const SOURCES: Record<SourceClass, PacketSource> = {
  other: { inCluster: false, fromNode: false, inSourceRanges: true },
  pod: { inCluster: true, fromNode: false, inSourceRanges: true },
  node: { inCluster: false, fromNode: true, inSourceRanges: true },
}

const FRONT_MAPS: Record<FrontType, { dispatch: string; verdicts: string; backends: string; affinity: string }> = {
  ip: { dispatch: 'service-ips', verdicts: 'service-verdicts', backends: 'backends', affinity: 'affinity-ips' },
  np: { dispatch: 'service-nodeports', verdicts: 'nodeport-verdicts', backends: 'nodeport-backends', affinity: 'affinity-nodeports' },
}

function classSuffix(c: SourceClass): string {
  return c === 'other' ? '' : `-${c}`
}

export function dispatchMap(front: FrontType, c: SourceClass, fam: Fam): string {
  return `${FRONT_MAPS[front].dispatch}${classSuffix(c)}-${fam.v}`
}
export function verdictMap(front: FrontType, c: SourceClass, fam: Fam): string {
  return `${FRONT_MAPS[front].verdicts}${classSuffix(c)}-${fam.v}`
}
export function backendsMap(front: FrontType, slot: ListSlot, fam: Fam, proto: L4Protocol): string {
  return `${slot === 'alt' ? 'alt-' : ''}${FRONT_MAPS[front].backends}-${proto}-${fam.v}`
}

function famOf(f: Family): Fam {
  const fam = FAMS[f]
  if (!fam) throw new NftRenderError('NFT_FAMILY', `unknown IP family ${String(f)}`)
  return fam
}

function globalsFor(globals: ProxyGlobals, f: Family): FamilyGlobals {
  const g = globals.families.find((x) => x.family === f)
  if (!g) throw new NftRenderError('NFT_FAMILY', `the node does not run IPv${f}, but an intent of that family was given`)
  return g
}

function anon(items: readonly string[]): string {
  return `{ ${items.join(', ')} }`
}

// ---------------------------------------------------------------- the skeleton

function fixedMap(name: string, spec: string): NftObject {
  return { kind: 'map', name, spec, rules: [] }
}
function fixedSet(name: string, spec: string): NftObject {
  return { kind: 'set', name, spec, rules: [] }
}
function chain(name: string, rules: readonly string[], spec = ''): NftObject {
  return { kind: 'chain', name, spec, rules }
}

/** The node-port match of a family: on every local address (not loopback) or on the chosen addresses. */
function nodePortMatch(fam: Fam, g: FamilyGlobals): string {
  if (g.nodePortAddresses === 'local') return `fib daddr type local ${fam.nf} daddr != ${fam.loopback}`
  if (g.nodePortAddresses.length === 0) return ''
  return `${fam.nf} daddr ${anon(g.nodePortAddresses)}`
}

const KEYS: Record<FrontType, (fam: Fam) => string> = {
  ip: (fam) => `${fam.nf} daddr . meta l4proto . th dport`,
  np: () => 'meta l4proto . th dport',
}

/**
 * The dispatch of one family: per frontend type, the pod and node override maps
 * first, then the default. `mapName` picks the nat or the filter maps.
 */
function dispatchRules(fam: Fam, g: FamilyGlobals, mapName: (front: FrontType, c: SourceClass, fam: Fam) => string): string[] {
  const rules: string[] = []
  const np = nodePortMatch(fam, g)
  for (const front of ['ip', 'np'] as FrontType[]) {
    if (front === 'np' && np === '') continue
    const pre = front === 'np' ? `${np} ` : ''
    const key = KEYS[front](fam)
    if (g.clusterCIDRs.length > 0) rules.push(`${pre}${fam.nf} saddr ${anon(g.clusterCIDRs)} ${key} vmap @${mapName(front, 'pod', fam)}`)
    // `ip daddr` in the key or in the NodePort match binds each rule to its family.
    rules.push(`${pre}fib saddr type local ${key} vmap @${mapName(front, 'node', fam)}`)
    rules.push(`${pre}${key} vmap @${mapName(front, 'other', fam)}`)
  }
  return rules
}

function familyMaps(fam: Fam): NftObject[] {
  const out: NftObject[] = []
  const ipKey = `${fam.addrType} . inet_proto . inet_service`
  const npKey = 'inet_proto . inet_service'
  for (const c of ['other', 'pod', 'node'] as SourceClass[]) {
    out.push(fixedMap(dispatchMap('ip', c, fam), `type ${ipKey} : verdict ;`))
    out.push(fixedMap(dispatchMap('np', c, fam), `type ${npKey} : verdict ;`))
    out.push(fixedMap(verdictMap('ip', c, fam), `type ${ipKey} : verdict ;`))
    out.push(fixedMap(verdictMap('np', c, fam), `type ${npKey} : verdict ;`))
  }
  // One backends map per protocol. The data cannot be `th dport` (nft 1.0.6 then
  // refuses later rules: research, finding 2), and with `tcp dport` for all, nft
  // 1.0.6 sometimes adds an implicit `meta l4proto tcp` to the dnat rule, so UDP
  // and SCTP were never DNATed; each dnat rule now matches its protocol itself.
  for (const proto of PROTOCOLS) {
    const data = `${fam.nf} daddr . ${proto} dport`
    for (const slot of ['main', 'alt'] as ListSlot[]) {
      out.push(fixedMap(backendsMap('ip', slot, fam, proto), `typeof ${fam.nf} daddr . meta l4proto . th dport . numgen random mod 65536 : ${data} ;`))
      out.push(fixedMap(backendsMap('np', slot, fam, proto), `typeof meta l4proto . th dport . numgen random mod 65536 : ${data} ;`))
    }
  }
  out.push(fixedMap(`${FRONT_MAPS.ip.affinity}-${fam.v}`, `type ${ipKey} : verdict ;`))
  out.push(fixedMap(`${FRONT_MAPS.np.affinity}-${fam.v}`, `type ${npKey} : verdict ;`))
  out.push(fixedSet(`cluster-ips-${fam.v}`, `type ${fam.addrType} ;`))
  out.push(fixedSet(`cluster-ports-${fam.v}`, `type ${ipKey} ;`))
  out.push(fixedSet(`firewall-${fam.v}`, `type ${ipKey} ;`))
  out.push(fixedSet(`source-ranges-${fam.v}`, `type ${ipKey} . ${fam.addrType} ; flags interval ;`))
  out.push(fixedSet(`hairpin-${fam.v}`, `type ${fam.addrType} . ${fam.addrType} ;`))
  return out
}

/** The fixed part of the table: hooks, dispatch, reject, masquerade, and every fixed map. */
export function renderSkeleton(globals: ProxyGlobals): NftObject[] {
  const fams = [...globals.families].sort((a, b) => a.family - b.family)
  const objects: NftObject[] = []
  // Before DNAT (dstnat - 10): reject and drop decisions see the frontend address.
  objects.push(chain('filter-prerouting', ['ct state new jump filter-check'], 'type filter hook prerouting priority dstnat - 10 ;'))
  objects.push(chain('filter-output', ['ct state new jump filter-check'], 'type filter hook output priority -110 ;'))
  objects.push(chain('nat-prerouting', ['jump services'], 'type nat hook prerouting priority dstnat ;'))
  objects.push(chain('nat-output', ['jump services'], 'type nat hook output priority -100 ;'))
  objects.push(chain('nat-postrouting', ['jump masquerading'], 'type nat hook postrouting priority srcnat ;'))

  const check: string[] = []
  const services: string[] = []
  const masq: string[] = []
  for (const g of fams) {
    const fam = famOf(g.family)
    const ipKey = KEYS.ip(fam)
    check.push(`${ipKey} @firewall-${fam.v} ${ipKey} . ${fam.nf} saddr != @source-ranges-${fam.v} drop`)
    check.push(...dispatchRules(fam, g, verdictMap))
    // A clusterIP we know, on a port it does not have: refuse at once.
    check.push(`${fam.nf} daddr @cluster-ips-${fam.v} ${ipKey} != @cluster-ports-${fam.v} goto reject-chain`)
    services.push(...dispatchRules(fam, g, dispatchMap))
    // Record the endpoint an affinity chain chose; `ct original proto-dst` has a
    // type only once the protocol is known, hence one rule per protocol.
    for (const p of PROTOCOLS) {
      const sticky = `ct mark & ${AFFINITY_MARK} == ${AFFINITY_MARK} meta nfproto ${fam.f === 4 ? 'ipv4' : 'ipv6'} meta l4proto ${p}`
      masq.push(`${sticky} ct original ${fam.nf} daddr . ct original protocol . ct original proto-dst vmap @${FRONT_MAPS.ip.affinity}-${fam.v}`)
      masq.push(`${sticky} ct original protocol . ct original proto-dst vmap @${FRONT_MAPS.np.affinity}-${fam.v}`)
    }
    // Hairpin: an endpoint reaching itself through a frontend must see another source.
    masq.push(`ct status dnat ${fam.nf} saddr . ${fam.nf} daddr @hairpin-${fam.v} masquerade fully-random`)
  }
  masq.push(`meta mark & ${MASQ_MARK} == 0 return`, `meta mark set meta mark ^ ${MASQ_MARK}`, 'masquerade fully-random')
  objects.push(chain('filter-check', check))
  objects.push(chain('services', services))
  objects.push(chain('masquerading', masq))
  // TCP gets a reset: plain reject is ICMP, which the kernel rate-limits (research, Q3).
  objects.push(chain('reject-chain', ['meta l4proto tcp reject with tcp reset', 'reject']))
  for (const g of fams) objects.push(...familyMaps(famOf(g.family)))
  return objects
}

// ---------------------------------------------------------------- per intent

interface Frontend {
  kind: FrontendKind
  front: FrontType
  /** the map key of the frontend */
  key: string
}

function frontendsOf(intent: PortIntent): Frontend[] {
  const p = intent.protocol
  const out: Frontend[] = []
  if (intent.clusterIP) out.push({ kind: 'cluster-ip', front: 'ip', key: `${intent.clusterIP} . ${p} . ${intent.port}` })
  for (const ip of intent.externalIPs) out.push({ kind: 'external-ip', front: 'ip', key: `${ip} . ${p} . ${intent.port}` })
  for (const ip of intent.loadBalancerIPs) out.push({ kind: 'load-balancer', front: 'ip', key: `${ip} . ${p} . ${intent.port}` })
  if (intent.nodePort !== null) out.push({ kind: 'node-port', front: 'np', key: `${p} . ${intent.nodePort}` })
  return out
}

type EndpointsRoute = Extract<Route, { verdict: 'endpoints' }>

function sameList(a: readonly EndpointTarget[], b: readonly EndpointTarget[]): boolean {
  return a.length === b.length && a.every((e, i) => e.ip === b[i]!.ip && e.port === b[i]!.port)
}

function sameRoute(a: Route, b: Route): boolean {
  if (a.verdict !== 'endpoints' || b.verdict !== 'endpoints') return a.verdict === b.verdict
  return a.masquerade === b.masquerade && a.affinityTimeoutSeconds === b.affinityTimeoutSeconds && sameList(a.endpoints, b.endpoints)
}

function filterVerdict(r: Route | undefined): string {
  if (r === undefined || r.verdict === 'endpoints') return 'return'
  return r.verdict === 'drop' ? 'drop' : 'goto reject-chain'
}

/** The name of the shared chain for one (family, frontend type, list, masquerade rule, affinity, M). */
export function lbChainName(fam: Fam, front: FrontType, slot: ListSlot, masq: MasqRule, affinity: number, m: number): string {
  return `lb-${fam.v}-${front}-${slot}-${masq}${affinity > 0 ? `-aff${affinity}` : ''}-${m}`
}

function stickyMapName(fam: Fam, proto: L4Protocol, timeout: number): string {
  return `sticky-${fam.v}-${proto}-${timeout}`
}

/** The update chain an affinity element jumps to; its name minus "-update" is its map's. */
function stickyUpdateChain(fam: Fam, proto: L4Protocol, timeout: number): string {
  return `sticky-update-${fam.v}-${proto}-${timeout}`
}

// Per protocol, as the backends maps (see familyMaps): the lb chains of this
// timeout dnat from all three, so all three exist together.
function stickyObjects(fam: Fam, timeout: number): NftObject[] {
  const key = `ct original ${fam.nf} saddr . ct original ${fam.nf} daddr . ct original protocol . ct original proto-dst`
  return PROTOCOLS.flatMap((p): NftObject[] => [
    {
      kind: 'map',
      name: stickyMapName(fam, p, timeout),
      // kube-proxy's semantics: the client sticks to its endpoint for timeoutSeconds after its last new connection.
      spec: `typeof ${fam.nf} saddr . ${fam.nf} daddr . meta l4proto . th dport : ${fam.nf} daddr . ${p} dport ; size 65535 ; flags dynamic,timeout ; timeout ${timeout}s ;`,
      rules: [],
      dynamic: true,
    },
    // `update` with this key needs the protocol matched in the same rule (research, finding 5).
    chain(stickyUpdateChain(fam, p, timeout), [`meta l4proto ${p} update @${stickyMapName(fam, p, timeout)} { ${key} : ${fam.nf} daddr . ${p} dport }`]),
  ])
}

function lbChain(fam: Fam, g: FamilyGlobals, front: FrontType, slot: ListSlot, masq: MasqRule, affinity: number, m: number): NftObject {
  const rules: string[] = []
  const mark = `meta mark set meta mark | ${MASQ_MARK}`
  if (masq === 'masq') rules.push(mark)
  if (masq === 'masqext') rules.push(`${fam.nf} saddr != ${anon(g.clusterCIDRs)} ${mark}`)
  if (affinity > 0) {
    rules.push(`ct mark set ct mark | ${AFFINITY_MARK}`)
    for (const p of PROTOCOLS) rules.push(`meta l4proto ${p} dnat ${fam.nf} to ${fam.nf} saddr . ${fam.nf} daddr . meta l4proto . th dport map @${stickyMapName(fam, p, affinity)}`)
  }
  const key = front === 'ip' ? `${KEYS.ip(fam)} . ` : 'meta l4proto . th dport . '
  for (const p of PROTOCOLS) rules.push(`meta l4proto ${p} dnat ${fam.nf} to ${key}numgen random mod ${m} map @${backendsMap(front, slot, fam, p)}`)
  return chain(lbChainName(fam, front, slot, masq, affinity, m), rules)
}

// Intents come from the planner's strict parsers; these checks only make sure
// no field can carry nft syntax into the script (a brace, a newline, a keyword).
const V4_ADDR = /^\d{1,3}(\.\d{1,3}){3}$/
const V6_ADDR = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/

function checkAddr(fam: Fam, what: string, v: string, prefix = false): void {
  const parts = v.split('/')
  const len = parts[1]
  const ok = parts.length <= (prefix ? 2 : 1) && (fam.f === 4 ? V4_ADDR : V6_ADDR).test(parts[0]!) &&
    (len === undefined || (/^\d{1,3}$/.test(len) && Number(len) <= (fam.f === 4 ? 32 : 128)))
  if (!ok) throw new NftRenderError('NFT_INPUT', `${what}: ${JSON.stringify(v)} is not an IPv${fam.f} ${prefix ? 'address or CIDR' : 'address'}`)
}

function checkPort(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new NftRenderError('NFT_INPUT', `${what}: ${String(v)} is not a port (1-65535)`)
}

function checkIntent(fam: Fam, g: FamilyGlobals, i: PortIntent): void {
  const k = i.key
  if (!(PROTOCOLS as readonly string[]).includes(i.protocol)) throw new NftRenderError('NFT_INPUT', `${k}: protocol ${JSON.stringify(i.protocol)} is not tcp, udp or sctp`)
  if (i.clusterIP !== '') checkAddr(fam, `${k} clusterIP`, i.clusterIP)
  checkPort(`${k} port`, i.port)
  if (i.nodePort !== null) checkPort(`${k} nodePort`, i.nodePort)
  for (const a of i.externalIPs) checkAddr(fam, `${k} externalIPs`, a)
  for (const a of i.loadBalancerIPs) checkAddr(fam, `${k} loadBalancerIPs`, a)
  for (const c of i.loadBalancerSourceRanges) checkAddr(fam, `${k} loadBalancerSourceRanges`, c, true)
  for (const e of [...i.clusterEndpoints, ...i.localEndpoints]) {
    checkAddr(fam, `${k} endpoint`, e.ip)
    checkPort(`${k} endpoint ${e.ip} port`, e.port)
  }
  if (!Number.isInteger(i.affinityTimeoutSeconds) || i.affinityTimeoutSeconds < 0 || i.affinityTimeoutSeconds > 2 ** 31 - 1) {
    throw new NftRenderError('NFT_INPUT', `${k} affinityTimeoutSeconds: ${String(i.affinityTimeoutSeconds)} is not a whole number of seconds`)
  }
  for (const c of g.clusterCIDRs) checkAddr(fam, 'clusterCIDRs', c, true)
  if (g.nodePortAddresses !== 'local') for (const c of g.nodePortAddresses) checkAddr(fam, 'nodePortAddresses', c, true)
}

/** Everything one intent puts in the table. */
export function renderIntent(intent: PortIntent, globals: ProxyGlobals): IntentRender {
  const fam = famOf(intent.family)
  const g = globalsFor(globals, intent.family)
  checkIntent(fam, g, intent)
  const detection = g.clusterCIDRs.length > 0
  const node = { masqueradeAll: globals.masqueradeAll, hasLocalDetection: detection }
  const elements: NftElement[] = []
  const objects = new Map<string, NftObject>()
  const add = (set: string, key: string, value?: string) => elements.push(value === undefined ? { set, key } : { set, key, value })
  const classes: SourceClass[] = detection ? ['pod', 'node'] : ['node']

  if (intent.clusterIP) {
    add(`cluster-ips-${fam.v}`, intent.clusterIP)
    add(`cluster-ports-${fam.v}`, `${intent.clusterIP} . ${intent.protocol} . ${intent.port}`)
  }

  for (const fe of frontendsOf(intent)) {
    if (fe.front === 'np' && nodePortMatch(fam, g) === '') continue
    const routes = {} as Record<SourceClass, Route>
    for (const c of ['other', ...classes] as SourceClass[]) routes[c] = routePacket(intent, fe.kind, SOURCES[c], node)
    const other = routes.other

    // filter: reject and drop, per class where it differs from the default
    if (other.verdict !== 'endpoints') add(verdictMap(fe.front, 'other', fam), fe.key, filterVerdict(other))
    for (const c of classes) {
      if (filterVerdict(routes[c]) !== filterVerdict(other)) add(verdictMap(fe.front, c, fam), fe.key, filterVerdict(routes[c]))
    }

    // nat: which shared chain each class goes to
    const lists: (readonly EndpointTarget[])[] = []
    const slotOf = (eps: readonly EndpointTarget[]): ListSlot => {
      let i = lists.findIndex((l) => sameList(l, eps))
      if (i < 0) i = lists.push(eps) - 1
      if (i > 1) throw new NftRenderError('NFT_LISTS', `${intent.key}: more than two endpoint lists for one frontend`)
      return i === 0 ? 'main' : 'alt'
    }
    const goto = (r: EndpointsRoute, masq: MasqRule) => {
      const lb = lbChain(fam, g, fe.front, slotOf(r.endpoints), masq, r.affinityTimeoutSeconds, r.endpoints.length)
      objects.set(lb.name, lb)
      return `goto ${lb.name}`
    }
    const constMasq = (r: EndpointsRoute): MasqRule => r.masquerade ? 'masq' : 'keep'
    const pod = routes.pod
    // One chain serves every class when only the in-cluster test tells pods from
    // others (the ClusterIP case with local detection): `masqext` is that test.
    const merged = other.verdict === 'endpoints' && pod !== undefined && pod.verdict === 'endpoints' &&
      other.masquerade && !pod.masquerade && sameRoute({ ...pod, masquerade: true }, other)
    if (other.verdict === 'endpoints') add(dispatchMap(fe.front, 'other', fam), fe.key, goto(other, merged ? 'masqext' : constMasq(other)))
    for (const c of classes) {
      const r = routes[c]
      if (r.verdict !== 'endpoints' || sameRoute(r, other) || (c === 'pod' && merged)) continue
      add(dispatchMap(fe.front, c, fam), fe.key, goto(r, constMasq(r)))
    }

    // the endpoint lists, one slot per endpoint: exact 1/M balance
    lists.forEach((eps, i) => {
      const set = backendsMap(fe.front, i === 0 ? 'main' : 'alt', fam, intent.protocol)
      eps.forEach((ep, slot) => add(set, `${fe.key} . ${slot}`, `${ep.ip} . ${ep.port}`))
    })

    if (intent.affinityTimeoutSeconds > 0 && lists.length > 0) {
      for (const o of stickyObjects(fam, intent.affinityTimeoutSeconds)) objects.set(o.name, o)
      add(`${FRONT_MAPS[fe.front].affinity}-${fam.v}`, fe.key, `jump ${stickyUpdateChain(fam, intent.protocol, intent.affinityTimeoutSeconds)}`)
    }

    if (fe.kind === 'load-balancer' && intent.loadBalancerSourceRanges.length > 0) {
      add(`firewall-${fam.v}`, fe.key)
      for (const cidr of intent.loadBalancerSourceRanges) add(`source-ranges-${fam.v}`, `${fe.key} . ${cidr}`)
    }
  }

  // Hairpin pairs for every endpoint on this node (only those can reach themselves through us).
  const local = new Set<string>()
  for (const ep of [...intent.clusterEndpoints, ...intent.localEndpoints]) if (ep.local) local.add(ep.ip)
  for (const ip of [...local].sort()) add(`hairpin-${fam.v}`, `${ip} . ${ip}`)

  return { elements: dedupe(elements), objects: [...objects.values()] }
}

function dedupe(elements: NftElement[]): NftElement[] {
  const seen = new Set<string>()
  return elements.filter((e) => {
    const id = elementId(e)
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

// ---------------------------------------------------------------- deltas

export interface RenderDelta {
  add: NftElement[]
  delete: NftElement[]
  /** on-demand objects the next intent needs (the applier creates the ones it does not have yet) */
  objects: NftObject[]
}

/** Element changes that turn one render of an intent into another (either may be absent). */
export function diffRenders(before: RenderedElements | undefined, after: IntentRender | undefined): RenderDelta {
  const old = new Map((before?.elements ?? []).map((e) => [elementId(e), e]))
  const now = new Map((after?.elements ?? []).map((e) => [elementId(e), e]))
  const del: NftElement[] = []
  const add: NftElement[] = []
  for (const [id, e] of old) {
    const n = now.get(id)
    // A map element with new data is deleted and added: nft has no replace (research, finding 6).
    if (!n || n.value !== e.value) del.push(e)
  }
  for (const [id, e] of now) {
    const o = old.get(id)
    if (!o || o.value !== e.value) add.push(e)
  }
  return { add, delete: del, objects: after?.objects ?? [] }
}

/** Element changes that turn what `previous` wrote into what `next` needs; touches nothing else. */
export function renderDelta(previous: PortIntent | undefined, next: PortIntent | undefined, globals: ProxyGlobals): RenderDelta {
  return diffRenders(previous && renderIntent(previous, globals), next && renderIntent(next, globals))
}

/** The identity of an element within the table (its set and key; the value is its content). */
export function elementId(e: NftElement): string {
  return `${e.set}\u0000${e.key}`
}

// ---------------------------------------------------------------- nft text

const T = `${FAMILY} ${TABLE}`

function defineObject(o: NftObject): string {
  return `add ${o.kind} ${T} ${o.name} { ${o.spec} }`.replace('{  }', '')
}

export function objectCommands(objects: readonly NftObject[]): string[] {
  const lines: string[] = []
  for (const o of objects) lines.push(defineObject(o).trimEnd())
  for (const o of objects) for (const r of o.rules) lines.push(`add rule ${T} ${o.name} ${r}`)
  return lines
}

function elementText(e: NftElement, withValue: boolean): string {
  return withValue && e.value !== undefined ? `${e.key} : ${e.value}` : e.key
}

/** `add element` / `delete element` commands, one per set, in first-seen set order. */
export function elementCommands(verb: 'add' | 'delete', elements: readonly NftElement[]): string[] {
  const bySet = new Map<string, string[]>()
  for (const e of elements) {
    let l = bySet.get(e.set)
    if (!l) bySet.set(e.set, l = [])
    l.push(elementText(e, verb === 'add'))
  }
  return [...bySet].map(([set, items]) => `${verb} element ${T} ${set} { ${items.join(', ')} }`)
}

export interface FullRender {
  /** skeleton plus every on-demand object, skeleton first */
  objects: NftObject[]
  elements: NftElement[]
  /** per intent key, what it wrote (the applier's ledger starts from this) */
  byIntent: Map<string, IntentRender>
}

export function renderPlan(plan: ProxyPlan): FullRender {
  const objects = new Map<string, NftObject>()
  for (const o of renderSkeleton(plan.globals)) objects.set(o.name, o)
  const byIntent = new Map<string, IntentRender>()
  const elements: NftElement[] = []
  const onDemand = new Map<string, NftObject>()
  for (const key of [...plan.intents.keys()].sort()) {
    const r = renderIntent(plan.intents.get(key)!, plan.globals)
    byIntent.set(key, r)
    elements.push(...r.elements)
    for (const o of r.objects) onDemand.set(o.name, o)
  }
  for (const name of [...onDemand.keys()].sort()) objects.set(name, onDemand.get(name)!)
  return { objects: [...objects.values()], elements: dedupe(elements), byIntent }
}

/**
 * The whole table as one nft script, atomic when run as one transaction: the
 * table is created if missing, every rule is flushed and re-added, every map that
 * is ours to fill is flushed and refilled. Affinity maps keep their entries.
 * `stale` are on-demand objects of an earlier sync that nothing refers to any
 * more; chains go before maps, since a chain may name a map.
 */
/** `elements`: which of the elements to write here (all by default; the rest go over nfnetlink, element-writer.ts). */
export function fullScript(r: FullRender, stale: readonly NftObject[] = [], elements: (e: NftElement) => boolean = () => true): string {
  const lines = [`add table ${T}`, `flush table ${T}`]
  for (const o of r.objects) lines.push(defineObject(o).trimEnd())
  for (const o of r.objects) if (o.kind !== 'chain' && !o.dynamic) lines.push(`flush ${o.kind} ${T} ${o.name}`)
  for (const o of r.objects) for (const rule of o.rules) lines.push(`add rule ${T} ${o.name} ${rule}`)
  lines.push(...elementCommands('add', r.elements.filter(elements)))
  // Each is (re)declared first, so that the delete holds when someone already removed it.
  for (const o of stale) lines.push(defineObject(o).trimEnd())
  for (const o of stale) if (o.kind === 'chain') lines.push(`delete chain ${T} ${o.name}`)
  for (const o of stale) if (o.kind !== 'chain') lines.push(`delete ${o.kind} ${T} ${o.name}`)
  return lines.join('\n') + '\n'
}
