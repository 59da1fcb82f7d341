// The two lab controllers: EndpointSlices that follow Pods (come, go, change
// readiness, terminate), and per-node podCIDRs that are unique, stable across
// restarts and freed on delete.
import t from 'tap'
import { call, eventually, startApi, tempDir, type ApiEndpoint } from '../fixtures/api/harness.ts'

const PODS = '/api/v1/namespaces/default/pods'
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'

const pod = (name: string, ip: string, ready: boolean, port = 8080) => ({
  metadata: { name, labels: { app: 'web' } },
  spec: { nodeName: `node-${name}`, containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: port }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
})

type Ep = { addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean }; nodeName: string; targetRef: { name: string } }
type Slice = { metadata: { name: string; labels: Record<string, string>; ownerReferences: { kind: string; name: string }[] }; ports: { port: number }[]; endpoints: Ep[] }

async function slicesOf(api: ApiEndpoint, svc: string): Promise<Slice[]> {
  const r = await call(api, 'GET', `${SLICES}?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`)
  return r.body.items
}

/** The endpoints of a Service's slices, as name -> conditions, once `pred` holds. */
async function endpointsWhen(api: ApiEndpoint, svc: string, pred: (eps: Map<string, Ep>) => boolean, what: string): Promise<Map<string, Ep>> {
  return eventually(async () => {
    const m = new Map<string, Ep>()
    for (const s of await slicesOf(api, svc)) for (const e of s.endpoints) m.set(e.targetRef.name, e)
    return pred(m) ? m : undefined
  }, 10_000, what)
}

t.test('EndpointSlices follow pods', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'eps') })
  const svc = await call(api, 'POST', '/api/v1/namespaces/default/services', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } })
  t.equal(svc.status, 201)
  t.equal((await call(api, 'POST', PODS, pod('a', '10.244.1.10', true))).status, 201)
  t.equal((await call(api, 'POST', PODS, pod('b', '10.244.2.10', false))).status, 201)

  let eps = await endpointsWhen(api, 'web', (m) => m.size === 2, 'two endpoints')
  t.same(eps.get('a')!.conditions, { ready: true, serving: true, terminating: false })
  t.same(eps.get('b')!.conditions, { ready: false, serving: false, terminating: false })
  t.equal(eps.get('a')!.nodeName, 'node-a')
  t.same(eps.get('b')!.addresses, ['10.244.2.10'])
  const [slice] = await slicesOf(api, 'web')
  t.same(slice!.ports.map((p) => p.port), [8080], 'named targetPort resolved')
  t.equal(slice!.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io')
  t.match(slice!.metadata.ownerReferences, [{ kind: 'Service', name: 'web' }])

  // b turns ready through the status subresource
  const st = await call(api, 'PATCH', `${PODS}/b/status`, { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'application/strategic-merge-patch+json')
  t.equal(st.status, 200, JSON.stringify(st.body))
  eps = await endpointsWhen(api, 'web', (m) => m.get('b')?.conditions.ready === true, 'b ready')
  t.pass('readiness change followed')

  // a graceful delete: a is terminating (serving, not ready) and then gone. A
  // finalizer holds it terminating for as long as the test needs (a grace
  // period alone would race a slow machine); it goes once the finalizer does.
  const hold = await call(api, 'PATCH', `${PODS}/a`, { metadata: { finalizers: ['example.com/hold'] } }, 'application/merge-patch+json')
  t.equal(hold.status, 200, JSON.stringify(hold.body))
  const del = await call(api, 'DELETE', `${PODS}/a?gracePeriodSeconds=1`)
  t.equal(del.status, 200)
  t.ok(del.body.metadata.deletionTimestamp, 'marked for deletion')
  eps = await endpointsWhen(api, 'web', (m) => m.get('a')?.conditions.terminating === true, 'a terminating')
  t.same(eps.get('a')!.conditions, { ready: false, serving: true, terminating: true })
  const release = await call(api, 'PATCH', `${PODS}/a`, [{ op: 'remove', path: '/metadata/finalizers' }], 'application/json-patch+json')
  t.equal(release.status, 200, JSON.stringify(release.body))
  eps = await endpointsWhen(api, 'web', (m) => !m.has('a'), 'a gone after its finalizer and grace period')
  t.same([...eps.keys()], ['b'])

  // a new pod comes
  await call(api, 'POST', PODS, pod('c', '10.244.3.10', true))
  eps = await endpointsWhen(api, 'web', (m) => m.has('c'), 'c added')
  t.same([...eps.keys()].sort(), ['b', 'c'])
  // legacy Endpoints follow too
  const legacy = await eventually(async () => {
    const r = await call(api, 'GET', '/api/v1/namespaces/default/endpoints/web')
    const ips = (r.body.subsets ?? []).flatMap((s: { addresses?: { ip: string }[] }) => (s.addresses ?? []).map((a) => a.ip)).sort()
    return ips.join(',') === '10.244.2.10,10.244.3.10' ? r.body : undefined
  }, 10_000, 'legacy Endpoints')
  t.same(legacy.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }])

  // a pod whose named port differs lands in its own slice
  await call(api, 'POST', PODS, pod('d', '10.244.4.10', true, 9090))
  await eventually(async () => ((await slicesOf(api, 'web')).length === 2 ? true : undefined), 10_000, 'second slice')
  const ports = (await slicesOf(api, 'web')).map((s) => s.ports[0]!.port).sort()
  t.same(ports, [8080, 9090])

  // 250 pods: no slice holds more than 100
  for (let i = 0; i < 250; i++) await call(api, 'POST', PODS, pod(`m${i}`, `10.245.${i >> 8}.${(i & 255) + 1}`, true))
  const all = await eventually(async () => {
    const s = await slicesOf(api, 'web')
    return s.reduce((n, x) => n + x.endpoints.length, 0) === 253 ? s : undefined
  }, 20_000, '253 endpoints')
  t.ok(all.every((s) => s.endpoints.length <= 100), `sizes ${all.map((s) => s.endpoints.length)}`)

  // deleting the Service removes its slices
  await call(api, 'DELETE', '/api/v1/namespaces/default/services/web')
  await eventually(async () => ((await slicesOf(api, 'web')).length === 0 ? true : undefined), 10_000, 'slices removed')
  t.pass('slices removed with the Service')
  await eventually(async () => ((await call(api, 'GET', '/api/v1/namespaces/default/endpoints/web')).status === 404 ? true : undefined), 10_000, 'Endpoints removed')
  t.pass('Endpoints removed with the Service')
})

