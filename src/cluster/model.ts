// pontoon's own small shapes for the cluster objects the dataplane uses.
// API objects are normalised into these once, at the edge (normalize-*.ts), so
// planners never see the API's optional-everything shapes, and two versions of
// an object compare equal exactly when the dataplane would program the same thing.

export type Protocol = 'TCP' | 'UDP' | 'SCTP'
export type IPFamily = 'IPv4' | 'IPv6'
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer'
export type TrafficPolicy = 'Cluster' | 'Local'

export interface ServicePort {
  name: string
  protocol: Protocol
  port: number
  /** null unless the Service type allocates one (NodePort, LoadBalancer) */
  nodePort: number | null
  /** a port number, or the name of a container port resolved through EndpointSlices */
  targetPort: number | string
}

export interface Service {
  namespace: string
  name: string
  type: ServiceType
  /** primary first, as in spec.clusterIPs */
  clusterIPs: string[]
  ipFamilies: IPFamily[]
  ports: ServicePort[]
  sessionAffinity: 'None' | 'ClientIP'
  /** only meaningful with ClientIP affinity; kube-apiserver defaults it to 10800 */
  sessionAffinityTimeoutSeconds: number
  externalTrafficPolicy: TrafficPolicy
  internalTrafficPolicy: TrafficPolicy
  healthCheckNodePort: number | null
  externalIPs: string[]
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIPs: string[]
  loadBalancerSourceRanges: string[]
}

export interface Endpoint {
  addresses: string[]
  ready: boolean
  serving: boolean
  terminating: boolean
  nodeName: string | null
  zone: string | null
  /** hints.forZones names, sorted; null when the slice controller set no hints */
  zoneHints: string[] | null
}

export interface EndpointPort {
  name: string
  protocol: Protocol
  port: number
}

export interface EndpointSlice {
  namespace: string
  name: string
  /** the owning Service's name (label kubernetes.io/service-name), same namespace */
  serviceName: string
  addressType: IPFamily
  endpoints: Endpoint[]
  ports: EndpointPort[]
}

export interface Node {
  name: string
  podCIDRs: string[]
  internalIPs: string[]
  externalIPs: string[]
  ready: boolean
  /** label topology.kubernetes.io/zone: the zone whose topology hints this node follows */
  zone: string | null
  /** annotations under pontoon.io/ only: the overlay keeps its per-node data there */
  annotations: Record<string, string>
}

export type ResourceName = 'services' | 'endpointslices' | 'nodes'

/** Cache key: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(namespace: string | undefined | null, name: string): string {
  return namespace ? `${namespace}/${name}` : name
}

export function serviceKeyOf(slice: Pick<EndpointSlice, 'namespace' | 'serviceName'>): string {
  return objectKey(slice.namespace, slice.serviceName)
}
