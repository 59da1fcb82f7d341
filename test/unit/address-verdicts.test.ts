// The API and the agent give the same verdict on every address: an object the API
// stores is one the agent's normalisers accept, and the other way round. Today's
// bug was the split: the API stored "10.1/24" and "012.1.2.3", the agent refused
// them and kept a stale object.
import t from 'tap'
import { validateObject } from '../../src/api/validate/index.ts'
import { byName } from '../../src/api/resources.ts'
import { applyDefaults } from '../../src/api/defaults.ts'
import type { KObject } from '../../src/api/types.ts'
import { normalizeService } from '../../src/cluster/normalize-service.ts'
import { normalizeEndpointSlice } from '../../src/cluster/normalize-endpointslice.ts'
import { normalizeNode } from '../../src/cluster/normalize-node.ts'

const apiAccepts = (resource: string, obj: KObject): boolean => {
  const o = structuredClone(obj)
  applyDefaults(byName(resource).kind, o)
  return validateObject(byName(resource), o).length === 0
}

const IPS = [
  '10.96.0.10', '10.1', '1.2.3', '012.1.2.3', '10.96.0.012', '0x1.2.3.4', '256.0.0.1', '10.0.0.1 ', 'fd00::10', 'FD00:0:0::10',
  '::ffff:1.2.3.4', '::ffff:1.2.3.04', '::1.2.3.4', 'fe80::1%eth0', '1::2::3', '', 'None',
]
const CIDRS = [
  '10.244.1.0/24', '10.1/24', '012.1.2.0/24', '10.244.1.5/24', '10.244.1.0/024', '10.244.1.0/33', '::ffff:10.0.0.0/104',
  'fd00:1::/64', 'fd00:1::1/64', '10.0.0.0', '0.0.0.0/0',
]

const md = { name: 'x', namespace: 'default', resourceVersion: '1', labels: { 'kubernetes.io/service-name': 'x' } }
const service = (spec: object, status?: object): KObject =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: md, spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 80, protocol: 'TCP' }], ...spec }, ...(status ? { status } : {}) }) as KObject
const slice = (addr: string, family = addr.includes(':') ? 'IPv6' : 'IPv4'): KObject =>
  ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: md, addressType: family, endpoints: [{ addresses: [addr] }], ports: [{ port: 80, protocol: 'TCP' }] }) as unknown as KObject
const node = (spec: object, status?: object): KObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', resourceVersion: '1' }, spec, ...(status ? { status } : {}) }) as KObject

const agentAccepts = (kind: string, obj: KObject): boolean => {
  const n = kind === 'services' ? normalizeService(obj) : kind === 'endpointslices' ? normalizeEndpointSlice(obj) : normalizeNode(obj)
  return n.kind === 'ok'
}

const CASES: Array<[string, string, string[], (v: string) => KObject]> = [
  ['services', 'spec.clusterIP', IPS.filter((v) => v !== '' && v !== 'None'), (v) => service({ clusterIP: v, clusterIPs: [v] })],
  ['services', 'spec.externalIPs[]', IPS, (v) => service({ externalIPs: [v] })],
  ['services', 'status.loadBalancer.ingress[].ip', IPS.filter((v) => v !== ''), (v) => service({}, { loadBalancer: { ingress: [{ ip: v }] } })],
  ['services', 'spec.loadBalancerSourceRanges[]', CIDRS, (v) => service({ loadBalancerSourceRanges: [v] })],
  ['endpointslices', 'endpoints[].addresses[]', IPS, (v) => slice(v)],
  ['nodes', 'spec.podCIDR', CIDRS, (v) => node({ podCIDR: v })],
  ['nodes', 'spec.podCIDRs[]', CIDRS, (v) => node({ podCIDRs: [v] })],
  ['nodes', 'status.addresses[].address', IPS, (v) => node({}, { addresses: [{ type: 'InternalIP', address: v }] })],
]

t.test('API and agent agree on every address in every field they share', async (t) => {
  for (const [resource, field, values, make] of CASES) {
    for (const v of values) {
      const obj = make(v)
      const api = apiAccepts(resource, obj)
      t.equal(agentAccepts(resource, obj), api, `${field} = ${JSON.stringify(v)}: API ${api ? 'stores' : 'refuses'} it, the agent must too`)
    }
  }
})

t.test('spot checks at the agent: the ambiguous forms are refused with the field named', async (t) => {
  t.match(normalizeNode(node({ podCIDR: '10.1/24' })), { kind: 'malformed', reason: /spec\.podCIDRs\[0\]/ })
  t.match(normalizeNode(node({ podCIDRs: ['10.244.1.5/24'] })), { kind: 'malformed', reason: /not a subnet CIDR/ })
  t.match(normalizeNode(node({}, { addresses: [{ type: 'InternalIP', address: '012.1.2.3' }] })), { kind: 'malformed', reason: /status\.addresses\[0\]\.address/ })
  t.match(normalizeService(service({ clusterIP: '10.96.0.012', clusterIPs: ['10.96.0.012'] })), { kind: 'malformed', reason: /spec\.clusterIPs\[0\]/ })
  t.match(normalizeService(service({ externalIPs: ['::ffff:1.2.3.4'] })), { kind: 'malformed', reason: /spec\.externalIPs\[0\]/ })
  t.match(normalizeService(service({ loadBalancerSourceRanges: ['10.1/24'] })), { kind: 'malformed', reason: /spec\.loadBalancerSourceRanges\[0\]/ })
  t.match(normalizeEndpointSlice(slice('10.0.0.012')), { kind: 'malformed', reason: /endpoints\[0\]\.addresses\[0\]/ })
  t.match(normalizeEndpointSlice(slice('fe80::1%eth0')), { kind: 'malformed' })
  t.match(normalizeService(service({ loadBalancerSourceRanges: [' 10.0.0.0/8 '] })), { kind: 'ok', value: { loadBalancerSourceRanges: ['10.0.0.0/8'] } })
})
