// The iptables renderer: intents -> iptables-restore text, per IP family, in
// kube-proxy's chain layout (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-SVC/SVL/EXT/FW/SEP,
// KUBE-MARK-MASQ, KUBE-POSTROUTING in nat; KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
// KUBE-PROXY-FIREWALL in filter). Pure: no I/O, and every routing decision comes
// from route.ts, so the rules and the tracer cannot disagree.
//
// Every rule carries a comment starting with "pontoon", the mark that lets
// cleanup tell our rules from kube-proxy's or anyone else's.
//
// IPv4 and IPv6 share every line of this file: the family only picks the
// table set (iptables-restore vs ip6tables-restore) and the ipset names.
import type { Family } from '../../net/address.ts'
import { ipv4Value, parseCidr, parseIp } from '../../net/address.ts'
import type { EndpointTarget, FamilyGlobals, L4Protocol, PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from '../plan/intent.ts'
import { externalTargets, externallyAccessible, internalTargets, type EmptyVerdict } from '../plan/route.ts'
import { endpointChain, FILTER_CHAINS, hostPort, intentChains, MANGLE_CHAINS, NAT_CHAINS, servicePortName, setName } from './names.ts'

export class IptRenderError extends Error {
  readonly code: 'IPT_BAD_INTENT' | 'IPT_FAMILY'
  constructor(code: 'IPT_BAD_INTENT' | 'IPT_FAMILY', readonly key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options)
    this.name = 'IptRenderError'
    this.code = code
  }
}

/** kube-proxy's default masquerade bit. */
export const MASQ_MARK = '0x4000'
export const MARK = 'pontoon'
export type Table = 'nat' | 'filter' | 'mangle'

/** One rule: the chain it lives in and its match/target arguments (argv form, never a shell string). */
export interface Rule {
  chain: string
  spec: readonly string[]
}

/** What one intent writes: its own chains (nat) and its rules in the shared chains. */
export interface IntentRules {
  key: string
  family: Family
  /** chains only this intent uses, in nat */
  chains: readonly string[]
  /** rules inside `chains` */
  own: readonly Rule[]
  /** rules this intent adds to KUBE-SERVICES / KUBE-NODEPORTS in nat */
  natShared: readonly Rule[]
  /** rules this intent adds to filter's KUBE-SERVICES / KUBE-EXTERNAL-SERVICES / KUBE-PROXY-FIREWALL */
  filterShared: readonly Rule[]
}

// ---------------------------------------------------------------- rule pieces

const comment = (text: string): string[] => ['-m', 'comment', '--comment', `${MARK} ${text}`]
const proto = (p: L4Protocol): string[] => ['-p', p, '-m', p]
const dst = (ip: string, p: L4Protocol, port: number): string[] => ['-d', ip, ...proto(p), '--dport', String(port)]

function verdict(v: EmptyVerdict, p: L4Protocol): string[] {
  if (v === 'drop') return ['-j', 'DROP']
  // A TCP reset refuses at once; ICMP (all UDP and SCTP can get) is rate-limited by the kernel.
  return p === 'tcp' ? ['-j', 'REJECT', '--reject-with', 'tcp-reset'] : ['-j', 'REJECT']
}

/** kube-proxy's local detector over the cluster CIDRs; one CIDR is a plain -s, several an ipset. */
function localMatch(fg: FamilyGlobals, negate: boolean): string[] {
  if (fg.clusterCIDRs.length === 1) return negate ? ['!', '-s', fg.clusterCIDRs[0]!] : ['-s', fg.clusterCIDRs[0]!]
  const set = setName('CLUSTER-CIDRS', fg.family)
  return negate ? ['-m', 'set', '!', '--match-set', set, 'src'] : ['-m', 'set', '--match-set', set, 'src']
}

/** kube-proxy's probability for the i-th of n endpoints: 1/(n-i), ten decimals. */
export function probability(remaining: number): string {
  return (1 / remaining).toFixed(10)
}

// ---------------------------------------------------------------- validation

const SERVICE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp'])

function checkPort(key: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new IptRenderError('IPT_BAD_INTENT', key, `${what} ${n} is not a port (1-65535)`)
}

