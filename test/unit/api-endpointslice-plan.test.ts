import t from 'tap'
import { planSlices } from '../../src/api/controllers/endpointslice-plan.ts'
import type { KObject } from '../../src/api/types.ts'

const service = (f: (s: KObject) => void = () => {}): KObject => {
  const s: KObject = {
    metadata: { name: 'web', namespace: 'd', uid: 'u-svc' },
    spec: { selector: { app: 'web' }, ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'metrics', port: 9000, targetPort: 9100, protocol: 'TCP' }] },
  }
  f(s)
  return s
}

const pod = (name: string, ip: string, opts: { ready?: boolean; port?: number; node?: string; deleting?: boolean; phase?: string; labels?: Record<string, string>; ns?: string } = {}): KObject => ({
  metadata: { name, namespace: opts.ns ?? 'd', uid: `u-${name}`, labels: opts.labels ?? { app: 'web' }, ...(opts.deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}) },
  spec: { nodeName: opts.node ?? 'n1', containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: opts.port ?? 8080, protocol: 'TCP' }] }] },
  status: { phase: opts.phase ?? 'Running', podIP: ip, conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
})

t.test('selected pods with IPs become endpoints; named targetPorts resolve', async (t) => {
  const slices = planSlices(service(), [pod('a', '10.244.1.2'), pod('b', '10.244.2.3', { node: 'n2' }), pod('other', '10.244.1.9', { labels: { app: 'db' } }), pod('noip', ''), pod('elsewhere', '10.244.1.10', { ns: 'x' })])
  t.equal(slices.length, 1)
  const s = slices[0]!
  t.equal(s.addressType, 'IPv4')
  t.same(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }])
  t.same(s.endpoints.map((e) => [e.addresses[0], e.nodeName, e.targetRef.name]), [['10.244.1.2', 'n1', 'a'], ['10.244.2.3', 'n2', 'b']])
})

t.test('conditions: ready, serving, terminating', async (t) => {
  const [s] = planSlices(service(), [pod('ready', '10.0.0.1'), pod('unready', '10.0.0.2', { ready: false }), pod('going', '10.0.0.3', { deleting: true }), pod('done', '10.0.0.4', { phase: 'Succeeded' })])
  t.same(s!.endpoints.map((e) => [e.targetRef.name, e.conditions]), [
    ['going', { ready: false, serving: true, terminating: true }],
    ['ready', { ready: true, serving: true, terminating: false }],
    ['unready', { ready: false, serving: false, terminating: false }],
  ])
  const [p] = planSlices(service((x) => (x.spec!.publishNotReadyAddresses = true)), [pod('unready', '10.0.0.2', { ready: false })])
  t.equal(p!.endpoints[0]!.conditions.ready, true, 'publishNotReadyAddresses')
})

t.test('different resolved ports give different slices; at most 100 endpoints per slice', async (t) => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.1.${i >> 8}.${i & 255}`, { port: i < 230 ? 8080 : 8081 }))
  const slices = planSlices(service(), pods)
  t.same(slices.map((s) => [s.ports[0]!.port, s.endpoints.length]), [[8080, 100], [8080, 100], [8080, 30], [8081, 20]])
})

t.test('no selector, ExternalName, or unresolvable port', async (t) => {
  t.same(planSlices(service((s) => delete s.spec!.selector), [pod('a', '10.0.0.1')]), [])
  t.same(planSlices(service((s) => (s.spec!.type = 'ExternalName')), [pod('a', '10.0.0.1')]), [])
  const [s] = planSlices(service((x) => (x.spec!.ports = [{ name: 'x', port: 1, targetPort: 'nope' }])), [pod('a', '10.0.0.1')])
  t.same(s!.ports, [], 'a name no container has is left out of the ports')
  t.equal(s!.endpoints.length, 1)
})

t.test('IPv6 service picks the IPv6 pod address', async (t) => {
  const p = pod('a', '10.0.0.1')
  p.status!.podIPs = [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }]
  const [s] = planSlices(service((x) => (x.spec!.ipFamilies = ['IPv6'])), [p])
  t.equal(s!.addressType, 'IPv6')
  t.same(s!.endpoints[0]!.addresses, ['fd00::1'])
})

t.test('legacy Endpoints from the planned slices', async (t) => {
  const { planEndpoints } = await import('../../src/api/controllers/endpoints-plan.ts')
  const slices = planSlices(service(), [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { ready: false }), pod('c', '10.0.0.3', { deleting: true }), pod('d', '10.0.0.4', { port: 9090 })])
  const subsets = planEndpoints(slices, 'IPv4')
  t.same(subsets.map((s) => [s.ports[0]!.port, (s.addresses ?? []).map((a) => a.ip), (s.notReadyAddresses ?? []).map((a) => a.ip)]), [
    [8080, ['10.0.0.1'], ['10.0.0.2']],
    [9090, ['10.0.0.4'], []],
  ], 'terminating c left out')
})

t.test('zones come from the nodes; PreferClose hints each endpoint for its own zone, only when all have one', async (t) => {
  const zones: Record<string, string> = { n1: 'zone-a', n2: 'zone-b' }
  const zoneOf = (n: string) => zones[n]
  const plain = planSlices(service(), [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { node: 'n2' })], 100, zoneOf)
  t.same(plain[0]!.endpoints.map((e) => [e.zone, e.hints]), [['zone-a', undefined], ['zone-b', undefined]], 'no hints without trafficDistribution')
  for (const td of ['PreferClose', 'PreferSameZone']) {
    const close = planSlices(service((s) => { s.spec!.trafficDistribution = td }), [pod('a', '10.0.0.1'), pod('b', '10.0.0.2', { node: 'n2' })], 100, zoneOf)
    t.same(close[0]!.endpoints.map((e) => e.hints), [{ forZones: [{ name: 'zone-a' }] }, { forZones: [{ name: 'zone-b' }] }], td)
  }
  const partial = planSlices(service((s) => { s.spec!.trafficDistribution = 'PreferClose' }), [pod('a', '10.0.0.1'), pod('c', '10.0.0.3', { node: 'n9' })], 100, zoneOf)
  t.same(partial[0]!.endpoints.map((e) => [e.zone, e.hints]), [['zone-a', undefined], [undefined, undefined]], 'an endpoint without a zone: no hints at all')
})
