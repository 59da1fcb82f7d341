import t from 'tap'
import { normalizeService } from '../../src/cluster/normalize-service.ts'
import { normalizeEndpointSlice } from '../../src/cluster/normalize-endpointslice.ts'
import { normalizeNode } from '../../src/cluster/normalize-node.ts'

type Obj = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

function makeService(ns: string, name: string, f: (s: Obj) => void = () => {}): Obj {
  const s: Obj = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: ns, name, resourceVersion: '7', labels: { app: name } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  }
  f(s)
  return s
}

function makeSlice(ns: string, name: string, svc: string, f: (s: Obj) => void = () => {}): Obj {
  const s: Obj = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true }, nodeName: 'n1', zone: 'z1' }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  }
  f(s)
  return s
}

t.test('a ClusterIP service gets the API defaults', async (t) => {
  const n = normalizeService(makeService('default', 'web', (s) => {
    delete s.spec.type
    delete s.spec.clusterIPs
    s.spec.ports = [{ port: 53, protocol: 'UDP' }]
  }))
  t.equal(n.kind, 'ok')
  if (n.kind !== 'ok') return
  t.equal(n.key, 'default/web')
  t.same(n.value, {
    namespace: 'default', name: 'web', type: 'ClusterIP', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'],
    ports: [{ name: '', protocol: 'UDP', port: 53, nodePort: null, targetPort: 53 }],
    sessionAffinity: 'None', sessionAffinityTimeoutSeconds: 0, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
  })
})

t.test('NodePort, LoadBalancer, affinity, traffic policies and dual stack', async (t) => {
  const n = normalizeService(makeService('ns1', 'lb', (s) => {
    s.spec.type = 'LoadBalancer'
    s.spec.clusterIPs = ['10.96.0.10', 'fd00::a']
    s.spec.ports = [{ name: 'http', port: 80, targetPort: 'web', nodePort: 30080 }]
    s.spec.sessionAffinity = 'ClientIP'
    s.spec.externalTrafficPolicy = 'Local'
    s.spec.healthCheckNodePort = 31000
    s.spec.externalIPs = ['192.0.2.7']
    s.spec.loadBalancerSourceRanges = [' 198.51.100.0/24 ']
    s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example' }] } }
  }))
  if (n.kind !== 'ok') return t.fail(`expected ok, got ${JSON.stringify(n)}`)
  t.same(n.value.ipFamilies, ['IPv4', 'IPv6'])
  t.same(n.value.ports, [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080, targetPort: 'web' }])
  t.equal(n.value.sessionAffinityTimeoutSeconds, 10800)
  t.equal(n.value.externalTrafficPolicy, 'Local')
  t.equal(n.value.healthCheckNodePort, 31000)
  t.same(n.value.loadBalancerIPs, ['203.0.113.9'])
  t.same(n.value.loadBalancerSourceRanges, ['198.51.100.0/24'])
})

t.test('a ClusterIP service drops a stray nodePort', async (t) => {
  const n = normalizeService(makeService('d', 'x', (s) => { s.spec.ports[0].nodePort = 30001 }))
  t.equal(n.kind === 'ok' && n.value.ports[0]?.nodePort, null)
})

t.test('services kube-proxy would not program are ignored', async (t) => {
  const cases: Array<[string, Obj, RegExp]> = [
    ['other proxy', makeService('d', 'a', (s) => { s.metadata.labels['service.kubernetes.io/service-proxy-name'] = 'other' }), /service-proxy-name/],
    ['headless', makeService('d', 'b', (s) => { s.spec.clusterIP = 'None'; s.spec.clusterIPs = ['None'] }), /headless/],
    ['ExternalName', makeService('d', 'c', (s) => { s.spec = { type: 'ExternalName', externalName: 'example.com' } }), /ExternalName/],
  ]
  for (const [name, obj, reason] of cases) {
    const n = normalizeService(obj)
    t.equal(n.kind, 'ignored', name)
    if (n.kind === 'ignored') t.match(n.reason, reason, name)
  }
})

