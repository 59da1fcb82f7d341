// kubectl's generator commands send protobuf bodies (client-go does not retry
// in JSON after a 415). Each one here must create what it says.
import t from 'tap'
import { call, kubectl, startApi, tempDir } from '../fixtures/api/harness.ts'

t.test('kubectl create namespace / service / expose work against pontoon api', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'gen') })
  const k = (...args: string[]) => {
    const r = kubectl(api, args)
    t.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  k('create', 'namespace', 'shop')
  t.equal((await call(api, 'GET', '/api/v1/namespaces/shop')).body.status.phase, 'Active')

  k('create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'shop')
  k('create', 'service', 'nodeport', 'np', '--tcp=81:http', '--node-port=30123')
  k('create', 'service', 'externalname', 'ext', '--external-name=example.com')
  k('run', 'nginx', '--image=nginx', '--labels=app=nginx', '--port=80')
  k('expose', 'pod', 'nginx', '--port=8080', '--target-port=80', '--name=nginx-svc')

  const get = async (ns: string, name: string) => (await call(api, 'GET', `/api/v1/namespaces/${ns}/services/${name}`)).body
  const web = await get('shop', 'web')
  t.match(web.spec, { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' }], sessionAffinity: 'None' })
  t.match(web.spec.clusterIP, /^10\.96\.\d+\.\d+$/)
  const np = await get('default', 'np')
  t.match(np.spec, { type: 'NodePort', ports: [{ port: 81, targetPort: 'http', nodePort: 30123 }] })
  const ext = await get('default', 'ext')
  t.match(ext.spec, { type: 'ExternalName', externalName: 'example.com' })
  t.notOk(ext.spec.clusterIP, 'ExternalName gets no clusterIP')
  const exposed = await get('default', 'nginx-svc')
  t.match(exposed.spec, { selector: { app: 'nginx' }, ports: [{ port: 8080, targetPort: 80 }] })

  // A bad protobuf object still gets the server's validation, field by field.
  const bad = kubectl(api, ['create', 'service', 'nodeport', 'clash', '--tcp=82', '--node-port=30123'])
  t.not(bad.status, 0)
  t.match(bad.stderr, /spec\.ports\[0\]\.nodePort/)
})
