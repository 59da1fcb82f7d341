// The agent's two listeners: /healthz (kube-proxy's :10256) and /metrics plus
// a read-only /debug/snapshot (kube-proxy's :10249, loopback by default).
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { BindAddress } from './bind-address.ts'
import { healthAnswer, type HealthState } from './health.ts'

export function listen(server: Server, addr: BindAddress): Promise<BindAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject)
      const a = server.address()
      resolve({ host: addr.host, port: typeof a === 'object' && a ? a.port : addr.port })
    })
  })
}

export function healthzServer(state: () => HealthState, monoNow: () => number = () => performance.now()): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/healthz' && path !== '/livez') return notFound(res)
    const answer = healthAnswer(state(), path === '/healthz' ? 'healthz' : 'livez', monoNow(), Date.now())
    sendJSON(res, answer.status, answer.body)
  })
}

export function metricsServer(registry: Registry, snapshot: () => unknown): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType })
          res.end(text)
        },
        (err: Error) => sendJSON(res, 500, { error: err.message }),
      )
      return
    }
    if (path === '/debug/snapshot') return sendJSON(res, 200, snapshot())
    notFound(res)
  })
}

function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' })
  res.end('not found\n')
}
