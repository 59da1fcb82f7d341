// A watch that goes silent (no event, no bookmark for twice the bookmark
// interval) is torn down and resumed from the last resourceVersion; when that
// version has expired, the resource is listed again. Driven through the real
// HTTP transport against a small fake API on 127.0.0.1.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { HttpTransport } from '../../src/cluster/http-transport.ts'
import { Reflector, WatchSilentError, type ReflectorSink } from '../../src/cluster/reflector.ts'

interface WatchReq { rv: string | null; closedByClient: boolean; res: ServerResponse }

const svc = (name: string, rv: string) => ({ metadata: { namespace: 'd', name, resourceVersion: rv }, spec: { ports: [{ port: 80 }] } })

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 20_000
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

t.test('a silent watch is resumed from the last resourceVersion, and relists when that is gone', async (t) => {
  const lists: string[] = []
  const watches: WatchReq[] = []
  // What each watch does, in order: 'event-then-silent', 'gone', 'silent-forever'.
  const script = ['event-then-silent', 'gone', 'bookmarks']
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.searchParams.get('watch') !== 'true') {
      const rv = lists.length === 0 ? '5' : '9'
      lists.push(rv)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: rv }, items: [svc('a', rv)] }))
      return
    }
    const w: WatchReq = { rv: url.searchParams.get('resourceVersion'), closedByClient: false, res }
    watches.push(w)
    res.on('close', () => { if (!res.writableEnded) w.closedByClient = true })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.flushHeaders()
    const what = script[watches.length - 1]
    if (what === 'event-then-silent') res.write(JSON.stringify({ type: 'MODIFIED', object: svc('a', '6') }) + '\n')
    if (what === 'gone') res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 6' } }) + '\n')
    // 'bookmarks': kept alive by bookmarks, it must not be torn down.
    if (what === 'bookmarks') {
      const tick = setInterval(() => res.write(JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } }) + '\n'), 30)
      res.on('close', () => clearInterval(tick))
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))

  const transport = new HttpTransport({ server: `http://127.0.0.1:${port}`, insecureSkipTLSVerify: false })
  t.teardown(() => transport.close())
  const log: string[] = []
  const sink: ReflectorSink = {
    beginList: () => log.push('begin'), listPage: (items) => log.push(`page ${items.length}`), endList: () => log.push('end'),
    event: (type, o) => log.push(`${type} ${(o as { metadata: { resourceVersion: string } }).metadata.resourceVersion}`),
  }
  const failures: unknown[] = []
  let bookmarks = 0
  const r = new Reflector({ resource: 'services', path: '/api/v1/services', bookmarkIntervalMs: 100, watchTimeoutSeconds: 300 }, transport, sink,
    { listed: () => {}, watchEvent: (_r, type) => { if (type === 'BOOKMARK') bookmarks++ }, failed: (_r, err) => void failures.push(err) })
  r.start()
  t.teardown(() => r.stop())

  await until('a second watch', () => watches.length >= 2)
  t.equal(watches[0]?.rv, '5', 'the first watch starts at the list version')
  await until('the silent watch to be closed', () => watches[0]?.closedByClient === true)
  t.pass('the client tore the silent watch down')
  t.equal(watches[1]?.rv, '6', 'and resumed from the last event\'s resourceVersion')
  t.type(failures[0], WatchSilentError)
  t.equal((failures[0] as WatchSilentError).code, 'WATCH_SILENT')

  await until('a third watch after the relist', () => watches.length >= 3)
  t.same(lists, ['5', '9'], 'the expired resume listed again')
  t.equal(watches[2]?.rv, '9', 'and watched from the new list')
  t.same(log, ['begin', 'page 1', 'end', 'MODIFIED 6', 'begin', 'page 1', 'end'])

  // A watch that only sends bookmarks is alive: 20 bookmarks 30 ms apart span three silence limits.
  await until('20 bookmarks', () => bookmarks >= 20)
  t.equal(watches.length, 3, 'a watch kept alive by bookmarks is not restarted')
  t.equal(failures.length, 1)
})
