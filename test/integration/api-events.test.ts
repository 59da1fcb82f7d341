// core/v1 Events, so `kubectl get events` and the Events section of
// `kubectl describe` work as against kube-apiserver.
import t from 'tap'
import { call, kubectl, startApi, tempDir } from '../fixtures/api/harness.ts'

t.test('events: create, list with kubectl, describe shows them, bad ones are 422', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'events') })
  const ok = (args: string[], input?: string) => {
    const r = kubectl(api, args, input)
    t.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  ok(['run', 'web', '--image=nginx'])
  const uid = (await call(api, 'GET', '/api/v1/namespaces/default/pods/web')).body.metadata.uid
  // describe finds a pod's events by involvedObject name, namespace and uid, as against kube-apiserver
  const ev = (name: string, reason: string, podName: string) => ({
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', name: podName, namespace: 'default', ...(podName === 'web' ? { uid } : {}) },
    reason, message: `${reason} happened to ${podName}`, type: 'Normal', source: { component: 'pontoon-test' },
  })
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/events', ev('web.1', 'Pulled', 'web'))).status, 201)
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/events', ev('other.1', 'Killing', 'other'))).status, 201)

  const list = ok(['get', 'events'])
  t.match(list, /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE/)
  t.match(list, /Normal\s+Pulled\s+pod\/web\s+Pulled happened to web/)
  const described = ok(['describe', 'pod', 'web'])
  t.match(described, /Events:[\s\S]*Pulled[\s\S]*Pulled happened to web/)
  t.notMatch(described, /Killing/, 'only the pod\'s own events')
  const sel = ok(['get', 'events', '--field-selector', 'involvedObject.name=other', '-o', 'name'])
  t.equal(sel.trim(), 'event/other.1')

  const bad = await call(api, 'POST', '/api/v1/namespaces/default/events', { metadata: { name: 'bad' }, reason: 'x' })
  t.equal(bad.status, 422)
  t.match(bad.body.details.causes, [{ field: 'involvedObject' }])
  const elsewhere = await call(api, 'POST', '/api/v1/namespaces/default/events', { ...ev('x', 'y', 'web'), involvedObject: { kind: 'Pod', name: 'web', namespace: 'kube-system' } })
  t.equal(elsewhere.status, 422)
  t.match(elsewhere.body.details.causes, [{ field: 'involvedObject.namespace' }])
})
