// The service health server over real HTTP, on 127.0.0.1 in the root namespace
// (loopback only): kube-proxy's answers, listeners following update(), counts
// changing without a reopen, a busy port failing only its own Service, bounds.
import t from 'tap'
import { request, Agent } from 'node:http'
import { connect, createServer, type Socket } from 'node:net'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'
import { ServiceHealthServer, HealthListenError, HealthPortConflictError } from '../../src/proxy/healthcheck/server.ts'
import { freePort } from '../lib/ports.ts'
import { waitFor } from '../lib/wait.ts'

const ep = (ip: string) => ({ ip, port: 8080, local: true })

function intent(service: string, hc: number, local: number): PortIntent {
  return {
    key: `${service}:http:tcp:4`, service, portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: 30080, externalIPs: [], loadBalancerIPs: ['198.51.100.7'], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: true, healthCheckNodePort: hc,
    clusterEndpoints: [ep('10.244.2.9')], localEndpoints: Array.from({ length: local }, (_, i) => ep(`10.244.1.${i + 2}`)), hasAnyEndpoints: true,
  }
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string; socketPort?: number }

function get(port: number, o: { path?: string; method?: string; agent?: Agent; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: o.path ?? '/', method: o.method ?? 'GET', agent: o.agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, socketPort: req.socket?.localPort }))
    })
    req.on('error', reject)
    req.end(o.body)
  })
}

const refused = (port: number) => get(port).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED')

t.test('answers as kube-proxy, follows update(), changes counts without reopening', async (t) => {
  const [p1, p2] = [await freePort(), await freePort()]
  const hs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'] })
  t.teardown(() => hs.close())
  const r = await hs.update([intent('default/web', p1, 1), intent('default/idle', p2, 0), { ...intent('default/plain', p1, 3), healthCheckNodePort: null }])
  t.same([...r.errors.keys()], [])
  t.same(hs.ports(), [p1, p2].sort((a, b) => a - b))

  const ok = await get(p1)
  t.equal(ok.status, 200)
  t.equal(ok.headers['content-type'], 'application/json')
  t.equal(ok.headers['x-content-type-options'], 'nosniff')
  t.equal(ok.headers['x-load-balancing-endpoint-weight'], '1')
  t.same(JSON.parse(ok.body), { service: { namespace: 'default', name: 'web' }, localEndpoints: 1, serviceProxyHealthy: true })
  t.equal((await get(p1, { path: '/healthz' })).status, 200, 'every path answers')
  const head = await get(p1, { method: 'HEAD' })
  t.same([head.status, head.body], [200, ''])
  const none = await get(p2)
  t.equal(none.status, 503)
  t.same(JSON.parse(none.body).localEndpoints, 0)

  // a keep-alive connection opened before the update sees the new count: the listener stayed
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const before = await get(p2, { agent })
  await hs.update([intent('default/web', p1, 1), intent('default/idle', p2, 4)])
  const after = await get(p2, { agent })
  t.equal(after.socketPort, before.socketPort, 'same connection')
  t.same([after.status, JSON.parse(after.body).localEndpoints, after.headers['x-load-balancing-endpoint-weight']], [200, 4, '4'])

  // a Service that lost its health check port: the listener closes
  await hs.update([intent('default/idle', p2, 4)])
  t.same(hs.ports(), [p2])
  t.ok(await refused(p1), 'closed port refuses')
  await hs.close()
  t.ok(await refused(p2), 'close() closes everything')
})

