// Every IP- or CIDR-valued field the API serves refuses the forms that libc and
// the agent read differently, naming the field; valid values pass.
import t from 'tap'
import { validateObject } from '../../src/api/validate/index.ts'
import { byName } from '../../src/api/resources.ts'
import { applyDefaults } from '../../src/api/defaults.ts'
import type { KObject } from '../../src/api/types.ts'

const check = (resource: string, obj: KObject) => {
  applyDefaults(byName(resource).kind, obj)
  return validateObject(byName(resource), obj)
}

const md = { name: 'x', namespace: 'default' }
const svc = (spec: object, status?: object): KObject => ({ metadata: md, spec: { ports: [{ port: 80 }], ...spec }, ...(status ? { status } : {}) }) as KObject
const pod = (status: object): KObject => ({ metadata: md, spec: { containers: [{ name: 'c', image: 'i' }] }, status }) as KObject
const node = (spec: object, status?: object): KObject => ({ metadata: { name: 'n' }, spec, ...(status ? { status } : {}) }) as KObject

// [resource, field the error names, object holding `v` there]
const IP_FIELDS: Array<[string, string, (v: string) => KObject]> = [
  ['services', 'spec.clusterIP', (v) => svc({ clusterIP: v })],
  ['services', 'spec.clusterIPs[1]', (v) => svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', v] })],
  ['services', 'spec.externalIPs[0]', (v) => svc({ externalIPs: [v] })],
  ['services', 'spec.loadBalancerIP', (v) => svc({ type: 'LoadBalancer', loadBalancerIP: v })],
  ['services', 'status.loadBalancer.ingress[0].ip', (v) => svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: [{ ip: v }] } })],
  ['endpointslices', 'endpoints[0].addresses[0]', (v) => ({ metadata: md, addressType: v.includes(':') ? 'IPv6' : 'IPv4', endpoints: [{ addresses: [v] }] }) as unknown as KObject],
  ['endpoints', 'subsets[0].addresses[0].ip', (v) => ({ metadata: md, subsets: [{ addresses: [{ ip: v }], ports: [{ port: 80 }] }] }) as unknown as KObject],
  ['endpoints', 'subsets[0].notReadyAddresses[0].ip', (v) => ({ metadata: md, subsets: [{ notReadyAddresses: [{ ip: v }], ports: [{ port: 80 }] }] }) as unknown as KObject],
  ['nodes', 'status.addresses[0].address', (v) => node({}, { addresses: [{ type: 'InternalIP', address: v }] })],
  ['nodes', 'status.addresses[0].address', (v) => node({}, { addresses: [{ type: 'ExternalIP', address: v }] })],
  ['pods', 'status.podIP', (v) => pod({ podIP: v })],
  ['pods', 'status.podIPs[0].ip', (v) => pod({ podIPs: [{ ip: v }] })],
  ['pods', 'status.hostIP', (v) => pod({ hostIP: v })],
  ['pods', 'status.hostIPs[0].ip', (v) => pod({ hostIPs: [{ ip: v }] })],
]

const CIDR_FIELDS: Array<[string, string, (v: string) => KObject]> = [
  ['nodes', 'spec.podCIDR', (v) => node({ podCIDR: v })],
  ['nodes', 'spec.podCIDRs[0]', (v) => node({ podCIDRs: [v] })],
  ['services', 'spec.loadBalancerSourceRanges[0]', (v) => svc({ type: 'LoadBalancer', loadBalancerSourceRanges: [v] })],
]

const BAD_IPS: Array<[string, RegExp]> = [
  ['10.1', /must be a valid/],
  ['012.1.2.3', /leading 0s/],
  ['1.2.3', /must be a valid/],
  ['0x1.2.3.4', /must be a valid/],
  ['::ffff:1.2.3.04', /leading 0s/],
  ['::ffff:1.2.3.4', /IPv4-mapped/],
  ['fe80::1%eth0', /zone/],
  ['10.0.0.300', /must be a valid/],
  ['10.0.0.1/32', /must be a valid/],
]
const BAD_CIDRS: Array<[string, RegExp]> = [
  ['10.1/24', /must be a valid CIDR/],
  ['012.1.2.0/24', /leading 0s/],
  ['1.2.3/24', /must be a valid CIDR/],
  ['0x1.2.3.0/24', /must be a valid CIDR/],
  ['::ffff:10.0.0.0/104', /IPv4-mapped/],
  ['10.244.1.5/24', /bits set beyond the prefix length/],
  ['10.244.1.0/024', /prefix length/],
  ['10.244.1.0/33', /prefix length/],
  ['10.244.1.0', /must be a valid CIDR/],
]

