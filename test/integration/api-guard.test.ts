// The API cannot be poisoned or exhausted: hostile keys through every patch
// type and body are refused and the process keeps giving correct answers;
// bodies over the limit get 413, too-deep bodies 400, slowloris clients are
// cut off by the header and request timeouts, connections are bounded, and
// after each the server keeps serving.
import t from 'tap'
import tls from 'node:tls'
import { call, eventually, request, startApi, tempDir, watch, type ApiProc } from '../fixtures/api/harness.ts'

const PODS = '/api/v1/namespaces/default/pods'
const pod = (name: string) => ({ metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } })

/** Still serving, and serving the truth: a cluster-scoped create, a namespaced list, a patch. */
async function servesCorrectly(t: Tap, api: ApiProc, tag: string): Promise<void> {
  const node = await call(api, 'POST', '/api/v1/nodes', { metadata: { name: `n-${tag}` } })
  t.equal(node.status, 201, `${tag}: a Node can be created`)
  t.equal(node.body.metadata.namespace, undefined, `${tag}: a Node has no namespace`)
  const got = await call(api, 'GET', `/api/v1/nodes/n-${tag}`)
  t.equal(got.status, 200, `${tag}: the Node can be read back`)
  t.equal(got.body.metadata.namespace, undefined, `${tag}: still no namespace`)
  const list = await call(api, 'GET', PODS)
  t.equal(list.status, 200, `${tag}: pods list`)
  t.ok(list.body.items.every((p: { metadata: { namespace: string } }) => p.metadata.namespace === 'default'), `${tag}: every pod in default`)
  const ok = await call(api, 'PATCH', `${PODS}/web`, [{ op: 'add', path: `/metadata/labels/${tag}`, value: 'y' }], 'application/json-patch+json')
  t.equal(ok.status, 200, `${tag}: an honest JSON patch works`)
  t.equal(ok.body.metadata.labels[tag], 'y', `${tag}: the label is set`)
  t.equal(ok.body.metadata.namespace, 'default', `${tag}: the pod keeps its namespace`)
  t.equal(({} as Record<string, unknown>).namespace, undefined, 'the test process itself is clean')
}

type Tap = { equal(a: unknown, b: unknown, m: string): unknown; ok(v: unknown, m: string): unknown }

t.test('hostile keys through every patch type and body; the process keeps serving correct answers', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'hostile') })
  t.equal((await call(api, 'POST', PODS, pod('web'))).status, 201)
  const raw = (method: string, path: string, text: string, type: string) => request(api, method, path, { body: text, headers: { 'content-type': type } })

  const jp = await call(api, 'PATCH', `${PODS}/web`, [{ op: 'add', path: '/__proto__/namespace', value: 'evil' }], 'application/json-patch+json')
  t.equal(jp.status, 422, 'JSON patch through /__proto__: 422')
  t.match(jp.body, { kind: 'Status', reason: 'Invalid', message: /__proto__/ })
  await servesCorrectly(t, api, 'a')

  const jpCtor = await call(api, 'PATCH', `${PODS}/web`, [{ op: 'add', path: '/constructor/prototype/namespace', value: 'evil' }], 'application/json-patch+json')
  t.equal(jpCtor.status, 422, 'JSON patch through /constructor/prototype: 422')
  await servesCorrectly(t, api, 'b')

  for (const [type, text] of [
    ['application/merge-patch+json', '{"__proto__":{"namespace":"evil"}}'],
    ['application/strategic-merge-patch+json', '{"metadata":{"__proto__":{"namespace":"evil"}}}'],
    ['application/json-patch+json', '[{"op":"add","path":"/spec/x","value":{"__proto__":{"namespace":"evil"}}}]'],
  ] as const) {
    const r = await raw('PATCH', `${PODS}/web`, text, type)
    t.equal(r.status, 400, `${type} with a __proto__ key: 400`)
    t.match(JSON.parse(r.text), { reason: 'BadRequest', message: /the request body holds the key "__proto__"/ })
  }
  await servesCorrectly(t, api, 'c')

  const create = await raw('POST', PODS, '{"metadata":{"name":"p2","__proto__":{"namespace":"evil"}},"spec":{"containers":[{"name":"c","image":"x"}]}}', 'application/json')
  t.equal(create.status, 400, 'create with a nested __proto__: 400')
  t.match(JSON.parse(create.text).message, /at metadata\.__proto__/)
  const update = await raw('PUT', `${PODS}/web`, '{"metadata":{"name":"web","labels":{"__proto__":"x"}},"spec":{"containers":[{"name":"c","image":"x"}]}}', 'application/json')
  t.equal(update.status, 400, 'update with a __proto__ label: 400')
  const del = await raw('DELETE', `${PODS}/web`, '{"preconditions":{"__proto__":{"uid":"x"}}}', 'application/json')
  t.equal(del.status, 400, 'delete options with __proto__: 400')
  t.equal((await call(api, 'GET', `${PODS}/p2`)).status, 404, 'nothing was created')
  // "constructor" and "prototype" are ordinary label keys
  const fine = await call(api, 'PATCH', `${PODS}/web`, { metadata: { labels: { constructor: 'c', prototype: 'p' } } }, 'application/merge-patch+json')
  t.equal(fine.status, 200)
  t.match(fine.body.metadata.labels, { constructor: 'c', prototype: 'p' })
  await servesCorrectly(t, api, 'd')
})

