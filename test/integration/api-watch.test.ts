// Watches: resume from a resourceVersion, 410 Expired once it is older than the
// history, bookmarks, initial events, and selector transitions.
import t from 'tap'
import { call, startApi, tempDir, watch } from '../fixtures/api/harness.ts'

const SVC = '/api/v1/namespaces/default/services'
const svc = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec: { ports: [{ port: 80 }] } })

t.test('watch from a resourceVersion sees exactly what came after it', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'watch') })
  const a = await call(api, 'POST', SVC, svc('a'))
  const rv = a.body.metadata.resourceVersion
  await call(api, 'POST', SVC, svc('b'))
  await call(api, 'DELETE', `${SVC}/a`)
  const w = watch(t, api, `${SVC}?watch=true&resourceVersion=${rv}`)
  await w.next((e) => e.type === 'DELETED')
  t.same(w.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'b'], ['DELETED', 'a']])
  const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion))
  t.ok(rvs[0]! > Number(rv) && rvs[1]! > rvs[0]!, `versions only grow: ${rvs}`)
  await call(api, 'POST', SVC, svc('c'))
  t.equal((await w.next((e) => e.object.metadata.name === 'c')).type, 'ADDED', 'live events follow the replay')
})

t.test('a watch older than the history gets a 410 Expired ERROR event', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'expired'), args: ['--history', '5'] })
  const first = await call(api, 'POST', SVC, svc('s0'))
  for (let i = 1; i < 10; i++) await call(api, 'POST', SVC, svc(`s${i}`))
  const w = watch(t, api, `${SVC}?watch=true&resourceVersion=${first.body.metadata.resourceVersion}`)
  await w.ended
  t.equal(w.events.length, 1)
  t.equal(w.events[0]!.type, 'ERROR')
  t.match(w.events[0]!.object, { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 })
  // a recent version still works
  const list = await call(api, 'GET', SVC)
  const w2 = watch(t, api, `${SVC}?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`)
  await call(api, 'DELETE', `${SVC}/s3`)
  t.equal((await w2.next(() => true)).type, 'DELETED')
})

t.test('bookmarks and sendInitialEvents', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'bookmark'), args: ['--bookmark-interval', '1'] })
  await call(api, 'POST', SVC, svc('x'))
  const w = watch(t, api, `${SVC}?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`)
  const added = await w.next((e) => e.type === 'ADDED')
  t.equal(added.object.metadata.name, 'x')
  const end = await w.next((e) => e.type === 'BOOKMARK')
  t.equal(end.object.metadata.annotations['k8s.io/initial-events-end'], 'true')
  await call(api, 'POST', SVC, svc('y'))
  const after = w.events.length
  const periodic = await w.next((e) => e.type === 'BOOKMARK', 10_000, after)
  t.ok(Number(periodic.object.metadata.resourceVersion) >= Number(end.object.metadata.resourceVersion), 'bookmark versions do not go back')
  t.equal(periodic.object.kind, 'Service')
})

t.test('label-selected watch: objects entering and leaving the selection', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'select') })
  await call(api, 'POST', SVC, svc('p', { tier: 'front' }))
  await call(api, 'POST', SVC, svc('q', { tier: 'back' }))
  const list = await call(api, 'GET', `${SVC}?labelSelector=tier%3Dfront`)
  t.same(list.body.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['p'])
  t.equal(list.body.kind, 'ServiceList')
  const w = watch(t, api, `${SVC}?watch=true&labelSelector=tier%3Dfront&resourceVersion=${list.body.metadata.resourceVersion}`)
  const patch = (name: string, tier: string) => call(api, 'PATCH', `${SVC}/${name}`, { metadata: { labels: { tier } } }, 'application/merge-patch+json')
  await patch('q', 'front')
  await patch('p', 'back')
  await patch('q', 'front') // no-op: no event, resourceVersion unchanged
  await patch('q', 'back')
  await w.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'q')
  t.same(w.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'q'], ['DELETED', 'p'], ['DELETED', 'q']])
  const bad = await call(api, 'GET', `${SVC}?fieldSelector=spec.nodeName%3Dx`)
  t.equal(bad.status, 400)
  t.match(bad.body.message, /field label not supported: spec.nodeName/)
})

t.test('list pages with limit and continue', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'pages') })
  for (let i = 0; i < 7; i++) await call(api, 'POST', SVC, svc(`p${i}`))
  const seen: string[] = []
  let token = ''
  let pages = 0
  do {
    const r = await call(api, 'GET', `${SVC}?limit=3${token ? `&continue=${token}` : ''}`)
    t.equal(r.status, 200)
    seen.push(...r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name))
    token = r.body.metadata.continue ?? ''
    if (token) t.equal(r.body.metadata.remainingItemCount, 7 - seen.length)
    pages++
  } while (token)
  t.equal(pages, 3)
  t.same(seen, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6'])
  t.equal((await call(api, 'GET', `${SVC}?limit=3&continue=garbage`)).status, 400)
})
