// Each bad manifest gets a 422 whose message and causes name its field, and
// nothing is stored.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { FIXTURES, call, kubectl, startApi, tempDir } from '../fixtures/api/harness.ts'

const dir = join(FIXTURES, 'bad')
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()

const pathFor = (o: { apiVersion: string; kind: string }) => {
  switch (o.kind) {
    case 'Service': return '/api/v1/namespaces/default/services'
    case 'Pod': return '/api/v1/namespaces/default/pods'
    case 'Node': return '/api/v1/nodes'
    case 'EndpointSlice': return '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'
    default: throw new Error(`no path for ${o.kind}`)
  }
}

t.test('bad manifests are rejected with 422 naming the field', async (t) => {
  t.ok(cases.length >= 8, `${cases.length} cases`)
  const api = await startApi(t, { dataDir: tempDir(t, 'valid') })
  for (const file of cases) {
    const text = readFileSync(join(dir, file), 'utf8')
    const field = /^# field: (\S+)/m.exec(text)![1]!
    const obj = parse(text)
    await t.test(file, async (t) => {
      // kubectl shows the field
      const k = kubectl(api, ['apply', '-f', join(dir, file)])
      t.not(k.status, 0, 'kubectl apply fails')
      t.match(k.stderr, 'is invalid', k.stderr)
      t.ok(k.stderr.includes(field), `kubectl names ${field}: ${k.stderr}`)
      // the raw answer is a Status 422 with the field in its causes
      const r = await call(api, 'POST', pathFor(obj), obj)
      t.equal(r.status, 422)
      t.equal(r.body.kind, 'Status')
      t.equal(r.body.reason, 'Invalid')
      t.equal(r.body.code, 422)
      t.ok(r.body.details.causes.some((c: { field: string }) => c.field === field), JSON.stringify(r.body.details.causes))
      // nothing stored
      const got = await call(api, 'GET', `${pathFor(obj)}/${obj.metadata.name}`)
      t.equal(got.status, 404, 'not stored')
      t.equal(got.body.reason, 'NotFound')
    })
  }
})

t.test('a taken clusterIP or nodePort is a 422 too, and the failed Service takes nothing', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'alloc') })
  const svc = (name: string, spec: object) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec })
  const path = '/api/v1/namespaces/default/services'
  t.equal((await call(api, 'POST', path, svc('a', { clusterIP: '10.96.5.5', type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] }))).status, 201)
  const ipTaken = await call(api, 'POST', path, svc('b', { clusterIP: '10.96.5.5', ports: [{ port: 80 }] }))
  t.equal(ipTaken.status, 422)
  t.match(ipTaken.body.details.causes, [{ field: 'spec.clusterIP', message: /already allocated/ }])
  const portTaken = await call(api, 'POST', path, svc('c', { clusterIP: '10.96.5.6', type: 'NodePort', ports: [{ port: 80, nodePort: 30500 }] }))
  t.equal(portTaken.status, 422)
  t.match(portTaken.body.details.causes, [{ field: 'spec.ports[0].nodePort', message: /already allocated/ }])
  // 10.96.5.6 was not kept by the failed request
  t.equal((await call(api, 'POST', path, svc('d', { clusterIP: '10.96.5.6', ports: [{ port: 80 }] }))).status, 201)
  const dup = await call(api, 'POST', path, svc('d', { ports: [{ port: 80 }] }))
  t.equal(dup.status, 409)
  t.equal(dup.body.reason, 'AlreadyExists')
  // immutable clusterIP on update
  const cur = (await call(api, 'GET', `${path}/d`)).body
  cur.spec.clusterIP = '10.96.5.7'
  cur.spec.clusterIPs = ['10.96.5.7']
  const imm = await call(api, 'PUT', `${path}/d`, cur)
  t.equal(imm.status, 422)
  t.match(imm.body.details.causes, [{ field: 'spec.clusterIP', message: /immutable/ }])
  // a stale resourceVersion is a 409 Conflict
  const stale = (await call(api, 'GET', `${path}/d`)).body
  t.equal((await call(api, 'PATCH', `${path}/d`, { metadata: { labels: { x: '1' } } }, 'application/merge-patch+json')).status, 200)
  const conflict = await call(api, 'PUT', `${path}/d`, stale)
  t.equal(conflict.status, 409)
  t.equal(conflict.body.reason, 'Conflict')
  // objects in a namespace that does not exist
  const noNs = await call(api, 'POST', '/api/v1/namespaces/nope/services', svc('e', { ports: [{ port: 80 }] }))
  t.equal(noNs.status, 404)
  t.match(noNs.body.message, /namespaces "nope" not found/)
})
