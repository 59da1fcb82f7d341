// The routing rules of one intent: which endpoints a class of traffic may use,
// what happens when there are none, and when the source is masqueraded. These
// are kube-proxy's rules (nftables proxier, syncProxyRules), written once: every
// renderer encodes them as rules, and the tracer evaluates them for one packet,
// so a renderer that disagrees with the tracer is wrong by definition.
import type { EndpointTarget, PortIntent } from './intent.ts'

/** Which frontend a packet hit. */
export type FrontendKind = 'cluster-ip' | 'node-port' | 'external-ip' | 'load-balancer'

/** Traffic to the clusterIP is internal; to a NodePort, externalIP or LB IP, external. */
export type TrafficClass = 'internal' | 'external'

export function trafficClassOf(kind: FrontendKind): TrafficClass {
  return kind === 'cluster-ip' ? 'internal' : 'external'
}

/** What a class of traffic does when its endpoint list is empty. */
export type EmptyVerdict = 'reject' | 'drop'

export interface ClassTargets {
  endpoints: readonly EndpointTarget[]
  /** used when `endpoints` is empty */
  whenEmpty: EmptyVerdict
  /** why whenEmpty applies, for the tracer and rule comments */
  emptyReason: string
}

/**
 * kube-proxy: a Local policy with endpoints elsewhere but none here drops (so a
 * load balancer's health check moves the traffic away); no endpoints anywhere
 * rejects, so clients fail at once.
 */
function targets(endpoints: readonly EndpointTarget[], policyLocal: boolean, intent: PortIntent): ClassTargets {
  const drop = policyLocal && intent.hasAnyEndpoints
  return {
    endpoints,
    whenEmpty: drop ? 'drop' : 'reject',
    emptyReason: drop ? 'no local endpoint on this node' : 'no endpoints',
  }
}

export function internalTargets(intent: PortIntent): ClassTargets {
  return targets(intent.internalPolicyLocal ? intent.localEndpoints : intent.clusterEndpoints, intent.internalPolicyLocal, intent)
}

export function externalTargets(intent: PortIntent): ClassTargets {
  return targets(intent.externalPolicyLocal ? intent.localEndpoints : intent.clusterEndpoints, intent.externalPolicyLocal, intent)
}

/** True when the intent has any frontend reachable from outside the cluster. */
export function externallyAccessible(intent: PortIntent): boolean {
  return intent.nodePort !== null || intent.externalIPs.length > 0 || intent.loadBalancerIPs.length > 0
}

/** Where one packet came from, as the rules can tell. */
export interface PacketSource {
  /** inside the cluster CIDRs (false when the node has no local detection) */
  inCluster: boolean
  /** sent by the node itself (nft `fib saddr type local`) */
  fromNode: boolean
  /** inside loadBalancerSourceRanges (only asked for load-balancer traffic with ranges set) */
  inSourceRanges: boolean
}

export type Route =
  | {
    verdict: 'endpoints'
    endpoints: readonly EndpointTarget[]
    masquerade: boolean
    /** 0: none; else the ClientIP affinity timeout */
    affinityTimeoutSeconds: number
    /** the rule that chose the endpoint list, in words */
    why: string
  }
  | { verdict: 'reject' | 'drop'; reason: string }

/**
 * One packet through one intent, as the renderers' rules decide it.
 * `masqueradeAll` and `hasLocalDetection` come from the node's globals.
 * Hairpin (a backend reaching itself) is masqueraded on top of this, per
 * endpoint, by every renderer; the tracer adds it when the chosen endpoint is the source.
 */
export function routePacket(
  intent: PortIntent,
  kind: FrontendKind,
  src: PacketSource,
  node: { masqueradeAll: boolean; hasLocalDetection: boolean },
): Route {
  if (kind === 'load-balancer' && intent.loadBalancerSourceRanges.length > 0 && !src.inSourceRanges) {
    return { verdict: 'drop', reason: 'source outside loadBalancerSourceRanges' }
  }
  const affinityTimeoutSeconds = intent.affinityTimeoutSeconds
  if (trafficClassOf(kind) === 'internal') {
    const t = internalTargets(intent)
    if (t.endpoints.length === 0) return { verdict: t.whenEmpty, reason: t.emptyReason }
    const masquerade = node.masqueradeAll || (node.hasLocalDetection && !src.inCluster)
    return { verdict: 'endpoints', endpoints: t.endpoints, masquerade, affinityTimeoutSeconds, why: intent.internalPolicyLocal ? 'internalTrafficPolicy Local' : 'cluster endpoints' }
  }
  if (intent.externalPolicyLocal) {
    // kube-proxy's short-circuits: pods and the node itself reach an eTP Local
    // Service through every endpoint, as if it were Cluster; the node's own
    // traffic must be masqueraded, since its source is the LB/node IP itself.
    if (node.hasLocalDetection && src.inCluster) {
      const t = internalTargets({ ...intent, internalPolicyLocal: false })
      if (t.endpoints.length === 0) return { verdict: t.whenEmpty, reason: t.emptyReason }
      return { verdict: 'endpoints', endpoints: t.endpoints, masquerade: false, affinityTimeoutSeconds, why: 'pod traffic short-circuits externalTrafficPolicy Local' }
    }
    if (src.fromNode) {
      const t = internalTargets({ ...intent, internalPolicyLocal: false })
      if (t.endpoints.length === 0) return { verdict: t.whenEmpty, reason: t.emptyReason }
      return { verdict: 'endpoints', endpoints: t.endpoints, masquerade: true, affinityTimeoutSeconds, why: 'node traffic short-circuits externalTrafficPolicy Local' }
    }
  }
  const t = externalTargets(intent)
  if (t.endpoints.length === 0) return { verdict: t.whenEmpty, reason: t.emptyReason }
  return {
    verdict: 'endpoints',
    endpoints: t.endpoints,
    // --masquerade-all is for clusterIP traffic only, as in kube-proxy
    masquerade: !intent.externalPolicyLocal,
    affinityTimeoutSeconds,
    why: intent.externalPolicyLocal ? 'externalTrafficPolicy Local keeps the client IP' : 'external traffic is masqueraded',
  }
}