t.test('a port already in use fails that Service only; the others serve; a later update retries it', async (t) => {
  const [busy, free] = [await freePort(), await freePort()]
  const squatter = createServer()
  await new Promise<void>((resolve) => squatter.listen(busy, '127.0.0.1', resolve))
  const hs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'] })
  t.teardown(() => hs.close())
  const r = await hs.update([intent('default/a', busy, 1), intent('default/b', free, 1)])
  const err = r.errors.get('default/a')
  t.ok(err instanceof HealthListenError)
  t.equal(err!.code, 'EHEALTH_LISTEN')
  t.equal((err!.cause as NodeJS.ErrnoException).code, 'EADDRINUSE')
  t.match(err!.message, new RegExp(`^health check for default/a: cannot listen on 127\\.0\\.0\\.1:${busy}: .*EADDRINUSE`))
  t.same([...r.errors.keys()], ['default/a'])
  t.equal((await get(free)).status, 200)
  t.same(hs.ports(), [free])
  await new Promise<void>((resolve) => squatter.close(() => resolve()))
  const again = await hs.update([intent('default/a', busy, 1), intent('default/b', free, 1)])
  t.same([...again.errors.keys()], [])
  t.equal(JSON.parse((await get(busy)).body).service.name, 'a')
})

t.test('two Services claiming one port: the loser gets an error, the holder serves', async (t) => {
  const port = await freePort()
  const hs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'] })
  t.teardown(() => hs.close())
  const r = await hs.update([intent('default/b', port, 1), intent('default/a', port, 1)])
  t.ok(r.errors.get('default/b') instanceof HealthPortConflictError)
  t.equal(r.errors.get('default/b')!.message, `health check for default/b: healthCheckNodePort ${port} is already default/a's`)
  t.equal(JSON.parse((await get(port)).body).service.name, 'a')
})

t.test('an unhealthy proxy answers 503', async (t) => {
  const port = await freePort()
  let healthy = true
  const hs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], proxyHealthy: () => healthy })
  t.teardown(() => hs.close())
  await hs.update([intent('default/web', port, 2)])
  t.equal((await get(port)).status, 200)
  healthy = false
  const a = await get(port)
  t.same([a.status, JSON.parse(a.body).serviceProxyHealthy], [503, false])
})

function rawSocket(port: number): Promise<{ s: Socket; data: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let data = '', closed = false
    const s = connect(port, '127.0.0.1', () => resolve({ s, data: () => data, closed: () => closed }))
    s.setEncoding('utf8')
    s.on('data', (c) => (data += c))
    s.on('close', () => (closed = true))
    s.on('error', () => {})
    s.once('error', reject)
  })
}

t.test('bounds: no request bodies, other methods refused, header timeout, connection limit, header size', async (t) => {
  const port = await freePort()
  const hs = new ServiceHealthServer({ bindAddresses: ['127.0.0.1'], maxConnections: 2, headersTimeoutMs: 200, idleTimeoutMs: 200 })
  t.teardown(() => hs.close())
  await hs.update([intent('default/web', port, 1)])

  const post = await get(port, { method: 'POST', body: 'x'.repeat(1000) })
  t.same([post.status, post.headers.connection], [413, 'close'])
  const del = await get(port, { method: 'DELETE' })
  t.same([del.status, del.headers.allow], [405, 'GET, HEAD'])
  const big = await get(port, { path: '/' + 'a'.repeat(8000) })
  t.equal(big.status, 431, 'headers past 4 KiB are refused')

  // a client that never finishes its headers is cut off
  const slow = await rawSocket(port)
  slow.s.write('GET / HTTP/1.1\r\nHost: x\r\n')
  await waitFor('the slow client to be closed', () => slow.closed(), { timeoutMs: 10_000 })

  // two open connections are the limit: a third is closed at once, unanswered
  const a = await rawSocket(port), b = await rawSocket(port)
  t.teardown(() => { a.s.destroy(); b.s.destroy() })
  const c = await rawSocket(port)
  c.s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor('the connection over the limit to be closed', () => c.closed(), { timeoutMs: 10_000 })
  t.equal(c.data(), '')
  // idle connections time out, and then there is room again
  await waitFor('the idle connections to be closed', () => a.closed() && b.closed(), { timeoutMs: 10_000 })
  t.equal((await get(port)).status, 200)
})
