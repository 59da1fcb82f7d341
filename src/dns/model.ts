// Cluster DNS's own shapes for Services and EndpointSlices. The proxy's model
// drops what has no virtual IP (headless and ExternalName Services) and what it
// never programs (endpoint hostnames); DNS needs exactly those, so its client
// keeps these instead, normalised at the edge like the proxy's (normalize.ts).
import type { IPFamily, Protocol } from '../cluster/model.ts'

export type DnsServiceKind = 'ClusterIP' | 'Headless' | 'ExternalName'

export interface DnsPort {
  /** '' for an unnamed port: no SRV record */
  name: string
  protocol: Protocol
  port: number
}

export interface DnsService {
  namespace: string
  name: string
  kind: DnsServiceKind
  /** ClusterIP kind only, primary first */
  clusterIPs: string[]
  /** ExternalName kind only: the CNAME target, without a trailing dot */
  externalName: string
  ports: DnsPort[]
}

export interface DnsEndpoint {
  addresses: string[]
  ready: boolean
  /** endpoints[].hostname (a StatefulSet pod's name under its headless Service) */
  hostname: string | null
}

export interface DnsEndpointSlice {
  namespace: string
  name: string
  serviceName: string
  addressType: IPFamily
  endpoints: DnsEndpoint[]
  ports: DnsPort[]
}