function checkIp(key: string, what: string, ip: string, family: Family): void {
  // the common case without parseIp's BigInt: a cold plan checks ~100,000 endpoint addresses
  if (family === 4 && typeof ip === 'string' && ipv4Value(ip) !== undefined) return
  let a
  try { a = parseIp(ip) } catch (e) { throw new IptRenderError('IPT_BAD_INTENT', key, `${what} ${JSON.stringify(ip)}: ${(e as Error).message}`, { cause: e }) }
  if (a.family !== family) throw new IptRenderError('IPT_BAD_INTENT', key, `${what} ${ip} is not IPv${family}`)
}

function checkCidr(key: string, what: string, cidr: string, family: Family): void {
  let c
  try { c = parseCidr(cidr, { hostBits: 'keep' }) } catch (e) { throw new IptRenderError('IPT_BAD_INTENT', key, `${what} ${JSON.stringify(cidr)}: ${(e as Error).message}`, { cause: e }) }
  if (c.addr.family !== family) throw new IptRenderError('IPT_BAD_INTENT', key, `${what} ${cidr} is not IPv${family}`)
}

/**
 * Everything that reaches restore text is checked first: names go into comments
 * and addresses into arguments, so a bad one must be refused here, before any
 * table is written, not halfway through a restore.
 */
export function validateIntent(i: PortIntent): void {
  const k = i.key
  if (!SERVICE.test(i.service)) throw new IptRenderError('IPT_BAD_INTENT', k, `service ${JSON.stringify(i.service)} is not namespace/name`)
  if (i.portName !== '' && !PORT_NAME.test(i.portName)) throw new IptRenderError('IPT_BAD_INTENT', k, `port name ${JSON.stringify(i.portName)} is not a DNS label`)
  if (!PROTOCOLS.has(i.protocol)) throw new IptRenderError('IPT_BAD_INTENT', k, `protocol ${JSON.stringify(i.protocol)} is not tcp, udp or sctp`)
  checkIp(k, 'clusterIP', i.clusterIP, i.family)
  checkPort(k, 'port', i.port)
  if (i.nodePort !== null) checkPort(k, 'nodePort', i.nodePort)
  for (const ip of i.externalIPs) checkIp(k, 'externalIP', ip, i.family)
  for (const ip of i.loadBalancerIPs) checkIp(k, 'loadBalancer IP', ip, i.family)
  for (const c of i.loadBalancerSourceRanges) checkCidr(k, 'loadBalancerSourceRange', c, i.family)
  if (!Number.isInteger(i.affinityTimeoutSeconds) || i.affinityTimeoutSeconds < 0) {
    throw new IptRenderError('IPT_BAD_INTENT', k, `affinity timeout ${i.affinityTimeoutSeconds} is not a whole number of seconds`)
  }
  for (const ep of [...i.clusterEndpoints, ...i.localEndpoints]) {
    checkIp(k, 'endpoint', ep.ip, i.family)
    checkPort(k, 'endpoint port', ep.port)
  }
}

export function validateGlobals(fg: FamilyGlobals): void {
  const k = `globals IPv${fg.family}`
  for (const c of fg.clusterCIDRs) checkCidr(k, 'cluster CIDR', c, fg.family)
  if (fg.nodePortAddresses !== 'local') {
    for (const a of fg.nodePortAddresses) {
      if (a.includes('/')) checkCidr(k, 'nodePort address', a, fg.family)
      else checkIp(k, 'nodePort address', a, fg.family)
    }
  }
}

// ---------------------------------------------------------------- one intent