t.test('malformed services name the field', async (t) => {
  const cases: Array<[string, Obj | unknown, RegExp, string | null]> = [
    ['not an object', 'hello', /\(object\)|expected object/, null],
    ['no name', makeService('d', 'x', (s) => { delete s.metadata.name }), /^metadata\.name/, null],
    ['no namespace', makeService('d', 'x', (s) => { delete s.metadata.namespace }), /^metadata\.namespace/, null],
    ['port 0', makeService('d', 'x', (s) => { s.spec.ports[0].port = 0 }), /^spec\.ports\[0\]\.port: must be in 1\.\.65535/, 'd/x'],
    ['port 70000', makeService('d', 'x', (s) => { s.spec.ports[0].port = 70000 }), /^spec\.ports\[0\]\.port/, 'd/x'],
    ['port as text', makeService('d', 'x', (s) => { s.spec.ports[0].port = '80' }), /^spec\.ports\[0\]\.port/, 'd/x'],
    ['protocol ICMP', makeService('d', 'x', (s) => { s.spec.ports[0].protocol = 'ICMP' }), /^spec\.ports\[0\]\.protocol/, 'd/x'],
    ['bad clusterIP', makeService('d', 'x', (s) => { s.spec.clusterIP = '10.96.0.300'; s.spec.clusterIPs = ['10.96.0.300'] }), /^spec\.clusterIPs\[0\]/, 'd/x'],
    ['clusterIPs disagree', makeService('d', 'x', (s) => { s.spec.clusterIPs = ['10.96.0.11'] }), /^spec\.clusterIPs\[0\]: must equal/, 'd/x'],
    ['bad type', makeService('d', 'x', (s) => { s.spec.type = 'Magic' }), /^spec\.type/, 'd/x'],
    ['bad external IP', makeService('d', 'x', (s) => { s.spec.externalIPs = ['1.2.3'] }), /^spec\.externalIPs\[0\]/, 'd/x'],
    ['bad source range', makeService('d', 'x', (s) => { s.spec.loadBalancerSourceRanges = ['10.0.0.0/33'] }), /^spec\.loadBalancerSourceRanges\[0\]/, 'd/x'],
    ['empty targetPort name', makeService('d', 'x', (s) => { s.spec.ports[0].targetPort = '' }), /^spec\.ports\[0\]\.targetPort/, 'd/x'],
    ['affinity Sticky', makeService('d', 'x', (s) => { s.spec.sessionAffinity = 'Sticky' }), /^spec\.sessionAffinity/, 'd/x'],
  ]
  for (const [name, obj, reason, key] of cases) {
    const n = normalizeService(obj)
    t.equal(n.kind, 'malformed', name)
    if (n.kind !== 'malformed') continue
    t.match(n.reason, reason, name)
    if (key) t.equal(n.key, key, `${name}: key`)
  }
})

t.test('endpoint slices: conditions default as the API says', async (t) => {
  const n = normalizeEndpointSlice(makeSlice('d', 'web-abc', 'web', (s) => {
    s.endpoints = [
      { addresses: ['10.244.1.5'], nodeName: 'n1' },
      { addresses: ['10.244.1.6'], conditions: { ready: false } },
      { addresses: ['10.244.1.7'], conditions: { ready: false, serving: true, terminating: true }, zone: 'z', hints: { forZones: [{ name: 'z' }, { name: 'a' }, { name: 'z' }] } },
    ]
    s.ports = [{ port: 8080 }, { name: 'noport' }]
  }))
  if (n.kind !== 'ok') return t.fail(JSON.stringify(n))
  t.equal(n.key, 'd/web-abc')
  t.equal(n.value.serviceName, 'web')
  t.same(n.value.endpoints, [
    { addresses: ['10.244.1.5'], ready: true, serving: true, terminating: false, nodeName: 'n1', zone: null, zoneHints: null },
    { addresses: ['10.244.1.6'], ready: false, serving: false, terminating: false, nodeName: null, zone: null, zoneHints: null },
    { addresses: ['10.244.1.7'], ready: false, serving: true, terminating: true, nodeName: null, zone: 'z', zoneHints: ['a', 'z'] },
  ])
  t.same(n.value.ports, [{ name: '', protocol: 'TCP', port: 8080 }], 'a port without a number is skipped')
})

