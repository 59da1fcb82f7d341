// Small builders for the proxy planner's tests, in pontoon's model shapes (not
// API objects), over one fixed address plan, as kube-proxy's helpers_test.go:
//   this node        node-a, zone "zone-a"; node-b is in zone-b, node-c in zone-c
//   clusterIPs       10.96.0.<n>             fd00:10:96::<n>
//   pods on node X   10.244.<X>.<n>          fd00:10:244:<X>::<n>   (X: a=1, b=2, c=3)
//   externalIPs      192.0.2.<n>             2001:db8:e::<n>
//   LB ingress IPs   203.0.113.<n>           2001:db8:1b::<n>
//   cluster CIDRs    10.244.0.0/16           fd00:10:244::/48
import type { Change } from '../../src/cluster/change-tracker.ts'
import type { Endpoint, EndpointPort, EndpointSlice, Node, Service, ServicePort } from '../../src/cluster/model.ts'
import { buildSnapshot, type ChangeSet, type ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import type { PlannerConfigInput } from '../../src/proxy/plan/config.ts'

export const THIS_NODE = 'node-a'
const NODE_OCTET: Record<string, number> = { 'node-a': 1, 'node-b': 2, 'node-c': 3 }

export const v4 = {
  clusterIP: (n: number) => `10.96.0.${n}`,
  pod: (node: string, n: number) => `10.244.${NODE_OCTET[node] ?? 9}.${n}`,
  externalIP: (n: number) => `192.0.2.${n}`,
  lbIP: (n: number) => `203.0.113.${n}`,
  clusterCIDR: '10.244.0.0/16',
}
export const v6 = {
  clusterIP: (n: number) => `fd00:10:96::${n.toString(16)}`,
  pod: (node: string, n: number) => `fd00:10:244:${NODE_OCTET[node] ?? 9}::${n.toString(16)}`,
  externalIP: (n: number) => `2001:db8:e::${n.toString(16)}`,
  lbIP: (n: number) => `2001:db8:1b::${n.toString(16)}`,
  clusterCIDR: 'fd00:10:244::/48',
}

/** Config of a single-stack IPv4 node, NodePorts on every local address. */
export function v4Config(over: Partial<PlannerConfigInput> = {}): PlannerConfigInput {
  return { nodeName: THIS_NODE, families: [{ family: 4, clusterCIDRs: [v4.clusterCIDR], nodePortAddresses: 'local' }], ...over }
}

/** Config of a dual-stack node. */
export function dualConfig(over: Partial<PlannerConfigInput> = {}): PlannerConfigInput {
  return {
    nodeName: THIS_NODE,
    families: [
      { family: 4, clusterCIDRs: [v4.clusterCIDR], nodePortAddresses: 'local' },
      { family: 6, clusterCIDRs: [v6.clusterCIDR], nodePortAddresses: 'local' },
    ],
    ...over,
  }
}

export function makePort(name: string, port: number, over: Partial<ServicePort> = {}): ServicePort {
  return { name, protocol: 'TCP', port, nodePort: null, targetPort: port, ...over }
}

/** A ClusterIP Service on 10.96.0.1 with one unnamed TCP port 80; `edit` changes what the test is about. */
export function makeService(namespace: string, name: string, edit: (s: Service) => void = () => {}): Service {
  const s: Service = {
    namespace,
    name,
    type: 'ClusterIP',
    clusterIPs: [v4.clusterIP(1)],
    ipFamilies: ['IPv4'],
    ports: [makePort('', 80)],
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: 0,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: null,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
  }
  edit(s)
  return s
}

/** A ready endpoint on `node` (null: no nodeName). */
export function makeEndpoint(address: string, node: string | null, over: Partial<Endpoint> = {}): Endpoint {
  return { addresses: [address], ready: true, serving: true, terminating: false, nodeName: node, zone: null, zoneHints: null, ...over }
}

/** A not-ready endpoint that is still serving while its pod terminates. */
export function servingTerminating(address: string, node: string | null, over: Partial<Endpoint> = {}): Endpoint {
  return makeEndpoint(address, node, { ready: false, serving: true, terminating: true, ...over })
}

/** An IPv4 slice of Service `service` with port ("", TCP, 80) and no endpoints; `edit` fills it. */
export function makeSlice(namespace: string, name: string, service: string, edit: (s: EndpointSlice) => void = () => {}): EndpointSlice {
  const s: EndpointSlice = {
    namespace,
    name,
    serviceName: service,
    addressType: 'IPv4',
    endpoints: [],
    ports: [{ name: '', protocol: 'TCP', port: 80 }],
  }
  edit(s)
  return s
}

export function slicePort(name: string, port: number, protocol: EndpointPort['protocol'] = 'TCP'): EndpointPort {
  return { name, protocol, port }
}

export function makeNode(name: string, zone: string | null = null): Node {
  return { name, podCIDRs: [], internalIPs: [], externalIPs: [], ready: true, zone, annotations: {} }
}

export const NODES = [makeNode('node-a', 'zone-a'), makeNode('node-b', 'zone-b'), makeNode('node-c', 'zone-c')]

export function snapshotOf(services: readonly Service[], slices: readonly EndpointSlice[] = [], nodes: readonly Node[] = NODES): ClusterSnapshot {
  return buildSnapshot(
    services.map((s): [string, Service] => [`${s.namespace}/${s.name}`, s]),
    slices,
    nodes.map((n): [string, Node] => [n.name, n]),
  )
}

export function change<T extends { namespace?: string; name: string }>(previous: T | undefined, current: T | undefined): Change<T> {
  const o = (current ?? previous)!
  return { key: o.namespace ? `${o.namespace}/${o.name}` : o.name, previous, current }
}

export function changes(over: Partial<ChangeSet>): ChangeSet {
  return { services: [], endpointSlices: [], nodes: [], ...over }
}
