// The service proxy's one intermediate form: what every Service port must do on
// this node, decided once from the snapshot and shared by every backend
// (nftables, iptables+ipset, IPVS, userspace) and by the packet tracer. A
// renderer may only read these shapes; it never looks at a Service or an
// EndpointSlice, so two backends cannot disagree about who gets traffic.
//
// One intent is one (Service, port, IP family): a dual-stack Service with two
// ports is four intents, built by the same code with the family as a parameter.
import type { Family } from '../../net/address.ts'

/** Lower case, as nft and iptables spell it. */
export type L4Protocol = 'tcp' | 'udp' | 'sctp'

/** Where a packet goes once a frontend matched. */
export interface EndpointTarget {
  /** canonical text form of an address of the intent's family */
  ip: string
  port: number
  /** on this node (EndpointSlice nodeName = this node): eTP/iTP Local keep to these */
  local: boolean
}

export interface PortIntent {
  /** unique and stable: "namespace/name:portName:protocol:family", e.g. "default/web:http:tcp:4" */
  key: string
  /** "namespace/name" of the Service */
  service: string
  /** the Service port's name ("" when unnamed) */
  portName: string
  family: Family
  protocol: L4Protocol

  // ---- frontends (all of this family) ----
  clusterIP: string
  port: number
  /** null: no NodePort frontend */
  nodePort: number | null
  externalIPs: readonly string[]
  /** status.loadBalancer.ingress IPs */
  loadBalancerIPs: readonly string[]
  /** CIDRs of this family allowed to reach the loadBalancerIPs; empty: everyone */
  loadBalancerSourceRanges: readonly string[]

  // ---- behaviour ----
  /** ClientIP affinity timeout in seconds; 0: no affinity */
  affinityTimeoutSeconds: number
  internalPolicyLocal: boolean
  externalPolicyLocal: boolean
  /** null unless eTP Local on a LoadBalancer: the port kube-proxy's health server answers on */
  healthCheckNodePort: number | null

  // ---- endpoints, as kube-proxy's CategorizeEndpoints chooses them ----
  /** ready endpoints (topology-filtered), else serving-terminating ones, sorted by ip then port */
  clusterEndpoints: readonly EndpointTarget[]
  /** this node's ready endpoints, else its serving-terminating ones, sorted */
  localEndpoints: readonly EndpointTarget[]
  /** any ready or serving-terminating endpoint anywhere: tells "drop" (none here) from "reject" (none at all) */
  hasAnyEndpoints: boolean
}

/** Node-wide facts every intent is rendered with, per family. */
export interface FamilyGlobals {
  family: Family
  /** pod CIDRs of the cluster: a source inside is "in-cluster" (kube-proxy's local detector); empty: no detection */
  clusterCIDRs: readonly string[]
  /**
   * addresses NodePorts listen on; "local" means every local address of the node
   * (nft `fib daddr type local`, iptables `-m addrtype --dst-type LOCAL`)
   */
  nodePortAddresses: readonly string[] | 'local'
}

export interface ProxyGlobals {
  nodeName: string
  masqueradeAll: boolean
  /** one entry per family the node runs */
  families: readonly FamilyGlobals[]
}

/** A whole plan: what a full sync renders. */
export interface ProxyPlan {
  globals: ProxyGlobals
  /** by PortIntent.key */
  intents: ReadonlyMap<string, PortIntent>
}

/**
 * What changed since the previous plan, computed from the changed objects only.
 * `removed` carries the intents as they were, so a renderer can delete exactly
 * what it wrote for them (elements, chains, affinity entries, conntrack).
 */
export interface PlanDelta {
  /** new or changed intents, as they are now */
  upserted: readonly PortIntent[]
  /** intents that exist no more, as they were */
  removed: readonly PortIntent[]
  /** previous versions of the upserted intents that existed before (same key) */
  previous: ReadonlyMap<string, PortIntent>
}