t.test('bounds: body size, depth, header and request timeouts, connections; the API keeps serving', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'bounds'), args: ['--max-request-bytes', '4096', '--request-header-timeout', '1', '--request-timeout', '2', '--max-connections', '8'] })
  t.equal((await call(api, 'POST', PODS, pod('web'))).status, 201)
  const big = JSON.stringify({ ...pod('big'), metadata: { name: 'big', annotations: { a: 'x'.repeat(5000) } } })

  // declared too large: 413 before the body is read
  const r1 = await request(api, 'POST', PODS, { body: big, headers: { 'content-type': 'application/json' } })
  t.equal(r1.status, 413, 'a declared body over the limit: 413')
  t.match(JSON.parse(r1.text), { reason: 'RequestEntityTooLarge', message: 'Request entity too large: limit is 4096' })
  // chunked, no Content-Length: 413 once the count passes the limit
  const r2 = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: api.port, ca: api.ca }, () => {
      const chunk = 'x'.repeat(1000)
      s.write(`POST ${PODS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${api.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`)
      for (let i = 0; i < 6; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)
    })
    let text = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (text += d))
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text }))
    s.on('error', reject)
  })
  t.equal(r2.status, 413, 'a chunked body over the limit: 413, and the connection closes')
  t.match(r2.text, /limit is 4096/)
  t.match(r2.text, /connection: close/i)

  // too deep: 400 with a clear message, before any recursion
  const deep = `{"metadata":{"name":"deep"},"spec":{"x":${'['.repeat(1500)}${']'.repeat(1500)}}}`
  const r3 = await request(api, 'POST', PODS, { body: deep, headers: { 'content-type': 'application/json' } })
  t.equal(r3.status, 400, 'a body nested 1500 deep: 400')
  t.match(JSON.parse(r3.text), { code: 400, reason: 'BadRequest', message: /nests deeper than 100 levels \(at spec\.x\.0/ })
  const r3p = await request(api, 'PATCH', `${PODS}/web`, { body: `{"spec":${'{"a":'.repeat(200)}1${'}'.repeat(200)}}`, headers: { 'content-type': 'application/merge-patch+json' } })
  t.equal(r3p.status, 400, 'a patch nested 200 deep: 400')

  // a watch, opened before the slow clients, outlives the request timeout
  const w = watch(t, api, `${PODS}?watch=true`)
  await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'web')

  // slowloris on the headers: one header line every 200 ms, never the end of the headers
  const cut = (send: (s: tls.TLSSocket) => void) =>
    new Promise<{ text: string }>((resolve, reject) => {
      let text = ''
      let timer: NodeJS.Timeout | undefined
      const s = tls.connect({ host: '127.0.0.1', port: api.port, ca: api.ca }, () => {
        send(s)
        let i = 0
        timer = setInterval(() => s.write(i++ % 2 ? `X-Slow-${i}: y\r\n` : 'x'), 200)
      })
      s.setEncoding('utf8')
      s.on('data', (d: string) => (text += d))
      s.on('close', () => {
        clearInterval(timer)
        resolve({ text })
      })
      s.on('error', () => { /* a reset also ends it */ })
      t.teardown(() => {
        clearInterval(timer)
        s.destroy()
        reject(new Error('not cut off'))
      })
    })
  const slowHeaders = await cut((s) => s.write(`GET /api/v1/nodes HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${api.token}\r\n`))
  t.match(slowHeaders.text, /^HTTP\/1\.1 408/, 'dribbled headers: 408, connection closed')
  // slowloris on the body: headers at once, then the body a byte at a time
  const slowBody = await cut((s) => s.write(`POST ${PODS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${api.token}\r\nContent-Type: application/json\r\nContent-Length: 3000\r\n\r\n`))
  t.match(slowBody.text, /^HTTP\/1\.1 408/, 'a dribbled body: 408, connection closed')

  // The watch is older than the request timeout by now, and still delivers.
  t.equal((await call(api, 'POST', PODS, pod('after'))).status, 201)
  await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'after')
  t.notOk(w.events.some((e) => e.type === 'ERROR'), 'the watch was not cut by the request timeout')
  w.close()

  // connections: beyond --max-connections the server closes new ones at once
  const open: tls.TLSSocket[] = []
  t.teardown(() => open.forEach((s) => s.destroy()))
  const connect = () =>
    new Promise<boolean>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: api.port, ca: api.ca }, () => resolve(true))
      open.push(s)
      s.on('error', () => resolve(false))
      s.on('close', () => resolve(false))
    })
  let accepted = 0
  let refused = false
  for (let i = 0; i < 20 && !refused; i++) {
    if (await connect()) accepted++
    else refused = true
  }
  t.ok(refused, `a connection beyond the bound is refused (after ${accepted} held)`)
  t.ok(accepted <= 8, 'no more than --max-connections are held')
  for (const s of open) s.destroy()
  await eventually(async () => ((await call(api, 'GET', `${PODS}/web`)).status === 200 ? true : undefined), 10_000, 'serving again once connections close')

  // after all of it the API serves correct answers
  await servesCorrectly(t, api, 'z')
})
