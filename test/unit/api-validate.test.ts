import t from 'tap'
import { validateObject } from '../../src/api/validate/index.ts'
import { byName } from '../../src/api/resources.ts'
import { applyDefaults } from '../../src/api/defaults.ts'
import type { KObject } from '../../src/api/types.ts'

const svc = (name: string, spec: Record<string, unknown>): KObject => ({ metadata: { name, namespace: 'default' }, spec })
const check = (resource: string, obj: KObject, old?: KObject) => {
  applyDefaults(byName(resource).kind, obj, old)
  return validateObject(byName(resource), obj, old)
}

t.test('good objects pass', async (t) => {
  t.same(check('services', svc('web', { ports: [{ port: 80 }] })), [])
  t.same(check('services', svc('headless', { clusterIP: 'None' })), [], 'headless needs no ports')
  t.same(check('services', svc('ext', { type: 'ExternalName', externalName: 'example.com' })), [])
  t.same(check('services', svc('np', { type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 53, protocol: 'UDP', targetPort: 'dns' }] })), [])
  t.same(check('pods', { metadata: { name: 'p.1', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, name: 'http' }] }] } }), [])
  t.same(check('nodes', { metadata: { name: 'node-1' }, spec: { podCIDR: '10.244.1.0/24' } }), [])
  t.same(check('endpointslices', { metadata: { name: 's', namespace: 'd' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 80 }] } as KObject), [])
})

// Each bad object: the field the error must name.
const BAD: [string, string, KObject][] = [
  ['service name not DNS-1035', 'metadata.name', svc('1web', { ports: [{ port: 80 }] })],
  ['service name with upper case', 'metadata.name', svc('Web', { ports: [{ port: 80 }] })],
  ['port 0', 'spec.ports[0].port', svc('a', { ports: [{ port: 0 }] })],
  ['port 65536', 'spec.ports[0].port', svc('a', { ports: [{ port: 65536 }] })],
  ['protocol HTTP', 'spec.ports[0].protocol', svc('a', { ports: [{ port: 80, protocol: 'HTTP' }] })],
  ['unknown type', 'spec.type', svc('a', { type: 'Magic', ports: [{ port: 80 }] })],
  ['no ports', 'spec.ports', svc('a', {})],
  ['two ports without names', 'spec.ports[1].name', svc('a', { ports: [{ port: 80, name: 'a' }, { port: 81 }] })],
  ['duplicate port names', 'spec.ports[1].name', svc('a', { ports: [{ port: 80, name: 'a' }, { port: 81, name: 'a' }] })],
  ['bad clusterIP', 'spec.clusterIP', svc('a', { clusterIP: '10.96.0.300', ports: [{ port: 80 }] })],
  ['ExternalName without externalName', 'spec.externalName', svc('a', { type: 'ExternalName' })],
  ['headless NodePort', 'spec.clusterIP', svc('a', { type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] })],
  ['nodePort on ClusterIP', 'spec.ports[0].nodePort', svc('a', { ports: [{ port: 80, nodePort: 30001 }] })],
  ['bad targetPort name', 'spec.ports[0].targetPort', svc('a', { ports: [{ port: 80, targetPort: 'not_valid' }] })],
  ['bad label value', 'metadata.labels', { metadata: { name: 'a', namespace: 'd', labels: { app: 'bad value' } }, spec: { ports: [{ port: 80 }] } }],
  ['pod without containers', 'spec.containers', { metadata: { name: 'p', namespace: 'd' }, spec: {} }],
  ['pod container port 70000', 'spec.containers[0].ports[0].containerPort', { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 70000 }] }] } }],
  ['pod bad podIP', 'status.podIP', { metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { podIP: 'nope' } }],
  ['node bad podCIDR', 'spec.podCIDR', { metadata: { name: 'n' }, spec: { podCIDR: '10.244.1.0/33' } }],
  ['slice without addressType', 'addressType', { metadata: { name: 's', namespace: 'd' }, endpoints: [] } as KObject],
  ['slice address of the wrong family', 'endpoints[0].addresses[0]', { metadata: { name: 's', namespace: 'd' }, addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] } as KObject],
]

for (const [what, field, obj] of BAD) {
  t.test(`bad: ${what}`, async (t) => {
    const resource = obj.spec?.containers !== undefined || what.startsWith('pod') ? 'pods' : what.startsWith('node ') ? 'nodes' : what.startsWith('slice') ? 'endpointslices' : 'services'
    const errs = check(resource, obj)
    t.ok(errs.length > 0, 'rejected')
    t.ok(errs.some((e) => e.field === field), `names ${field}: ${JSON.stringify(errs.map((e) => e.field))}`)
  })
}

t.test('clusterIP is immutable on update', async (t) => {
  const old = svc('a', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })
  applyDefaults('Service', old)
  const errs = check('services', svc('a', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] }), old)
  t.match(errs, [{ field: 'spec.clusterIP', detail: 'field is immutable' }])
  t.same(check('services', svc('a', { ports: [{ port: 80 }] }), old), [], 'leaving it out keeps it')
})

t.test('a type change drops the fields only the old type allowed, when left as they were', async (t) => {
  const old = svc('a', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080 }] })
  applyDefaults('Service', old)
  const next = JSON.parse(JSON.stringify(old)) as KObject
  next.spec!.type = 'ClusterIP'
  t.same(check('services', next, old), [])
  t.equal((next.spec!.ports as { nodePort?: number }[])[0]!.nodePort, undefined)
  t.equal(next.spec!.externalTrafficPolicy, undefined)
  // a nodePort the client changed is its own choice, and still invalid for ClusterIP
  const changed = JSON.parse(JSON.stringify(old)) as KObject
  changed.spec!.type = 'ClusterIP'
  ;(changed.spec!.ports as { nodePort?: number }[])[0]!.nodePort = 30081
  t.match(check('services', changed, old), [{ field: 'spec.ports[0].nodePort' }])
})