t.test('node podCIDRs: one /24 each, unique, stable across restart, freed on delete', async (t) => {
  const dataDir = tempDir(t, 'cidr')
  let api = await startApi(t, { dataDir, args: ['--cluster-cidr', '10.200.0.0/22'] })
  const cidrOf = async (name: string) => eventually(async () => (await call(api, 'GET', `/api/v1/nodes/${name}`)).body.spec?.podCIDR, 10_000, `podCIDR of ${name}`)
  for (const n of ['n1', 'n2', 'n3']) t.equal((await call(api, 'POST', '/api/v1/nodes', { metadata: { name: n } })).status, 201)
  const before = [await cidrOf('n1'), await cidrOf('n2'), await cidrOf('n3')]
  t.equal(new Set(before).size, 3, `unique: ${before}`)
  for (const c of before) t.match(c, /^10\.200\.[0-3]\.0\/24$/)
  const n1 = (await call(api, 'GET', '/api/v1/nodes/n1')).body
  t.same(n1.spec.podCIDRs, [n1.spec.podCIDR])

  t.equal(await api.stop(), 0)
  api = await startApi(t, { dataDir, args: ['--cluster-cidr', '10.200.0.0/22'] })
  t.same([await cidrOf('n1'), await cidrOf('n2'), await cidrOf('n3')], before, 'stable across restart')

  await call(api, 'POST', '/api/v1/nodes', { metadata: { name: 'n4' } })
  const fourth = await cidrOf('n4')
  t.notOk(before.includes(fourth), 'the fourth gets the last free /24')
  // the range is full now
  await call(api, 'POST', '/api/v1/nodes', { metadata: { name: 'n5' } })
  t.equal((await call(api, 'GET', '/api/v1/nodes/n5')).body.spec?.podCIDR, undefined, 'no subnet left for n5')
  await call(api, 'DELETE', '/api/v1/nodes/n2')
  t.equal(await cidrOf('n5'), before[1], "n5 gets n2's freed subnet")
})
