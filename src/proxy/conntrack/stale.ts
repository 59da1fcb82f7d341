// Which conntrack entries a plan change leaves stale, as kube-proxy's
// conntrack cleanup decides it. Only UDP and SCTP: a TCP connection to a gone
// endpoint fails and the client reconnects through the new rules, but a UDP
// "connection" keeps its DNAT for as long as the client keeps sending (a DNS
// client on a fixed source port never reaches the new backend), and a flow
// that was blackholed while the Service had no endpoints keeps being
// blackholed. Pure: the flows to delete come from the delta alone.
import type { Family } from '../../net/address.ts'
import type { EndpointTarget, PlanDelta, PortIntent } from '../plan/intent.ts'

/** One `conntrack -D` filter. Unset fields match anything. */
export interface FlowFilter {
  family: Family
  protocol: 'udp' | 'sctp'
  /** original destination address; unset for NodePorts (any node address) */
  origDst?: string
  origDstPort: number
  /** reply source: the endpoint the flow was DNATed to */
  replySrc?: string
  replySrcPort?: number
  /** why the flows are stale, for logs */
  reason: string
}

interface Frontend { dst?: string; port: number }

function frontends(i: PortIntent): Frontend[] {
  const vips = [i.clusterIP, ...i.externalIPs, ...i.loadBalancerIPs].map((dst) => ({ dst, port: i.port }))
  return i.nodePort === null ? vips : [...vips, { port: i.nodePort }]
}

const frontendKey = (f: Frontend) => `${f.dst ?? '*'}:${f.port}`
const endpointKey = (e: EndpointTarget) => `${e.ip}:${e.port}`

/** Every endpoint the intent's rules can send to, cluster or local. */
function serving(i: PortIntent): Map<string, EndpointTarget> {
  return new Map([...i.clusterEndpoints, ...i.localEndpoints].map((e) => [endpointKey(e), e]))
}

export function isDatagram(i: PortIntent): i is PortIntent & { protocol: 'udp' | 'sctp' } {
  return i.protocol === 'udp' || i.protocol === 'sctp'
}

function toFrontend(i: PortIntent & { protocol: 'udp' | 'sctp' }, f: Frontend, reason: string, e?: EndpointTarget): FlowFilter {
  const filter: FlowFilter = { family: i.family, protocol: i.protocol, origDstPort: f.port, reason }
  if (f.dst !== undefined) filter.origDst = f.dst
  if (e !== undefined) {
    filter.replySrc = e.ip
    filter.replySrcPort = e.port
  }
  return filter
}

export function filterKey(f: FlowFilter): string {
  return [f.family, f.protocol, f.origDst ?? '*', f.origDstPort, f.replySrc ?? '*', f.replySrcPort ?? '*'].join(' ')
}

/**
 * The flows a delta leaves stale:
 * - a removed Service port: every flow to its frontends;
 * - a frontend (externalIP, LB IP, NodePort) that left a Service port: every flow to it;
 * - an endpoint that left a Service port: the flows to its frontends that were DNATed to that endpoint;
 * - a Service port that goes from no endpoints (or did not exist) to some: every flow to its frontends,
 *   which the reject rule or plain routing may have pinned before.
 * Deduplicated, in a stable order.
 */
export function staleFlows(delta: PlanDelta): FlowFilter[] {
  const out = new Map<string, FlowFilter>()
  const add = (f: FlowFilter) => {
    const k = filterKey(f)
    if (!out.has(k)) out.set(k, f)
  }
  for (const old of delta.removed) {
    if (!isDatagram(old)) continue
    for (const f of frontends(old)) add(toFrontend(old, f, `${old.key} removed`))
  }
  for (const now of delta.upserted) {
    if (!isDatagram(now)) continue
    const before = delta.previous.get(now.key)
    const current = frontends(now)
    const nowServing = serving(now)
    const beforeServing = before === undefined ? new Map<string, EndpointTarget>() : serving(before)
    if (before !== undefined) {
      const kept = new Set(current.map(frontendKey))
      for (const f of frontends(before)) {
        if (!kept.has(frontendKey(f))) add(toFrontend(now, f, `frontend ${frontendKey(f)} left ${now.key}`))
      }
    }
    if (beforeServing.size === 0 && nowServing.size > 0) {
      for (const f of current) add(toFrontend(now, f, `${now.key} has endpoints again`))
      continue
    }
    for (const [k, e] of beforeServing) {
      if (nowServing.has(k)) continue
      for (const f of current) add(toFrontend(now, f, `endpoint ${k} left ${now.key}`, e))
    }
  }
  return [...out.values()].sort((a, b) => (filterKey(a) < filterKey(b) ? -1 : filterKey(a) > filterKey(b) ? 1 : 0))
}
