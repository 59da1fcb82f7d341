// The agent's HTTP transport against small servers on 127.0.0.1: client
// certificate auth over TLS (what a DaemonSet's kubeconfig may carry), a token
// file that rotates, and the bounds on items, event lines and error answers.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpTransport, TransportError } from '../../src/cluster/http-transport.ts'
import { ApiStatusError, type WatchEvent } from '../../src/cluster/transport.ts'

const dir = mkdtempSync(join(tmpdir(), 'pontoon-transport-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function pki() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca'])
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=system:node:${name}`])
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`])
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  return { ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), clientCert: read('client.crt'), clientKey: read('client.key') }
}

const list = (rv: string, items: unknown[]) => JSON.stringify({ kind: 'List', metadata: { resourceVersion: rv }, items })

t.test('client certificate auth over TLS', async (t) => {
  const p = pki()
  const seen: string[] = []
  const server = createHttpsServer({ key: p.serverKey, cert: p.serverCert, ca: p.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''))
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(list('7', [{ metadata: { name: 'a' } }]))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`

  const withCert = new HttpTransport({ server: url, ca: p.ca, clientCert: p.clientCert, clientKey: p.clientKey, insecureSkipTLSVerify: false })
  t.teardown(() => withCert.close())
  const items: unknown[] = []
  const meta = await withCert.list('/api/v1/nodes', { limit: '500' }, (b) => items.push(...b))
  t.same(meta, { resourceVersion: '7', continue: null })
  t.same(items, [{ metadata: { name: 'a' } }])
  t.same(seen, ['system:node:client'], 'the server saw the client certificate')

  const without = new HttpTransport({ server: url, ca: p.ca, insecureSkipTLSVerify: false })
  t.teardown(() => without.close())
  await t.rejects(without.list('/api/v1/nodes', {}, () => {}), 'no client certificate: the handshake is refused')
  const wrongCa = new HttpTransport({ server: url, ca: p.clientCert, clientCert: p.clientCert, clientKey: p.clientKey, insecureSkipTLSVerify: false })
  t.teardown(() => wrongCa.close())
  await t.rejects(wrongCa.list('/api/v1/nodes', {}, () => {}), /certificate/i, 'a server the CA did not sign is refused')
  t.same(seen, ['system:node:client'])
})

async function plainServer(t: Tap, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createHttpServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}
type Tap = { teardown(fn: () => unknown): void }

t.test('a token file is re-read once its refresh time has passed', async (t) => {
  const auth: Array<string | undefined> = []
  const url = await plainServer(t, (req, res) => {
    auth.push(req.headers.authorization)
    res.writeHead(200)
    res.end(list('1', []))
  })
  const file = join(dir, 'token')
  writeFileSync(file, 'one\n')
  let now = 0
  // Plain http with a token file is refused by the kubeconfig reader; the transport itself just sends what it is given.
  const tr = new HttpTransport({ server: url, tokenFile: file, insecureSkipTLSVerify: false }, { tokenRefreshMs: 60_000, now: () => now })
  t.teardown(() => tr.close())
  await tr.list('/x', {}, () => {})
  writeFileSync(file, 'two\n')
  now = 59_999
  await tr.list('/x', {}, () => {})
  now = 60_000
  await tr.list('/x', {}, () => {})
  t.same(auth, ['Bearer one', 'Bearer one', 'Bearer two'])
})

t.test('bounds and bad answers end in typed errors', async (t) => {
  const url = await plainServer(t, (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/big') {
      res.writeHead(200)
      res.end(list('1', [{ metadata: { name: 'x'.repeat(5000) } }]))
    } else if (path === '/forbidden') {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', code: 403, message: 'nodes is forbidden: User "x" cannot list' }))
    } else if (path === '/cut') {
      res.writeHead(200)
      res.end('{"kind":"List","items":[{"a":1}')
    } else if (path === '/watch-big') {
      res.writeHead(200)
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'ok' } } }) + '\n')
      res.write('{"type":"ADDED","object":{"metadata":{"name":"' + 'y'.repeat(5000))
    } else if (path === '/watch-big-line') {
      res.writeHead(200)
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'z'.repeat(5000) } } }) + '\n')
    } else if (path === '/watch-junk') {
      res.writeHead(200)
      res.write('not json\n')
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  const tr = new HttpTransport({ server: url, insecureSkipTLSVerify: false }, { maxObjectBytes: 1024 })
  t.teardown(() => tr.close())
  const code = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: unknown; status?: unknown; message?: string }) => [e.code, e.status ?? null, e.message])

  const big = await code(tr.list('/big', {}, () => {}))
  t.match(big, ['TRANSPORT_TOO_LARGE', null, /larger than 1024 bytes/])
  const forbidden = await code(tr.list('/forbidden', {}, () => {}))
  t.match(forbidden, ['API_STATUS', 403, /nodes is forbidden/])
  const cut = await code(tr.list('/cut', {}, () => {}))
  t.match(cut, ['TRANSPORT_BAD_ANSWER', null, /ended early/])

  const watch = (path: string) => new Promise<{ events: WatchEvent[]; err: unknown }>((resolve) => {
    const events: WatchEvent[] = []
    void tr.watch(path, {}, (ev) => events.push(ev), (err) => resolve({ events, err }))
  })
  const w1 = await watch('/watch-big')
  t.same(w1.events.map((e) => e.type), ['ADDED'], 'the events before the oversized one are delivered')
  t.type(w1.err, TransportError)
  t.equal((w1.err as TransportError).code, 'TRANSPORT_TOO_LARGE')
  const w1b = await watch('/watch-big-line')
  t.same(w1b.events, [], 'a whole oversized line is refused too')
  t.equal((w1b.err as TransportError).code, 'TRANSPORT_TOO_LARGE')
  const w2 = await watch('/watch-junk')
  t.equal((w2.err as TransportError).code, 'TRANSPORT_BAD_ANSWER')
  const w3 = await watch('/forbidden')
  t.type(w3.err, ApiStatusError)
  t.equal((w3.err as ApiStatusError).status, 403)
})

t.test('send: one write with a JSON body, the answer parsed; a refusal is an ApiStatusError; the answer is bounded', async (t) => {
  const got: Array<{ method: string; url: string; type: string; auth: string; body: string }> = []
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      got.push({ method: req.method ?? '', url: req.url ?? '', type: String(req.headers['content-type']), auth: String(req.headers.authorization), body })
      if (req.url?.includes('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ kind: 'Status', code: 404, message: 'pods "missing" not found' }))
      }
      if (req.url?.includes('/huge')) {
        res.writeHead(200)
        return res.end(JSON.stringify({ x: 'y'.repeat(4096) }))
      }
      if (req.url?.includes('/empty')) {
        res.writeHead(200)
        return res.end()
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: true, echo: JSON.parse(body || 'null') }))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  const tr = new HttpTransport({ server: `http://127.0.0.1:${(server.address() as { port: number }).port}`, token: 'tok', insecureSkipTLSVerify: false }, { maxObjectBytes: 1024 })
  t.teardown(() => tr.close())

  t.same(await tr.send('PATCH', '/api/v1/namespaces/d/pods/p/status', { status: { phase: 'Running' } }, 'application/merge-patch+json'), { ok: true, echo: { status: { phase: 'Running' } } })
  t.same(got[0], { method: 'PATCH', url: '/api/v1/namespaces/d/pods/p/status', type: 'application/merge-patch+json', auth: 'Bearer tok', body: '{"status":{"phase":"Running"}}' })
  t.same(await tr.send('DELETE', '/x', { gracePeriodSeconds: 0 }), { ok: true, echo: { gracePeriodSeconds: 0 } })
  t.equal(got[1]!.type, 'application/json', 'JSON unless told otherwise')
  t.equal(await tr.send('POST', '/empty', undefined), undefined, 'an empty answer is undefined')
  t.equal(got[2]!.body, '')
  const refused = await tr.send('DELETE', '/api/v1/namespaces/d/pods/missing', {}).then(() => undefined, (e: unknown) => e)
  t.ok(refused instanceof ApiStatusError, 'a refusal is an ApiStatusError')
  t.match(refused, { status: 404, message: 'DELETE /api/v1/namespaces/d/pods/missing: pods "missing" not found' })
  await t.rejects(tr.send('GET', '/huge', undefined), { code: 'TRANSPORT_TOO_LARGE' })
})