/** The rules of one policy chain (SVC or SVL): affinity, then kube-proxy's 1/n, 1/(n-1)... random split. */
function policyChainRules(chain: string, i: PortIntent, spn: string, eps: readonly EndpointTarget[]): Rule[] {
  const rules: Rule[] = []
  if (i.affinityTimeoutSeconds > 0) {
    for (const ep of eps) {
      const sep = endpointChain(i, ep)
      rules.push({ chain, spec: [...comment(`${spn} -> ${hostPort(ep.ip, ep.port)}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(i.affinityTimeoutSeconds), '--reap', '-j', sep] })
    }
  }
  eps.forEach((ep, n) => {
    const random = n < eps.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(eps.length - n)] : []
    rules.push({ chain, spec: [...comment(`${spn} -> ${hostPort(ep.ip, ep.port)}`), ...random, '-j', endpointChain(i, ep)] })
  })
  return rules
}

function endpointChainRules(i: PortIntent, spn: string, ep: EndpointTarget): Rule[] {
  const chain = endpointChain(i, ep)
  const affinity = i.affinityTimeoutSeconds > 0 ? ['-m', 'recent', '--name', chain, '--set'] : []
  return [
    // hairpin: a backend reaching itself through the Service must see the node, not itself, as the source
    { chain, spec: [...comment(spn), '-s', ep.ip, '-j', 'KUBE-MARK-MASQ'] },
    { chain, spec: [...comment(spn), ...affinity, ...proto(i.protocol), '-j', 'DNAT', '--to-destination', hostPort(ep.ip, ep.port)] },
  ]
}

export function renderIntent(i: PortIntent, fg: FamilyGlobals, masqueradeAll: boolean): IntentRules {
  const spn = servicePortName(i)
  const ch = intentChains(i)
  const p = i.protocol
  const internal = internalTargets(i)
  const external = externalTargets(i)
  const accessible = externallyAccessible(i)
  const hasLocalDetection = fg.clusterCIDRs.length > 0
  const internalChain = i.internalPolicyLocal ? ch.svl : ch.svc
  const externalChain = i.externalPolicyLocal ? ch.svl : ch.svc
  // route.ts: with eTP Local, pods and the node itself reach every endpoint (the cluster list)
  const shortCircuit = i.externalPolicyLocal && i.clusterEndpoints.length > 0
  const extReachable = accessible && (external.endpoints.length > 0 || shortCircuit)

  const own: Rule[] = []
  const natShared: Rule[] = []
  const filterShared: Rule[] = []
  const policyChains = new Map<string, readonly EndpointTarget[]>()

  // ---- internal traffic: the clusterIP
  if (internal.endpoints.length > 0) {
    policyChains.set(internalChain, internal.endpoints)
    natShared.push({ chain: 'KUBE-SERVICES', spec: [...comment(`${spn} cluster IP`), ...dst(i.clusterIP, p, i.port), '-j', internalChain] })
    if (masqueradeAll) {
      own.push({ chain: internalChain, spec: [...comment(`${spn} cluster IP`), ...dst(i.clusterIP, p, i.port), '-j', 'KUBE-MARK-MASQ'] })
    } else if (hasLocalDetection) {
      // off-cluster sources routed to the Service range may leave the node again: masquerade them
      own.push({ chain: internalChain, spec: [...comment(`${spn} cluster IP`), ...dst(i.clusterIP, p, i.port), ...localMatch(fg, true), '-j', 'KUBE-MARK-MASQ'] })
    }
  } else {
    filterShared.push({ chain: 'KUBE-SERVICES', spec: [...comment(`${spn}: ${internal.emptyReason}`), ...dst(i.clusterIP, p, i.port), ...verdict(internal.whenEmpty, p)] })
  }

  // ---- external traffic: NodePort, externalIPs, LB IPs, all through KUBE-EXT
  if (extReachable) {
    const ext: Rule[] = []
    if (!i.externalPolicyLocal) {
      ext.push({ chain: ch.ext, spec: [...comment(`masquerade traffic for ${spn} external destinations`), '-j', 'KUBE-MARK-MASQ'] })
    } else if (shortCircuit) {
      policyChains.set(ch.svc, i.clusterEndpoints)
      if (hasLocalDetection) {
        ext.push({ chain: ch.ext, spec: [...comment(`pod traffic for ${spn} external destinations`), ...localMatch(fg, false), '-j', ch.svc] })
      }
      // the node's own source is the LB/node IP itself: it must be masqueraded to come back
      ext.push({ chain: ch.ext, spec: [...comment(`masquerade LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', 'KUBE-MARK-MASQ'] })
      ext.push({ chain: ch.ext, spec: [...comment(`route LOCAL traffic for ${spn} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', ch.svc] })
    }
    if (external.endpoints.length > 0) {
      policyChains.set(externalChain, external.endpoints)
      ext.push({ chain: ch.ext, spec: [...comment(`${spn} external destinations`), '-j', externalChain] })
    }
    own.push(...ext)

    for (const ip of i.externalIPs) {
      natShared.push({ chain: 'KUBE-SERVICES', spec: [...comment(`${spn} external IP`), ...dst(ip, p, i.port), '-j', ch.ext] })
    }
    const ranged = i.loadBalancerSourceRanges.length > 0 && i.loadBalancerIPs.length > 0
    for (const ip of i.loadBalancerIPs) {
      natShared.push({ chain: 'KUBE-SERVICES', spec: [...comment(`${spn} loadbalancer IP`), ...dst(ip, p, i.port), '-j', ranged ? ch.fw : ch.ext] })
    }
    if (ranged) {
      own.push({ chain: ch.fw, spec: [...comment(`${spn} loadbalancer IP`), '-m', 'set', '--match-set', setName('LB-SRC', i.family), 'dst,dst,src', '-j', ch.ext] })
    }
    if (i.nodePort !== null) {
      natShared.push({ chain: 'KUBE-NODEPORTS', spec: [...comment(spn), ...proto(p), '--dport', String(i.nodePort), '-j', ch.ext] })
    }
  }
  if (accessible && external.endpoints.length === 0) {
    // nothing DNATed this packet: reject (no endpoints at all) or drop (none on this node)
    const v = verdict(external.whenEmpty, p)
    const c = comment(`${spn}: ${external.emptyReason}`)
    for (const ip of [...i.externalIPs, ...i.loadBalancerIPs]) {
      filterShared.push({ chain: 'KUBE-EXTERNAL-SERVICES', spec: [...c, ...dst(ip, p, i.port), ...v] })
    }
    if (i.nodePort !== null) {
      for (const d of nodePortDestinations(fg)) {
        filterShared.push({ chain: 'KUBE-EXTERNAL-SERVICES', spec: [...c, ...d, ...proto(p), '--dport', String(i.nodePort), ...v] })
      }
    }
  }
  if (i.loadBalancerSourceRanges.length > 0) {
    // route.ts: outside the ranges is dropped whatever the endpoints
    for (const ip of i.loadBalancerIPs) {
      filterShared.push({ chain: 'KUBE-PROXY-FIREWALL', spec: [...comment(`${spn} traffic not accepted by ${ch.fw}`), ...dst(ip, p, i.port), '-m', 'set', '!', '--match-set', setName('LB-SRC', i.family), 'dst,dst,src', '-j', 'DROP'] })
    }
  }

  // ---- policy chains and their endpoint chains
  const seps = new Map<string, EndpointTarget>()
  const policyRules: Rule[] = []
  for (const [chain, eps] of [...policyChains].sort(([a], [b]) => (a < b ? -1 : 1))) {
    policyRules.push(...policyChainRules(chain, i, spn, eps))
    for (const ep of eps) seps.set(endpointChain(i, ep), ep)
  }
  const sepRules: Rule[] = []
  for (const ep of seps.values()) sepRules.push(...endpointChainRules(i, spn, ep))
  // the masquerade rule must come first in its policy chain
  const ownSorted = [...own.filter((r) => r.chain !== ch.ext && r.chain !== ch.fw), ...policyRules, ...own.filter((r) => r.chain === ch.ext || r.chain === ch.fw), ...sepRules]
  const chains = [...new Set(ownSorted.map((r) => r.chain))]
  return { key: i.key, family: i.family, chains, own: ownSorted, natShared, filterShared }
}

/** Where KUBE-SERVICES hands traffic to KUBE-NODEPORTS (and where filter matches a NodePort). */
function nodePortDestinations(fg: FamilyGlobals): string[][] {
  if (fg.nodePortAddresses === 'local') return [['-m', 'addrtype', '--dst-type', 'LOCAL']]
  return fg.nodePortAddresses.map((a) => ['-d', a])
}

// ---------------------------------------------------------------- fixed rules

/** The jumps from the built-in chains into ours: the only rules we put in chains we do not own. */
export function builtinJumps(): Record<Table, Rule[]> {
  const fresh = ['-m', 'conntrack', '--ctstate', 'NEW']
  return {
    nat: [
      { chain: 'PREROUTING', spec: [...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES'] },
      { chain: 'OUTPUT', spec: [...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES'] },
      { chain: 'POSTROUTING', spec: [...comment('kubernetes postrouting rules'), '-j', 'KUBE-POSTROUTING'] },
    ],
    filter: [
      { chain: 'INPUT', spec: [...comment('kubernetes load balancer firewall'), ...fresh, '-j', 'KUBE-PROXY-FIREWALL'] },
      { chain: 'INPUT', spec: [...comment('kubernetes externally-visible service portals'), ...fresh, '-j', 'KUBE-EXTERNAL-SERVICES'] },
      { chain: 'FORWARD', spec: [...comment('kubernetes load balancer firewall'), ...fresh, '-j', 'KUBE-PROXY-FIREWALL'] },
      { chain: 'FORWARD', spec: [...comment('kubernetes service portals'), ...fresh, '-j', 'KUBE-SERVICES'] },
      { chain: 'FORWARD', spec: [...comment('kubernetes externally-visible service portals'), ...fresh, '-j', 'KUBE-EXTERNAL-SERVICES'] },
      { chain: 'OUTPUT', spec: [...comment('kubernetes load balancer firewall'), ...fresh, '-j', 'KUBE-PROXY-FIREWALL'] },
      { chain: 'OUTPUT', spec: [...comment('kubernetes service portals'), ...fresh, '-j', 'KUBE-SERVICES'] },
      // unlike kube-proxy: the node's own traffic to an externalIP or LB IP without endpoints is refused too, as route.ts says
      { chain: 'OUTPUT', spec: [...comment('kubernetes externally-visible service portals'), ...fresh, '-j', 'KUBE-EXTERNAL-SERVICES'] },
    ],
    mangle: [],
  }
}

export const CANARY: Rule = { chain: 'KUBE-PROXY-CANARY', spec: [...comment('canary'), '-j', 'RETURN'] }

/** Rules at the head of our fixed chains, independent of the Services. */
function fixedHead(): Record<Table, Rule[]> {
  return {
    nat: [
      { chain: 'KUBE-POSTROUTING', spec: [...comment('not marked for masquerade'), '-m', 'mark', '!', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'RETURN'] },
      // clear the mark, so a packet that goes through the rules again is not masqueraded twice
      { chain: 'KUBE-POSTROUTING', spec: [...comment('clear the masquerade mark'), '-j', 'MARK', '--xor-mark', MASQ_MARK] },
      { chain: 'KUBE-POSTROUTING', spec: [...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully'] },
      { chain: 'KUBE-MARK-MASQ', spec: [...comment('mark for masquerade'), '-j', 'MARK', '--or-mark', MASQ_MARK] },
      CANARY,
    ],
    filter: [CANARY],
    mangle: [CANARY],
  }
}

/**
 * Rules at the tail of our fixed chains: partial syncs insert a Service's rules
 * at the head (-I 1), so these stay last.
 */
export function fixedTail(fg: FamilyGlobals): Record<Table, Rule[]> {
  const ips = setName('CLUSTER-IPS', fg.family)
  return {
    nat: nodePortDestinations(fg).map((d) => ({ chain: 'KUBE-SERVICES', spec: [...comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain'), ...d, '-j', 'KUBE-NODEPORTS'] })),
    filter: [
      // a packet still addressed to a clusterIP here was not DNATed: a port the Service does not have
      { chain: 'KUBE-SERVICES', spec: [...comment('unallocated port of a cluster IP'), '-m', 'set', '--match-set', ips, 'dst', '-p', 'tcp', '-j', 'REJECT', '--reject-with', 'tcp-reset'] },
      { chain: 'KUBE-SERVICES', spec: [...comment('unallocated port of a cluster IP'), '-m', 'set', '--match-set', ips, 'dst', '-j', 'REJECT'] },
    ],
    mangle: [],
  }
}

export const FIXED_CHAINS: Record<Table, readonly string[]> = { nat: NAT_CHAINS, filter: FILTER_CHAINS, mangle: MANGLE_CHAINS }

// ---------------------------------------------------------------- restore text

/** One argument in restore syntax: iptables-restore splits on blanks and honours double quotes. */
function quote(arg: string): string {
  return /^[^\s"']+$/.test(arg) ? arg : `"${arg}"`
}

export function ruleLine(op: '-A' | '-D' | '-C', r: Rule): string {
  return [op, r.chain, ...r.spec].map(quote).join(' ')
}

function insertLine(r: Rule): string {
  return ['-I', r.chain, '1', ...r.spec].map(quote).join(' ')
}

/** What a full sync found in the kernel, per table: see observe.ts. */
export interface ObservedTable {
  /** every chain we own there now */
  ours: readonly string[]
  /** our jump rules in built-in chains, in save form ("-A PREROUTING ...") */
  ourBuiltinRules: readonly string[]
}

export type Observed = Record<Table, ObservedTable>

export const EMPTY_OBSERVED: Observed = {
  nat: { ours: [], ourBuiltinRules: [] },
  filter: { ours: [], ourBuiltinRules: [] },
  mangle: { ours: [], ourBuiltinRules: [] },
}

export interface FamilyRender {
  family: Family
  /** iptables-restore --noflush input: mangle, filter, nat */
  text: string
  counts: { natRules: number; filterRules: number; chains: number }
}

function globalsOf(g: ProxyGlobals, family: Family, key: string): FamilyGlobals {
  const fg = g.families.find((f) => f.family === family)
  if (!fg) throw new IptRenderError('IPT_FAMILY', key, `IPv${family} intent on a node without IPv${family}`)
  return fg
}

/** Intents grouped by family, in key order, so the same plan always renders the same text. */
function byFamily(plan: ProxyPlan): Array<{ fg: FamilyGlobals; intents: PortIntent[] }> {
  const out = new Map<Family, { fg: FamilyGlobals; intents: PortIntent[] }>(plan.globals.families.map((fg) => [fg.family, { fg, intents: [] }]))
  for (const i of plan.intents.values()) {
    const f = out.get(i.family)
    if (!f) throw new IptRenderError('IPT_FAMILY', i.key, `IPv${i.family} intent on a node without IPv${i.family}`)
    f.intents.push(i)
  }
  for (const f of out.values()) f.intents.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return [...out.values()]
}

function block(table: Table, chains: Iterable<string>, lines: readonly string[]): string[] {
  return [`*${table}`, ...[...chains].map((c) => `:${c} - [0:0]`), ...lines, 'COMMIT']
}

/**
 * A full sync of one family: every chain of ours declared (which flushes it),
 * every rule written, our jumps re-inserted at the head of the built-in chains,
 * and our chains that no intent needs any more deleted.
 */
export function renderFull(plan: ProxyPlan, observed: ReadonlyMap<Family, Observed> = new Map()): FamilyRender[] {
  for (const fg of plan.globals.families) validateGlobals(fg)
  const out: FamilyRender[] = []
  for (const { fg, intents } of byFamily(plan)) {
    const family = fg.family
    const obs = observed.get(family) ?? EMPTY_OBSERVED
    const head = fixedHead()
    const tail = fixedTail(fg)
    const jumps = builtinJumps()
    const natChains = new Set<string>(NAT_CHAINS)
    const nat: string[] = head.nat.map((r) => ruleLine('-A', r))
    const natOwn: string[] = []
    const filter: string[] = head.filter.map((r) => ruleLine('-A', r))
    for (const i of intents) {
      validateIntent(i)
      const r = renderIntent(i, fg, plan.globals.masqueradeAll)
      for (const c of r.chains) natChains.add(c)
      for (const x of r.own) natOwn.push(ruleLine('-A', x))
      for (const x of r.natShared) nat.push(ruleLine('-A', x))
      for (const x of r.filterShared) filter.push(ruleLine('-A', x))
    }
    nat.push(...tail.nat.map((r) => ruleLine('-A', r)))
    filter.push(...tail.filter.map((r) => ruleLine('-A', r)))
    const tables: Record<Table, { chains: Set<string>; lines: string[] }> = {
      mangle: { chains: new Set(MANGLE_CHAINS), lines: head.mangle.map((r) => ruleLine('-A', r)) },
      filter: { chains: new Set(FILTER_CHAINS), lines: filter },
      nat: { chains: natChains, lines: [...nat, ...natOwn] },
    }
    const text: string[] = []
    // nat first: a Service that gains endpoints is DNATed before its reject goes away
    for (const t of ['nat', 'filter', 'mangle'] as const) {
      const { chains, lines } = tables[t]
      const stale = obs[t].ours.filter((c) => !chains.has(c))
      const relink = [
        // save form is restore form: "-A X spec" becomes "-D X spec"
        ...obs[t].ourBuiltinRules.map((l) => `-D${l.slice(2)}`),
        ...[...jumps[t]].reverse().map(insertLine),
      ]
      text.push(...block(t, [...chains, ...stale], [...relink, ...lines, ...stale.map((c) => `-X ${c}`)]))
    }
    out.push({
      family,
      text: text.join('\n') + '\n',
      counts: { natRules: nat.length + natOwn.length + jumps.nat.length, filterRules: filter.length + jumps.filter.length, chains: natChains.size + FILTER_CHAINS.length + MANGLE_CHAINS.length },
    })
  }
  return out
}

function sameRules(a: readonly Rule[], b: readonly Rule[]): boolean {
  if (a.length !== b.length) return false
  for (let n = 0; n < a.length; n++) if (ruleLine('-A', a[n]!) !== ruleLine('-A', b[n]!)) return false
  return true
}

export interface PartialRender {
  family: Family
  /** empty when this family has nothing to change */
  text: string
  /** rule and chain count changes, for the backend's running totals */
  delta: { natRules: number; filterRules: number; chains: number }
}

/**
 * A partial sync: only the changed intents' own chains are declared and
 * rewritten; their rules in the shared chains are deleted by their old text and
 * inserted anew, and only when they changed (an endpoint change touches no
 * shared rule at all). Unchanged Services' chains are not named at all, so the
 * restore's size is the change's, not the cluster's. A shared rule that is not
 * where we left it makes the restore fail, and the consumer resyncs in full.
 */
export function renderPartial(plan: ProxyPlan, delta: PlanDelta): PartialRender[] {
  const perFamily = new Map<Family, { chains: Set<string>; stale: Set<string>; natDel: string[]; natIns: string[]; own: string[]; filterDel: string[]; filterIns: string[]; d: PartialRender['delta'] }>()
  const acc = (f: Family) => {
    let a = perFamily.get(f)
    if (!a) perFamily.set(f, a = { chains: new Set(), stale: new Set(), natDel: [], natIns: [], own: [], filterDel: [], filterIns: [], d: { natRules: 0, filterRules: 0, chains: 0 } })
    return a
  }
  const render = (i: PortIntent) => renderIntent(i, globalsOf(plan.globals, i.family, i.key), plan.globals.masqueradeAll)
  for (const i of delta.upserted) validateIntent(i)
  const changes: Array<{ before?: IntentRules; after?: IntentRules }> = [
    ...delta.removed.map((i) => ({ before: render(i) })),
    ...delta.upserted.map((i) => {
      const p = delta.previous.get(i.key)
      return { before: p && render(p), after: render(i) }
    }),
  ]
  for (const { before, after } of changes) {
    const a = acc((after ?? before)!.family)
    const beforeChains = before?.chains ?? []
    const afterChains = new Set(after?.chains ?? [])
    for (const c of afterChains) a.chains.add(c)
    for (const c of beforeChains) if (!afterChains.has(c)) a.stale.add(c)
    for (const r of after?.own ?? []) a.own.push(ruleLine('-A', r))
    if (!sameRules(before?.natShared ?? [], after?.natShared ?? [])) {
      for (const r of before?.natShared ?? []) a.natDel.push(ruleLine('-D', r))
      for (const r of [...(after?.natShared ?? [])].reverse()) a.natIns.push(insertLine(r))
    }
    if (!sameRules(before?.filterShared ?? [], after?.filterShared ?? [])) {
      for (const r of before?.filterShared ?? []) a.filterDel.push(ruleLine('-D', r))
      for (const r of [...(after?.filterShared ?? [])].reverse()) a.filterIns.push(insertLine(r))
    }
    const count = (r?: IntentRules) => ({ nat: r ? r.own.length + r.natShared.length : 0, filter: r ? r.filterShared.length : 0, chains: r ? r.chains.length : 0 })
    const b = count(before), n = count(after)
    a.d.natRules += n.nat - b.nat
    a.d.filterRules += n.filter - b.filter
    a.d.chains += n.chains - b.chains
  }
  const out: PartialRender[] = []
  for (const [family, a] of [...perFamily].sort(([x], [y]) => x - y)) {
    // a chain one change gave up and another took (a Service deleted and made again in one delta) stays
    for (const c of a.chains) a.stale.delete(c)
    const text: string[] = []
    if (a.chains.size + a.stale.size + a.natDel.length + a.natIns.length > 0) {
      text.push(...block('nat', [...a.chains, ...a.stale], [...a.natDel, ...a.own, ...a.natIns, ...[...a.stale].map((c) => `-X ${c}`)]))
    }
    if (a.filterDel.length + a.filterIns.length > 0) text.push(...block('filter', [], [...a.filterDel, ...a.filterIns]))
    out.push({ family, text: text.length ? text.join('\n') + '\n' : '', delta: a.d })
  }
  return out
}
