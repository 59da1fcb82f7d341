// The packet tracer: one packet through the plan, as the kernel rules would
// take it, with the reason for every decision. It only finds the frontend and
// classifies the source; what happens next is route.ts's `routePacket`, the same
// rules every renderer encodes, so the tracer cannot drift from the rules. On
// top it adds what is per endpoint (hairpin masquerade, probability), which
// every renderer also applies per endpoint.
import { contains, formatIp, parseCidr, parseIp, type Addr, type Family } from '../../net/address.ts'
import type { EndpointTarget, FamilyGlobals, L4Protocol, PortIntent, ProxyPlan } from '../plan/intent.ts'
import { routePacket, trafficClassOf, type FrontendKind, type PacketSource } from '../plan/route.ts'

export interface TracePacket {
  from: string
  to: string
  port: number
  protocol: L4Protocol
}

export interface TraceNode {
  /** the node's own addresses: NodePorts on 'local' nodePortAddresses, and "sent by the node itself" */
  localAddresses: readonly string[]
}

export type TraceErrorCode = 'ETRACE_ADDRESS' | 'ETRACE_FAMILY' | 'ETRACE_PORT' | 'ETRACE_PROTOCOL'

export class TraceInputError extends Error {
  constructor(readonly code: TraceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TraceInputError'
  }
}

/** One decision and why it was taken, in the order the rules take them. */
export interface TraceStep {
  step: 'frontend' | 'source' | 'route' | 'masquerade' | 'endpoint' | 'affinity'
  text: string
}

export interface TracedEndpoint extends EndpointTarget {
  /** 1/n: the renderers pick uniformly (numgen / statistic --probability) */
  probability: number
  /** the source is masqueraded when this endpoint is chosen (the route's masquerade, or hairpin) */
  masquerade: boolean
  /** the packet's source is this endpoint: it reaches itself through its Service */
  hairpin: boolean
}

export type TraceVerdict =
  | { kind: 'endpoints'; endpoints: TracedEndpoint[]; masquerade: boolean; affinityTimeoutSeconds: number }
  | { kind: 'reject' | 'drop'; reason: string }
  | { kind: 'routed'; reason: string }

export interface TraceFrontend {
  kind: FrontendKind | 'unallocated-port'
  /** the intent matched; null for an unallocated port of a ClusterIP */
  intent: string | null
  service: string
}

export interface Trace {
  /** the packet with canonical addresses */
  packet: TracePacket
  family: Family
  frontend: TraceFrontend | null
  /** null when no frontend matched: nothing looked at the source */
  source: PacketSource | null
  steps: TraceStep[]
  verdict: TraceVerdict
}

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp']
const LOOPBACK: Record<Family, string> = { 4: '127.0.0.0/8', 6: '::1/128' }

function addr(what: string, input: string): Addr {
  try {
    return parseIp(input)
  } catch (e) {
    throw new TraceInputError('ETRACE_ADDRESS', `${what} "${input}": ${(e as Error).message}`, { cause: e })
  }
}

function same(a: Addr, text: string): boolean {
  const b = parseIp(text)
  return a.family === b.family && a.n === b.n
}

function inAny(cidrs: readonly string[], a: Addr): string | undefined {
  return cidrs.find((c) => contains(parseCidr(c, { hostBits: 'keep' }), a))
}

/** "10.96.0.10:80" or "[fd00::10]:80" */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

interface Match {
  kind: FrontendKind
  intent: PortIntent
  why: string
}

function nodePortMatch(intent: PortIntent, to: Addr, port: number, node: readonly Addr[], g: FamilyGlobals | undefined): string | undefined {
  if (intent.nodePort !== port || g === undefined) return undefined
  // kube-proxy's nftables mode never serves NodePorts on loopback
  if (contains(parseCidr(LOOPBACK[to.family]), to)) return undefined
  if (g.nodePortAddresses === 'local') {
    return node.some((a) => a.n === to.n && a.family === to.family) ? 'a local address of the node (--nodeport-addresses: every local address)' : undefined
  }
  // the planner resolved --nodeport-addresses to the node's own addresses
  return g.nodePortAddresses.some((a) => same(to, a)) ? 'a node address chosen by --nodeport-addresses' : undefined
}

