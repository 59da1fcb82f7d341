// Ambiguous addresses cannot reach the store through any write: not on create
// (the bad/*.yaml corpus covers that), not by PUT, merge patch or the status
// subresource. Each answer is a 422 naming the field, and the stored object is
// unchanged.
import t from 'tap'
import { call, startApi, tempDir } from '../fixtures/api/harness.ts'

const MERGE = 'application/merge-patch+json'
const PODS = '/api/v1/namespaces/default/pods'
const SVCS = '/api/v1/namespaces/default/services'
const NODES = '/api/v1/nodes'

t.test('updates, patches and status writes refuse ambiguous addresses', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'addr') })
  const created = async (path: string, obj: object) => {
    const r = await call(api, 'POST', path, obj)
    t.equal(r.status, 201, `created: ${JSON.stringify(r.body)}`)
    return r.body
  }
  const refused = async (what: string, method: string, path: string, body: object, field: string, detail: RegExp, type?: string) => {
    const before = (await call(api, 'GET', path.replace(/\/status$/, ''))).body
    const r = await call(api, method, path, body, type)
    t.equal(r.status, 422, `${what}: 422 (${JSON.stringify(r.body)})`)
    t.equal(r.body.reason, 'Invalid', what)
    const causes: Array<{ field: string; message: string }> = r.body.details?.causes ?? []
    t.ok(causes.some((c) => c.field === field && detail.test(c.message)), `${what}: a cause names ${field}: ${JSON.stringify(causes)}`)
    const after = (await call(api, 'GET', path.replace(/\/status$/, ''))).body
    t.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, `${what}: nothing stored`)
    t.same(after, before)
  }

  await created(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } })
  await refused('pod status podIP (PUT /status)', 'PUT', `${PODS}/p/status`,
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] }, status: { podIP: '012.1.2.3' } },
    'status.podIP', /leading 0s/)
  await refused('pod status podIPs (merge patch /status)', 'PATCH', `${PODS}/p/status`, { status: { podIPs: [{ ip: '10.1' }] } },
    'status.podIPs[0].ip', /must be a valid IP address/, MERGE)
  await refused('pod status hostIP (merge patch /status)', 'PATCH', `${PODS}/p/status`, { status: { hostIP: '::ffff:1.2.3.4' } },
    'status.hostIP', /IPv4-mapped/, MERGE)
  const ok = await call(api, 'PATCH', `${PODS}/p/status`, { status: { podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }], hostIP: '172.18.0.2' } }, MERGE)
  t.equal(ok.status, 200, 'valid addresses are stored')
  t.equal(ok.body.status.podIP, '10.244.1.5')

  await created(SVCS, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } })
  await refused('service LB ingress (merge patch /status)', 'PATCH', `${SVCS}/lb/status`, { status: { loadBalancer: { ingress: [{ ip: '0x1.2.3.4' }] } } },
    'status.loadBalancer.ingress[0].ip', /must be a valid IP address/, MERGE)
  await refused('service source range (merge patch)', 'PATCH', `${SVCS}/lb`, { spec: { loadBalancerSourceRanges: ['192.168.1.5/24'] } },
    'spec.loadBalancerSourceRanges[0]', /bits set beyond the prefix length/, MERGE)
  await refused('service externalIPs (merge patch)', 'PATCH', `${SVCS}/lb`, { spec: { externalIPs: ['1.2.3'] } },
    'spec.externalIPs[0]', /must be a valid IP address/, MERGE)
  await refused('service loadBalancerIP (JSON patch)', 'PATCH', `${SVCS}/lb`, [{ op: 'add', path: '/spec/loadBalancerIP', value: '10.0.0.012' }] as unknown as object,
    'spec.loadBalancerIP', /leading 0s/, 'application/json-patch+json')

  // With a podCIDR of its own the Node is left alone by the podCIDR controller, so nothing races the writes below.
  await created(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.7.0/24' } })
  const node = (await call(api, 'GET', `${NODES}/n1`)).body
  await refused('node podCIDR (PUT)', 'PUT', `${NODES}/n1`, { ...node, spec: { podCIDR: '10.1/24' } }, 'spec.podCIDR', /must be a valid CIDR/)
  await refused('node addresses (merge patch /status)', 'PATCH', `${NODES}/n1/status`, { status: { addresses: [{ type: 'InternalIP', address: '172.018.0.2' }] } },
    'status.addresses[0].address', /leading 0s/, MERGE)
})
