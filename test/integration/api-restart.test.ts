// Objects and resourceVersions survive a restart, a watcher resumes from the
// version it last saw, and allocations stay unique.
import t from 'tap'
import { call, startApi, tempDir, watch } from '../fixtures/api/harness.ts'

const SVC = '/api/v1/namespaces/default/services'

t.test('restart keeps objects, versions and allocations; watchers resume', async (t) => {
  const dataDir = tempDir(t, 'restart')
  let api = await startApi(t, { dataDir })
  const created: Record<string, { clusterIP: string; rv: string; uid: string }> = {}
  for (const name of ['a', 'b', 'c']) {
    const r = await call(api, 'POST', SVC, { metadata: { name }, spec: { type: 'NodePort', ports: [{ port: 80 }] } })
    t.equal(r.status, 201)
    created[name] = { clusterIP: r.body.spec.clusterIP, rv: r.body.metadata.resourceVersion, uid: r.body.metadata.uid }
  }
  await call(api, 'DELETE', `${SVC}/b`)
  const before = await call(api, 'GET', SVC)
  const lastRv = Number(before.body.metadata.resourceVersion)
  const w1 = watch(t, api, `${SVC}?watch=true&resourceVersion=${lastRv}`)
  t.equal(await api.stop(), 0)
  await w1.ended

  api = await startApi(t, { dataDir })
  const after = await call(api, 'GET', SVC)
  t.same(after.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['a', 'c'], 'b stays deleted')
  t.equal(after.body.metadata.resourceVersion, String(lastRv), 'list version carries on')
  const a = (await call(api, 'GET', `${SVC}/a`)).body
  t.equal(a.metadata.resourceVersion, created.a!.rv)
  t.equal(a.metadata.uid, created.a!.uid)
  t.equal(a.spec.clusterIP, created.a!.clusterIP)

  // the watcher resumes from the version it saw before the restart
  const w2 = watch(t, api, `${SVC}?watch=true&resourceVersion=${lastRv}`)
  const d = await call(api, 'POST', SVC, { metadata: { name: 'd' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } })
  t.ok(Number(d.body.metadata.resourceVersion) > lastRv, 'new versions are higher')
  const ev = await w2.next(() => true)
  t.same([ev.type, ev.object.metadata.name], ['ADDED', 'd'])
  // and one from before the restart replays what followed it (from the kept history)
  const w3 = watch(t, api, `${SVC}?watch=true&resourceVersion=${created.a!.rv}`)
  await w3.next((e) => e.object.metadata.name === 'd')
  t.same(w3.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'b'], ['ADDED', 'c'], ['DELETED', 'b'], ['ADDED', 'd']])

  // allocations were rebuilt: no clash with a or c
  t.not(d.body.spec.clusterIP, created.a!.clusterIP)
  t.not(d.body.spec.clusterIP, created.c!.clusterIP)
  const taken = await call(api, 'POST', SVC, { metadata: { name: 'e' }, spec: { clusterIP: created.c!.clusterIP, ports: [{ port: 80 }] } })
  t.equal(taken.status, 422, 'a restored clusterIP is still taken')
  const np = a.spec.ports[0].nodePort
  const npTaken = await call(api, 'POST', SVC, { metadata: { name: 'f' }, spec: { type: 'NodePort', ports: [{ port: 80, nodePort: np }] } })
  t.equal(npTaken.status, 422, 'a restored nodePort is still taken')
})

t.test('a killed server (no clean shutdown) keeps what it acknowledged', async (t) => {
  const dataDir = tempDir(t, 'kill')
  let api = await startApi(t, { dataDir })
  const r = await call(api, 'POST', SVC, { metadata: { name: 'k' }, spec: { ports: [{ port: 80 }] } })
  t.equal(r.status, 201)
  // an acknowledged write is in the log file before the answer goes out
  api.proc.kill('SIGKILL')
  await new Promise((res) => api.proc.once('exit', res))
  api = await startApi(t, { dataDir })
  const got = await call(api, 'GET', `${SVC}/k`)
  t.equal(got.status, 200)
  t.equal(got.body.metadata.resourceVersion, r.body.metadata.resourceVersion)
})