t.test('each IP field refuses each ambiguous form, naming the field', async (t) => {
  for (const [resource, field, make] of IP_FIELDS) {
    t.same(check(resource, make('10.96.0.20')).filter((e) => e.field === field), [], `${field}: IPv4 passes`)
    for (const [bad, why] of BAD_IPS) {
      const errs = check(resource, make(bad))
      t.match(errs.filter((e) => e.field === field), [{ type: 'FieldValueInvalid', field, value: bad, detail: why }], `${resource} ${field} = ${bad}`)
    }
  }
})

t.test('each CIDR field refuses each ambiguous form, naming the field', async (t) => {
  for (const [resource, field, make] of CIDR_FIELDS) {
    t.same(check(resource, make('10.244.1.0/24')), [], `${field}: a subnet passes`)
    t.same(check(resource, make('fd00:1::/64')), [], `${field}: an IPv6 subnet passes`)
    for (const [bad, why] of BAD_CIDRS) {
      const errs = check(resource, make(bad))
      t.match(errs.filter((e) => e.field === field), [{ type: 'FieldValueInvalid', field, value: bad, detail: why }], `${resource} ${field} = ${bad}`)
    }
  }
  t.same(check('services', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: [' 10.0.0.0/8 '] })), [], 'source ranges are trimmed first, as kube-apiserver does')
})

t.test('valid dual-stack values pass; two of one family do not', async (t) => {
  t.same(check('services', svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:96::10'] })), [])
  t.same(check('services', svc({ clusterIP: 'None', clusterIPs: ['None'] })), [], 'headless')
  t.same(check('pods', pod({ podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:244::5' }], hostIP: '172.18.0.2', hostIPs: [{ ip: '172.18.0.2' }] })), [])
  t.same(check('nodes', node({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] }, { addresses: [{ type: 'InternalIP', address: 'FD00::1' }, { type: 'Hostname', address: 'n1' }] })), [],
    'non-canonical IPv6 stays legal in these legacy fields')
  t.same(check('services', svc({ type: 'LoadBalancer', loadBalancerIP: '' }, { loadBalancer: { ingress: [{ hostname: 'lb.example' }] } })), [])
  t.match(check('services', svc({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', '10.96.0.11'] })), [{ field: 'spec.clusterIPs', detail: /one IP for each IP family/ }])
  t.match(check('nodes', node({ podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] })), [{ field: 'spec.podCIDRs', detail: /one CIDR for each IP family/ }])
  t.match(check('pods', pod({ podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }, { ip: 'fd00::2' }] })), [{ field: 'status.podIPs' }])
  t.match(check('services', svc({ externalIPs: '1.2.3.4' })), [{ field: 'spec.externalIPs', detail: 'must be a list' }])
  t.match(check('services', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: '10.0.0.0/8' })), [{ field: 'spec.loadBalancerSourceRanges', detail: 'must be a list' }])
  t.match(check('services', svc({ type: 'LoadBalancer' }, { loadBalancer: { ingress: {} } })), [{ field: 'status.loadBalancer.ingress', detail: 'must be a list' }])
  t.match(check('endpointslices', { metadata: md, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] } as unknown as KObject),
    [{ field: 'endpoints[0].addresses[0]', detail: 'must be a valid IPv4 address' }])
  t.match(check('endpointslices', { metadata: md, addressType: 'IPv6', endpoints: [{ addresses: ['10.0.0.1'] }] } as unknown as KObject),
    [{ field: 'endpoints[0].addresses[0]', detail: 'must be a valid IPv6 address' }])
})
