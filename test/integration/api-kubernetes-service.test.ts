// The default/kubernetes Service, as kube-apiserver keeps it: the first address
// of the service CIDR, pointing at the listener pods can reach.
import t from 'tap'
import { makeNetns, linkNamespaces } from '../lib/netns.ts'
import { call, startApi, tempDir } from '../fixtures/api/harness.ts'

t.test('with a listener off loopback: kubernetes Service on 10.96.0.1 with that listener as endpoint', async (t) => {
  const wire = makeNetns('k8swire'), peer = makeNetns('k8speer')
  t.teardown(() => { wire.destroy(); peer.destroy() })
  linkNamespaces(wire, '10.79.0.1/24', peer, '10.79.0.2/24', 'pk')
  const dataDir = tempDir(t, 'k8ssvc')
  const api = await startApi(t, { dataDir, args: ['--listen', `10.79.0.1:0@${wire.path}`] })
  const port = Number(/"address":"10\.79\.0\.1:(\d+)"/.exec(api.stderr())![1])

  const svc = await call(api, 'GET', '/api/v1/namespaces/default/services/kubernetes')
  t.equal(svc.status, 200)
  t.equal(svc.body.spec.clusterIP, '10.96.0.1')
  t.match(svc.body.spec.ports, [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }])
  t.notOk(svc.body.spec.selector, 'no selector: the EndpointSlice controller leaves it alone')
  const slice = await call(api, 'GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes')
  t.equal(slice.status, 200)
  t.match(slice.body, { addressType: 'IPv4', endpoints: [{ addresses: ['10.79.0.1'], conditions: { ready: true } }], ports: [{ port, protocol: 'TCP' }] })
  t.equal(slice.body.metadata.labels['kubernetes.io/service-name'], 'kubernetes')

  // A user Service gets the next address, and the reserved one is refused.
  const mk = (name: string, clusterIP?: string) => call(api, 'POST', '/api/v1/namespaces/default/services',
    { metadata: { name }, spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ port: 80 }] } })
  t.equal((await mk('web')).body.spec.clusterIP, '10.96.0.2')
  t.equal((await mk('thief', '10.96.0.1')).status, 422)

  // A restart on another port moves the endpoint, keeps the VIP.
  await api.stop()
  const again = await startApi(t, { dataDir, args: ['--listen', `10.79.0.1:0@${wire.path}`] })
  const port2 = Number(/"address":"10\.79\.0\.1:(\d+)"/.exec(again.stderr())![1])
  const s2 = await call(again, 'GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes')
  t.equal(s2.body.ports[0].port, port2)
  const v2 = await call(again, 'GET', '/api/v1/namespaces/default/services/kubernetes')
  t.equal(v2.body.spec.clusterIP, '10.96.0.1')
  t.equal(v2.body.spec.ports[0].targetPort, port2)
})

t.test('loopback only: no kubernetes Service, since no pod could reach it', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'k8slo') })
  t.equal((await call(api, 'GET', '/api/v1/namespaces/default/services/kubernetes')).status, 404)
})