t.test('mergePatch: PATCH with the merge-patch media type and the token; a refusal is an ApiStatusError naming PATCH', async (t) => {
  const seen: Array<{ method?: string; url?: string; type?: string; auth?: string; body: string }> = []
  const url = await plainServer(t, (req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, type: req.headers['content-type'], auth: req.headers.authorization, body })
      if (req.url === '/api/v1/nodes/gone') {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ kind: 'Status', message: 'nodes "gone" not found' }))
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Node', metadata: { name: 'node-1' } }))
    })
  })
  const tr = new HttpTransport({ server: url, token: 'tok', insecureSkipTLSVerify: false })
  t.teardown(() => tr.close())
  await tr.mergePatch('/api/v1/nodes/node-1', { metadata: { annotations: { 'pontoon.io/vtep-mac': '02:00:00:00:00:01', 'pontoon.io/x': null } } })
  t.same(seen[0], { method: 'PATCH', url: '/api/v1/nodes/node-1', type: 'application/merge-patch+json', auth: 'Bearer tok', body: '{"metadata":{"annotations":{"pontoon.io/vtep-mac":"02:00:00:00:00:01","pontoon.io/x":null}}}' })
  await t.rejects(tr.mergePatch('/api/v1/nodes/gone', {}), { name: 'ApiStatusError', status: 404, message: 'PATCH /api/v1/nodes/gone: nodes "gone" not found' })
  await t.rejects(tr.mergePatch('/api/v1/nodes/node-1', { big: 'x'.repeat(1_100_000) }), { code: 'TRANSPORT_TOO_LARGE' })
  t.equal(seen.length, 2, 'a patch over the bound is never sent')
})
