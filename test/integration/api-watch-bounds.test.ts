// Watch bounds: a watcher that does not read is dropped once its unsent
// events pass --watch-buffer-bytes, so what the server holds for it is
// bounded instead of growing with every event (the RSS before and after is
// printed, not asserted: the heap's high-water mark from parsing 50 KiB bodies
// dominates it); watches beyond --max-watches get 429. The API keeps serving.
import t from 'tap'
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { type ApiEndpoint, call, eventually, startApi, tempDir, watch } from '../fixtures/api/harness.ts'

const SVC = '/api/v1/namespaces/default/services'
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

const auth = (api: ApiEndpoint) => ({ ca: api.ca, agent: false, headers: { authorization: `Bearer ${api.token}` } })

/** The status of a watch request: a 200 is hung up at once, anything else read whole. */
function watchStatus(api: ApiEndpoint, path: string): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = https.get(api.url + path, auth(api), (res) => {
      if (res.statusCode === 200) {
        req.destroy()
        return resolve({ status: 200, body: undefined })
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
  })
}

t.test('a watcher that does not read is dropped; memory stays bounded', async (t) => {
  const BUFFER = 1024 * 1024
  const api = await startApi(t, { dataDir: tempDir(t, 'slow-watch'), args: ['--watch-buffer-bytes', String(BUFFER), '--history', '20', '--max-watches', '1'] })
  t.equal((await call(api, 'POST', SVC, { metadata: { name: 'big' }, spec: { ports: [{ port: 80 }] } })).status, 201)
  // A client that opens a watch and never reads from it.
  const req = https.get(`${api.url}${SVC}?watch=true&resourceVersion=0`, auth(api), (res) => res.pause())
  req.on('error', () => {})
  t.teardown(() => req.destroy())
  const rss0 = rssOf(api.proc.pid!)
  // 50 MiB of events in all, far more than the socket buffers and the bound hold.
  const EVENT = 50 * 1024
  const N = 1024
  let droppedAt = -1
  for (let i = 0; i < N; i++) {
    const r = await call(api, 'PATCH', `${SVC}/big`, { metadata: { annotations: { pad: String(i).padEnd(EVENT, 'x') } } }, 'application/merge-patch+json')
    if (r.status !== 200) t.equal(r.status, 200, `update ${i}`)
    if (droppedAt < 0 && /watch dropped/.test(api.stderr())) droppedAt = i
  }
  const rss1 = rssOf(api.proc.pid!)
  t.match(api.stderr(), /"bytes":\d+[^\n]*watch dropped: the client does not read its events/, 'the server dropped the slow watcher')
  t.ok(droppedAt >= 0, `dropped after ${droppedAt} events of ${EVENT} bytes`)
  // What was sent before the drop sat in the kernel's socket buffers (a few MiB on loopback) and the 1 MiB bound, nowhere else.
  t.ok(droppedAt * EVENT < 32 * 2 ** 20, 'dropped before 32 MiB of unread events piled up')
  t.comment(`RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB before, ${(rss1 / 2 ** 20).toFixed(1)} MiB after ${((N * EVENT) / 2 ** 20).toFixed(0)} MiB of events to a watcher that read none`)
  // The dropped watcher's slot (of one) is free again: another watcher that reads gets events, and the API serves.
  await eventually(async () => ((await watchStatus(api, `${SVC}?watch=true`)).status === 200 ? true : undefined), 10_000, 'the slot of the dropped watcher')
  const w = watch(t, api, `${SVC}?watch=true&resourceVersion=0`)
  await w.next((e) => e.object.metadata.name === 'big')
  t.equal((await call(api, 'PATCH', `${SVC}/big`, { metadata: { labels: { after: 'drop' } } }, 'application/merge-patch+json')).status, 200)
  await w.next((e) => e.type === 'MODIFIED' && e.object.metadata.labels?.after === 'drop')
  t.equal((await call(api, 'GET', SVC)).status, 200)
})

t.test('watches beyond --max-watches get 429; a freed slot is usable again', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'max-watch'), args: ['--max-watches', '3'] })
  const ws = []
  for (let k = 0; k < 3; k++) {
    const w = watch(t, api, '/api/v1/namespaces?watch=true')
    await w.next((e) => e.object.metadata.name === 'default')
    ws.push(w)
  }
  const over = await watchStatus(api, '/api/v1/namespaces?watch=true')
  t.equal(over.status, 429, 'the fourth concurrent watch is refused')
  t.equal(over.body.reason, 'TooManyRequests')
  t.equal(over.body.code, 429)
  t.equal(over.body.message, 'too many concurrent watches: the limit of 3 is reached; retry later')
  t.equal((await call(api, 'GET', '/api/v1/namespaces')).status, 200, 'lists are still served')
  ws[0]!.close()
  await eventually(async () => ((await watchStatus(api, '/api/v1/namespaces?watch=true')).status === 200 ? true : undefined), 10_000, 'a freed watch slot')
})