function findFrontend(plan: ProxyPlan, pkt: TracePacket, to: Addr, node: readonly Addr[], g: FamilyGlobals | undefined): Match | 'unallocated' | undefined {
  const candidates = [...plan.intents.values()].filter((i) => i.family === to.family)
  // The VIP map is looked up first (clusterIP, externalIPs, LB IPs: exact
  // address . protocol . port), NodePorts after it, as in kube-proxy's services chain.
  for (const intent of candidates) {
    if (intent.protocol !== pkt.protocol || intent.port !== pkt.port) continue
    if (same(to, intent.clusterIP)) return { kind: 'cluster-ip', intent, why: 'the clusterIP' }
    if (intent.externalIPs.some((ip) => same(to, ip))) return { kind: 'external-ip', intent, why: 'an externalIP' }
    if (intent.loadBalancerIPs.some((ip) => same(to, ip))) return { kind: 'load-balancer', intent, why: 'a load-balancer ingress IP' }
  }
  if (candidates.some((i) => same(to, i.clusterIP))) return 'unallocated'
  for (const intent of candidates) {
    if (intent.protocol !== pkt.protocol) continue
    const why = nodePortMatch(intent, to, pkt.port, node, g)
    if (why !== undefined) return { kind: 'node-port', intent, why: `NodePort ${pkt.port} on ${why}` }
  }
  return undefined
}

function portName(intent: PortIntent): string {
  return intent.portName === '' ? 'its unnamed port' : `port "${intent.portName}"`
}

function classify(from: Addr, kind: FrontendKind, intent: PortIntent, node: readonly Addr[], g: FamilyGlobals | undefined): { src: PacketSource; text: string } {
  const clusterCIDRs = g?.clusterCIDRs ?? []
  const cidr = inAny(clusterCIDRs, from)
  const fromNode = contains(parseCidr(LOOPBACK[from.family]), from) || node.some((a) => a.family === from.family && a.n === from.n)
  const ranged = kind === 'load-balancer' && intent.loadBalancerSourceRanges.length > 0
  const range = ranged ? inAny(intent.loadBalancerSourceRanges, from) : undefined
  const parts = [
    clusterCIDRs.length === 0
      ? 'no local detection (no --cluster-cidr for this family)'
      : cidr === undefined ? `outside the cluster CIDRs (${clusterCIDRs.join(', ')})` : `inside the cluster CIDR ${cidr}`,
  ]
  if (fromNode) parts.push('sent by the node itself')
  if (ranged) parts.push(range === undefined ? `outside loadBalancerSourceRanges (${intent.loadBalancerSourceRanges.join(', ')})` : `inside loadBalancerSourceRange ${range}`)
  return { src: { inCluster: cidr !== undefined, fromNode, inSourceRanges: range !== undefined }, text: `${formatIp(from)} is ${parts.join('; ')}` }
}

/** Why the route masquerades or not, in words; the flag itself is the route's. */
function masqueradeText(masq: boolean, kind: FrontendKind, intent: PortIntent, src: PacketSource, masqueradeAll: boolean, detection: boolean): string {
  if (trafficClassOf(kind) === 'internal') {
    if (masqueradeAll) return 'yes: --masquerade-all'
    if (!detection) return 'no: no local detection, clusterIP traffic keeps its source'
    return masq ? 'yes: clusterIP traffic from outside the cluster CIDRs' : 'no: the source is inside the cluster CIDRs'
  }
  if (!intent.externalPolicyLocal) return 'yes: external traffic with externalTrafficPolicy Cluster'
  if (detection && src.inCluster) return 'no: pod traffic keeps its source'
  if (src.fromNode) return 'yes: the node\'s own traffic to an externalTrafficPolicy Local Service'
  return 'no: externalTrafficPolicy Local keeps the client IP'
}

function endpointText(e: TracedEndpoint, n: number, route: boolean): string {
  const where = e.local ? 'on this node' : 'on another node'
  const hairpin = e.hairpin && !route ? ', masquerade: hairpin (the source is this endpoint)' : e.hairpin ? ', hairpin' : ''
  return `${hostPort(e.ip, e.port)} (${where}), probability 1/${n}${hairpin}`
}