t.test('endpoint slices: ignored and malformed', async (t) => {
  const ign: Array<[string, Obj]> = [
    ['no service label', makeSlice('d', 's', 'web', (s) => { s.metadata.labels = {} })],
    ['FQDN', makeSlice('d', 's', 'web', (s) => { s.addressType = 'FQDN'; s.endpoints = [{ addresses: ['a.example'] }] })],
    ['other proxy', makeSlice('d', 's', 'web', (s) => { s.metadata.labels['service.kubernetes.io/service-proxy-name'] = 'x' })],
  ]
  for (const [name, obj] of ign) t.equal(normalizeEndpointSlice(obj).kind, 'ignored', name)
  const bad: Array<[string, Obj, RegExp]> = [
    ['bad address', makeSlice('d', 's', 'web', (s) => { s.endpoints[0].addresses = ['10.244.1.999'] }), /^endpoints\[0\]\.addresses\[0\]: "10\.244\.1\.999" is not an IPv4 address/],
    ['v6 in a v4 slice', makeSlice('d', 's', 'web', (s) => { s.endpoints[0].addresses = ['fd00::1'] }), /^endpoints\[0\]\.addresses\[0\]/],
    ['no addresses', makeSlice('d', 's', 'web', (s) => { s.endpoints[0].addresses = [] }), /^endpoints\[0\]\.addresses/],
    ['address type', makeSlice('d', 's', 'web', (s) => { s.addressType = 'IPv5' }), /^addressType/],
    ['ready as text', makeSlice('d', 's', 'web', (s) => { s.endpoints[0].conditions.ready = 'yes' }), /^endpoints\[0\]\.conditions\.ready/],
    ['port 0', makeSlice('d', 's', 'web', (s) => { s.ports[0].port = 0 }), /^ports\[0\]\.port/],
  ]
  for (const [name, obj, reason] of bad) {
    const n = normalizeEndpointSlice(obj)
    t.equal(n.kind, 'malformed', name)
    if (n.kind === 'malformed') {
      t.match(n.reason, reason, name)
      t.equal(n.key, 'd/s', `${name}: key`)
    }
  }
})

t.test('nodes', async (t) => {
  const good = normalizeNode({
    metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'zone-a' }, annotations: { 'pontoon.io/vtep-mac': 'aa:bb', 'other.io/x': 'y' } },
    spec: { podCIDR: '10.244.1.0/24' },
    status: {
      addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '172.18.0.2' }, { type: 'ExternalIP', address: '198.51.100.2' }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  })
  t.same(good, {
    kind: 'ok', key: 'n1',
    value: { name: 'n1', podCIDRs: ['10.244.1.0/24'], internalIPs: ['172.18.0.2'], externalIPs: ['198.51.100.2'], ready: true, zone: 'zone-a', annotations: { 'pontoon.io/vtep-mac': 'aa:bb' } },
  })
  const notReady = normalizeNode({ metadata: { name: 'n2' } })
  t.same(notReady.kind === 'ok' && notReady.value, { name: 'n2', podCIDRs: [], internalIPs: [], externalIPs: [], ready: false, zone: null, annotations: {} })
  const badCidr = normalizeNode({ metadata: { name: 'n3' }, spec: { podCIDRs: ['10.244.0.0/24', '10.244.0.0'] } })
  t.equal(badCidr.kind, 'malformed')
  if (badCidr.kind === 'malformed') t.match(badCidr.reason, /^spec\.podCIDRs\[1\]/)
  const badAddr = normalizeNode({ metadata: { name: 'n4' }, status: { addresses: [{ type: 'InternalIP', address: 'nope' }] } })
  t.match(badAddr.kind === 'malformed' && badAddr.reason, /^status\.addresses\[0\]\.address/)
})
