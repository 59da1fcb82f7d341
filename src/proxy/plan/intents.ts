// One Service -> its PortIntents: one per (port, IP family the Service has and
// the node runs), built by one code path with the family as a parameter, as
// kube-proxy's service change tracker builds one ServicePort per family
// (pkg/proxy/serviceport.go). Frontend addresses are filtered to the family and
// printed in canonical form, so renderers and the tracer compare strings.
import { formatCidr, formatIp, networkOf, tryParseCidr, tryParseIp, type Family } from '../../net/address.ts'
import type { EndpointSlice, Service, ServicePort } from '../../cluster/model.ts'
import { categorizeEndpoints, type NodeContext } from './categorize.ts'
import type { L4Protocol, PortIntent, ProxyGlobals } from './intent.ts'

export interface ServicePlan {
  /** in port order, then family order of spec.clusterIPs */
  intents: PortIntent[]
  /** some endpoint carries zone hints: re-plan when this node's zone changes */
  zoneSensitive: boolean
}

const PROTOCOLS: Record<ServicePort['protocol'], L4Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' }

export function intentKey(service: string, portName: string, protocol: L4Protocol, family: Family): string {
  return `${service}:${portName}:${protocol}:${family}`
}

/** The addresses of one family, canonical, each once, in the Service's order. */
function ipsOf(list: readonly string[], family: Family): string[] {
  const out = new Set<string>()
  for (const s of list) {
    const a = tryParseIp(s)
    if (a && a.family === family) out.add(formatIp(a))
  }
  return [...out]
}

/** Source ranges of one family, as networks (the API lets host bits and padding through; kube-proxy trims). */
function rangesOf(list: readonly string[], family: Family): string[] {
  const out = new Set<string>()
  for (const s of list) {
    const c = tryParseCidr(s.trim(), { hostBits: 'keep' })
    if (c && c.addr.family === family) out.add(formatCidr({ addr: networkOf(c), prefix: c.prefix }))
  }
  return [...out]
}

const frozen = <T>(list: T[]): readonly T[] => Object.freeze(list)

export function planService(svc: Service, slices: readonly EndpointSlice[], globals: ProxyGlobals, node: NodeContext): ServicePlan {
  const service = `${svc.namespace}/${svc.name}`
  const intents: PortIntent[] = []
  let zoneSensitive = false
  const runs = new Set(globals.families.map((f) => f.family))
  const done = new Set<Family>()
  // kube-proxy's apiservice.ExternalPolicyLocal: eTP only means something for a Service reachable from outside.
  const etpApplies = svc.externalTrafficPolicy === 'Local' && (svc.type !== 'ClusterIP' || svc.externalIPs.length > 0)
  for (const clusterIP of svc.clusterIPs) {
    const addr = tryParseIp(clusterIP)
    // clusterIPs[i] is family i; a family the node does not run has no intents, a repeated one is ignored
    if (!addr || !runs.has(addr.family) || done.has(addr.family)) continue
    const family = addr.family
    done.add(family)
    const externalIPs = frozen(ipsOf(svc.externalIPs, family))
    const loadBalancerIPs = frozen(ipsOf(svc.loadBalancerIPs, family))
    const loadBalancerSourceRanges = frozen(rangesOf(svc.loadBalancerSourceRanges, family))
    const seen = new Set<string>()
    for (const port of svc.ports) {
      const protocol = PROTOCOLS[port.protocol]
      const key = intentKey(service, port.name, protocol, family)
      // The API refuses two ports of one name and protocol; should one slip through, the first wins.
      if (seen.has(key)) continue
      seen.add(key)
      const externallyAccessible = port.nodePort !== null || externalIPs.length > 0 || loadBalancerIPs.length > 0
      const policy = {
        internalPolicyLocal: svc.internalTrafficPolicy === 'Local',
        externalPolicyLocal: etpApplies,
        externallyAccessible,
      }
      const eps = categorizeEndpoints(port, slices, family, policy, node)
      zoneSensitive ||= eps.zoneSensitive
      intents.push(Object.freeze({
        key,
        service,
        portName: port.name,
        family,
        protocol,
        clusterIP: formatIp(addr),
        port: port.port,
        nodePort: port.nodePort,
        externalIPs,
        loadBalancerIPs,
        loadBalancerSourceRanges,
        affinityTimeoutSeconds: svc.sessionAffinity === 'ClientIP' ? svc.sessionAffinityTimeoutSeconds : 0,
        internalPolicyLocal: policy.internalPolicyLocal,
        externalPolicyLocal: etpApplies,
        // kube-proxy's NeedsHealthCheck: only a LoadBalancer with eTP Local has a health check port
        healthCheckNodePort: etpApplies && externallyAccessible && svc.type === 'LoadBalancer' ? svc.healthCheckNodePort : null,
        clusterEndpoints: frozen(eps.clusterEndpoints.map((e) => Object.freeze(e))),
        localEndpoints: frozen(eps.localEndpoints.map((e) => Object.freeze(e))),
        hasAnyEndpoints: eps.hasAnyEndpoints,
      }))
    }
  }
  return { intents, zoneSensitive }
}
