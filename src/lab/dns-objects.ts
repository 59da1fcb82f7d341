// Pure: the lab's kube-dns, as kind has it: kube-system/kube-dns on 10.96.0.10
// (53/udp, 53/tcp, the kube-dns labels), here without a selector and with an
// EndpointSlice of its own naming the DNS server on the first node.
import type { Obj } from './api-client.ts'
import { DNS_PORT, DNS_SERVICE_IP, type NodePlan } from './topology.ts'

export const DNS_NAMESPACE = 'kube-system'
export const DNS_SERVICE = 'kube-dns'
const LABELS = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' }

export function kubeDnsService(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: DNS_SERVICE, namespace: DNS_NAMESPACE, labels: LABELS },
    spec: {
      clusterIP: DNS_SERVICE_IP,
      ports: [{ name: 'dns', port: DNS_PORT, targetPort: DNS_PORT, protocol: 'UDP' }, { name: 'dns-tcp', port: DNS_PORT, targetPort: DNS_PORT, protocol: 'TCP' }],
    },
  }
}

export function kubeDnsEndpointSlice(n: NodePlan): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${DNS_SERVICE}-lab`,
      namespace: DNS_NAMESPACE,
      labels: { ...LABELS, 'kubernetes.io/service-name': DNS_SERVICE, 'endpointslice.kubernetes.io/managed-by': 'lab.pontoon.io' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [n.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: n.name }],
    ports: [{ name: 'dns', port: DNS_PORT, protocol: 'UDP' }, { name: 'dns-tcp', port: DNS_PORT, protocol: 'TCP' }],
  }
}
