// Paginated lists are consistent: every page is served at the first page's
// resourceVersion, whatever changes between pages, and a watch from that
// version delivers exactly those changes. A version no longer held gives 410
// Expired (with a token to go on inconsistently); one not reached yet, the
// watch cache's 504 "Too large resource version".
import t from 'tap'
import { call, startApi, tempDir, watch } from '../fixtures/api/harness.ts'

const NS = 'pages'
const SVC = `/api/v1/namespaces/${NS}/services`
const svc = (name: string, v = '1') => ({ metadata: { name, labels: { v } }, spec: { ports: [{ port: 80 }] } })
type Item = { metadata: { name: string; labels?: Record<string, string>; resourceVersion: string } }
const names = (items: Item[]) => items.map((i) => i.metadata.name)

t.test('every page at the first page’s resourceVersion; a watch from it sees what changed', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'pages') })
  t.equal((await call(api, 'POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201)
  const all = ['s00', 's01', 's02', 's03', 's04', 's05', 's06', 's07', 's08', 's09']
  for (const n of all) t.equal((await call(api, 'POST', SVC, svc(n))).status, 201)

  const p1 = await call(api, 'GET', `${SVC}?limit=4`)
  t.equal(p1.status, 200)
  const rv = p1.body.metadata.resourceVersion
  t.same(names(p1.body.items), ['s00', 's01', 's02', 's03'])
  t.ok(p1.body.metadata.continue, 'a continue token')

  // Between pages: change one ahead of the cursor, delete one ahead and one behind, create one just past the cursor and one at the end.
  t.equal((await call(api, 'PATCH', `${SVC}/s05`, { metadata: { labels: { v: '2' } } }, 'application/merge-patch+json')).status, 200)
  t.equal((await call(api, 'DELETE', `${SVC}/s06`)).status, 200)
  t.equal((await call(api, 'DELETE', `${SVC}/s01`)).status, 200)
  t.equal((await call(api, 'POST', SVC, svc('s035'))).status, 201)
  t.equal((await call(api, 'POST', SVC, svc('s99'))).status, 201)

  const items: Item[] = [...p1.body.items]
  let token: string | undefined = p1.body.metadata.continue
  const rvs: string[] = []
  while (token) {
    const p = await call(api, 'GET', `${SVC}?limit=4&continue=${encodeURIComponent(token)}`)
    t.equal(p.status, 200, 'a later page')
    rvs.push(p.body.metadata.resourceVersion)
    items.push(...p.body.items)
    token = p.body.metadata.continue
  }
  t.same(rvs, rvs.map(() => rv), 'every page reports the first page’s resourceVersion')
  t.same(names(items), all, 'the union of the pages is the state at that version')
  t.equal(items.find((i) => i.metadata.name === 's05')!.metadata.labels!.v, '1', 's05 as it was at that version')

  const exact = await call(api, 'GET', `${SVC}?resourceVersion=${rv}&resourceVersionMatch=Exact`)
  t.equal(exact.status, 200, 'an exact list at a held version is served')
  t.same(names(exact.body.items), all)
  t.equal(exact.body.metadata.resourceVersion, rv)

  const w = watch(t, api, `${SVC}?watch=true&resourceVersion=${rv}`)
  await w.next((e) => e.object.metadata.name === 's99')
  t.same(
    w.events.map((e) => [e.type, e.object.metadata.name]),
    [['MODIFIED', 's05'], ['DELETED', 's06'], ['DELETED', 's01'], ['ADDED', 's035'], ['ADDED', 's99']],
    'the watch from the list’s version brings the cache to the current state',
  )
  const now = await call(api, 'GET', SVC)
  t.same(names(now.body.items), ['s00', 's02', 's03', 's035', 's04', 's05', 's07', 's08', 's09', 's99'])
})

t.test('a continue token whose version is gone: 410 Expired, and a token to go on', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'pages-expired'), args: ['--history', '3'] })
  t.equal((await call(api, 'POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201)
  for (const n of ['a', 'b', 'c', 'd']) t.equal((await call(api, 'POST', SVC, svc(n))).status, 201)
  const p1 = await call(api, 'GET', `${SVC}?limit=2`)
  t.same(names(p1.body.items), ['a', 'b'])
  for (let i = 0; i < 4; i++) t.equal((await call(api, 'PATCH', `${SVC}/d`, { metadata: { labels: { v: String(10 + i) } } }, 'application/merge-patch+json')).status, 200)
  const p2 = await call(api, 'GET', `${SVC}?limit=2&continue=${encodeURIComponent(p1.body.metadata.continue)}`)
  t.equal(p2.status, 410)
  t.equal(p2.body.reason, 'Expired')
  t.equal(p2.body.code, 410)
  t.match(p2.body.message, /^The provided continue parameter is too old to display a consistent list result\./)
  t.ok(p2.body.metadata?.continue, 'the Status carries an inconsistent continue token')
  const rest = await call(api, 'GET', `${SVC}?limit=2&continue=${encodeURIComponent(p2.body.metadata.continue)}`)
  t.equal(rest.status, 200)
  t.same(names(rest.body.items), ['c', 'd'], 'the remainder, at the current version')
  t.equal(rest.body.items[1].metadata.labels.v, '13')

  const bad = await call(api, 'GET', `${SVC}?limit=2&continue=garbage`)
  t.equal(bad.status, 400)
  const exactOld = await call(api, 'GET', `${SVC}?resourceVersion=1&resourceVersionMatch=Exact`)
  t.equal(exactOld.status, 410, 'an exact list older than the history')
  t.equal(exactOld.body.reason, 'Expired')
})

t.test('a version the server has not reached: watch and list give “Too large resource version”', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'pages-ahead') })
  const cur = Number((await call(api, 'GET', '/api/v1/namespaces')).body.metadata.resourceVersion)
  const ahead = cur + 1000
  const w = watch(t, api, `/api/v1/namespaces?watch=true&resourceVersion=${ahead}&timeoutSeconds=5`)
  const ev = await w.next(() => true)
  t.equal(ev.type, 'ERROR')
  t.equal(ev.object.kind, 'Status')
  t.equal(ev.object.code, 504)
  t.equal(ev.object.reason, 'Timeout')
  t.equal(ev.object.message, `Too large resource version: ${ahead}, current: ${cur}`)
  t.same(ev.object.details.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }])
  await w.ended
  const l = await call(api, 'GET', `/api/v1/namespaces?resourceVersion=${ahead}`)
  t.equal(l.status, 504)
  t.equal(l.body.message, `Too large resource version: ${ahead}, current: ${cur}`)
  const ok = await call(api, 'GET', `/api/v1/namespaces?resourceVersion=${cur}`)
  t.equal(ok.status, 200, 'the current version is fine')
})
