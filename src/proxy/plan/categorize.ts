// One Service port's endpoints, as kube-proxy chooses them (its endpoint slice
// cache, then CategorizeEndpoints in pkg/proxy/topology.go): which endpoints
// cluster traffic may use, which local traffic may use, and whether the Service
// has any usable endpoint anywhere.
import { familyName, formatIp, tryParseIp, type Family } from '../../net/address.ts'
import type { EndpointSlice, ServicePort } from '../../cluster/model.ts'
import type { EndpointTarget } from './intent.ts'

/** What the port's traffic policies ask for (kube-proxy's UsesClusterEndpoints / UsesLocalEndpoints). */
export interface PortPolicy {
  internalPolicyLocal: boolean
  externalPolicyLocal: boolean
  /** the port has a NodePort, externalIP or LB IP of this family */
  externallyAccessible: boolean
}

export interface NodeContext {
  nodeName: string
  /** this node's topology.kubernetes.io/zone; null when unlabelled */
  zone: string | null
}

export interface Categorized {
  /** empty when the port never uses Cluster policy (iTP Local and not externally accessible) */
  clusterEndpoints: EndpointTarget[]
  /** empty when the port never uses Local policy */
  localEndpoints: EndpointTarget[]
  hasAnyEndpoints: boolean
  /** some endpoint carries zone hints: the result may change when this node's zone does */
  zoneSensitive: boolean
}

/** One endpoint of the port, after the slices are merged. */
interface Candidate {
  target: EndpointTarget
  n: bigint
  ready: boolean
  terminating: boolean
  servingTerminating: boolean
  zoneHints: readonly string[]
  /** to break ties between duplicates the same way whatever the slices' order */
  slice: string
}

/**
 * Which of two copies of one ip:port wins. kube-proxy prefers a copy that is not
 * terminating (the pod network may hand a terminating pod's IP to a new pod);
 * beyond that it keeps whichever slice it read last, which is map order in Go.
 * Here: not terminating, then ready, then local, then the slice whose name sorts
 * first, so the choice never depends on the order the slices come in.
 */
function rank(c: Candidate): number {
  return (c.terminating ? 0 : 4) + (c.ready ? 2 : 0) + (c.target.local ? 1 : 0)
}

function better(a: Candidate, b: Candidate): boolean {
  const ra = rank(a)
  const rb = rank(b)
  return ra !== rb ? ra > rb : a.slice < b.slice
}

/**
 * The port's endpoints from its family's slices: a slice contributes only when it
 * has a port of the same name and protocol (that is how a named targetPort
 * resolves, possibly to a different number per slice); only the first address
 * of an endpoint counts, as in kube-proxy; an ip:port listed twice counts once.
 */
function collect(port: ServicePort, slices: readonly EndpointSlice[], family: Family, nodeName: string): Candidate[] {
  const byTarget = new Map<string, Candidate>()
  const addressType = familyName(family)
  for (const slice of slices) {
    if (slice.addressType !== addressType) continue
    const sp = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol)
    if (!sp) continue
    for (const ep of slice.endpoints) {
      const raw = ep.addresses[0]
      const addr = tryParseIp(raw)
      if (!addr || addr.family !== family) continue
      // The strict parser takes IPv4 only in its canonical form: printing it again would cost as much as parsing.
      const ip = family === 4 ? raw! : formatIp(addr)
      const c: Candidate = {
        target: { ip, port: sp.port, local: ep.nodeName === nodeName },
        n: addr.n,
        ready: ep.ready,
        terminating: ep.terminating,
        servingTerminating: ep.serving && ep.terminating,
        zoneHints: ep.zoneHints ?? [],
        slice: slice.name,
      }
      const id = `${ip}|${sp.port}`
      const seen = byTarget.get(id)
      if (!seen || better(c, seen)) byTarget.set(id, c)
    }
  }
  return [...byTarget.values()].sort((a, b) => (a.n !== b.n ? (a.n < b.n ? -1 : 1) : a.target.port - b.target.port))
}

/**
 * kube-proxy's topologyModeFromHints for zone hints: follow them only when every
 * ready endpoint has some and at least one is for this node's zone; otherwise
 * ignore them all, so a half-hinted slice never strands a zone.
 */
function useZoneHints(candidates: readonly Candidate[], zone: string | null): boolean {
  // no ready endpoint at all: forZone stays false, and the fallback below ignores hints anyway
  let forZone = false
  for (const c of candidates) {
    if (!c.ready) continue
    if (c.zoneHints.length === 0) return false
    if (zone !== null && c.zoneHints.includes(zone)) forZone = true
  }
  return forZone
}

export function categorizeEndpoints(
  port: ServicePort,
  slices: readonly EndpointSlice[],
  family: Family,
  policy: PortPolicy,
  node: NodeContext,
): Categorized {
  const candidates = collect(port, slices, family, node.nodeName)
  const zoneSensitive = candidates.some((c) => c.zoneHints.length > 0)
  const hasAnyEndpoints = candidates.some((c) => c.ready || c.servingTerminating)
  // Even with eTP Local, external traffic from pods and from the node short-circuits to the Cluster endpoints.
  const usesCluster = !policy.internalPolicyLocal || policy.externallyAccessible
  const usesLocal = policy.internalPolicyLocal || (policy.externalPolicyLocal && policy.externallyAccessible)

  let clusterEndpoints: EndpointTarget[] = []
  if (usesCluster) {
    const topology = useZoneHints(candidates, node.zone)
    clusterEndpoints = candidates.filter((c) => c.ready && (!topology || c.zoneHints.includes(node.zone!))).map((c) => c.target)
    // No ready endpoint anywhere (topology never leaves a zone empty): serving-terminating ones, topology ignored.
    if (clusterEndpoints.length === 0) clusterEndpoints = candidates.filter((c) => c.servingTerminating).map((c) => c.target)
  }

  let localEndpoints: EndpointTarget[] = []
  if (usesLocal) {
    const local = candidates.filter((c) => c.target.local)
    const ready = local.filter((c) => c.ready)
    localEndpoints = (ready.length > 0 ? ready : local.filter((c) => c.servingTerminating)).map((c) => c.target)
  }

  return { clusterEndpoints, localEndpoints, hasAnyEndpoints, zoneSensitive }
}