/** Walk one packet through the plan. Throws TraceInputError on a malformed packet or node. */
export function tracePacket(plan: ProxyPlan, packet: TracePacket, node: TraceNode): Trace {
  const from = addr('source', packet.from)
  const to = addr('destination', packet.to)
  if (from.family !== to.family) throw new TraceInputError('ETRACE_FAMILY', `source ${packet.from} and destination ${packet.to} are not of one IP family`)
  if (!Number.isInteger(packet.port) || packet.port < 1 || packet.port > 65535) throw new TraceInputError('ETRACE_PORT', `port ${packet.port} is not 1..65535`)
  if (!PROTOCOLS.includes(packet.protocol)) throw new TraceInputError('ETRACE_PROTOCOL', `protocol "${packet.protocol}" is not tcp, udp or sctp`)
  const local = node.localAddresses.map((a) => addr('node address', a))
  const canon: TracePacket = { from: formatIp(from), to: formatIp(to), port: packet.port, protocol: packet.protocol }
  const dest = `${hostPort(canon.to, canon.port)}/${canon.protocol}`
  const g = plan.globals.families.find((f) => f.family === to.family)
  const base = { packet: canon, family: to.family }

  const match = findFrontend(plan, canon, to, local, g)
  if (match === undefined) {
    return {
      ...base, frontend: null, source: null,
      steps: [{ step: 'frontend', text: `${dest} is no Service frontend: the proxy leaves it alone` }],
      verdict: { kind: 'routed', reason: 'not a Service address' },
    }
  }
  if (match === 'unallocated') {
    const owner = [...plan.intents.values()].find((i) => i.family === to.family && same(to, i.clusterIP))!
    return {
      ...base, frontend: { kind: 'unallocated-port', intent: null, service: owner.service }, source: null,
      steps: [{ step: 'frontend', text: `${canon.to} is the clusterIP of ${owner.service}, but ${canon.port}/${canon.protocol} is none of its ports` }],
      verdict: { kind: 'reject', reason: 'port not allocated on this ClusterIP' },
    }
  }

  const { kind, intent } = match
  const steps: TraceStep[] = [{ step: 'frontend', text: `${dest} is ${match.why} of ${intent.service} ${portName(intent)} (${intent.key})` }]
  const { src, text } = classify(from, kind, intent, local, g)
  steps.push({ step: 'source', text })
  const detection = (g?.clusterCIDRs.length ?? 0) > 0
  const route = routePacket(intent, kind, src, { masqueradeAll: plan.globals.masqueradeAll, hasLocalDetection: detection })
  const frontend = { kind, intent: intent.key, service: intent.service }
  if (route.verdict !== 'endpoints') {
    steps.push({ step: 'route', text: `${route.verdict}: ${route.reason}` })
    return { ...base, frontend, source: src, steps, verdict: { kind: route.verdict, reason: route.reason } }
  }
  const n = route.endpoints.length
  steps.push({ step: 'route', text: `${route.why}: ${n} endpoint${n === 1 ? '' : 's'}` })
  steps.push({ step: 'masquerade', text: masqueradeText(route.masquerade, kind, intent, src, plan.globals.masqueradeAll, detection) })
  const endpoints = route.endpoints.map((e): TracedEndpoint => {
    const hairpin = same(from, e.ip)
    return { ip: e.ip, port: e.port, local: e.local, probability: 1 / n, masquerade: route.masquerade || hairpin, hairpin }
  })
  for (const e of endpoints) steps.push({ step: 'endpoint', text: endpointText(e, n, route.masquerade) })
  if (route.affinityTimeoutSeconds > 0) {
    steps.push({ step: 'affinity', text: `ClientIP: ${canon.from} sticks to the first choice for ${route.affinityTimeoutSeconds}s` })
  }
  return {
    ...base, frontend, source: src, steps,
    verdict: { kind: 'endpoints', endpoints, masquerade: route.masquerade, affinityTimeoutSeconds: route.affinityTimeoutSeconds },
  }
}
