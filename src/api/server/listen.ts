// The listeners. A loopback listener speaks plain HTTP and is open; any other
// address speaks HTTPS and requires the bearer token (health endpoints
// excepted, as kube-apiserver allows them anonymously).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { ServingCert } from '../tls.ts'
import { timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { unauthorized } from '../errors.ts'
import { sendError } from './respond.ts'
import { listenFdInNetns } from './netns-socket.ts'
import { isHealthPath } from './handler.ts'

export interface ListenAddress {
  host: string
  port: number
  /** a network namespace to listen in (e.g. /run/netns/lab-wire); the current one when absent */
  netns?: string
}

export class ListenError extends Error {
  readonly code = 'ELISTEN'
}

/** HOST:PORT, [V6]:PORT, or either followed by @NETNS_PATH. */
export function parseListen(s: string): ListenAddress {
  const at = s.indexOf('@')
  const hostPort = at >= 0 ? s.slice(0, at) : s
  const netns = at >= 0 ? s.slice(at + 1) : undefined
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(hostPort)
  if (!m || !m[1]) throw new ListenError(`--listen must be HOST:PORT or HOST:PORT@NETNS_PATH (got "${s}")`)
  const port = Number(m[2])
  if (port > 65535) throw new ListenError(`--listen port out of range in "${s}"`)
  if (netns !== undefined && !netns.startsWith('/')) throw new ListenError(`--listen namespace must be a path such as /run/netns/NAME (got "${netns}")`)
  return netns ? { host: m[1], port, netns } : { host: m[1], port }
}

export const isLoopback = (host: string): boolean => host === 'localhost' || host.startsWith('127.') || host === '::1'

export type Handle = (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams) => Promise<void>

function tokenOk(req: IncomingMessage, token: string): boolean {
  const h = req.headers.authorization ?? ''
  const m = /^Bearer\s+(.+)$/i.exec(h)
  if (!m) return false
  const a = Buffer.from(m[1]!.trim())
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

export async function listen(addr: ListenAddress, handle: Handle, secure?: { token: string; tls: ServingCert }): Promise<{ server: Server; address: ListenAddress; tls: boolean }> {
  const needToken = !isLoopback(addr.host)
  if (needToken && !secure) throw new ListenError(`listening on ${addr.host} needs a token and a certificate`)
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (needToken && !isHealthPath(url.pathname) && !tokenOk(req, secure!.token)) return sendError(res, unauthorized())
    void handle(req, res, url.pathname, url.searchParams)
  }
  const server: Server = needToken ? createTlsServer({ cert: secure!.tls.cert, key: secure!.tls.key }, onRequest) : createServer(onRequest)
  server.keepAliveTimeout = 65_000
  server.requestTimeout = 0 // watches are long
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    const done = () => {
      server.off('error', reject)
      resolve()
    }
    if (addr.netns) server.listen({ fd: listenFdInNetns(addr.netns, addr.host, addr.port) }, done)
    else server.listen(addr.port, addr.host, done)
  })
  const a = server.address() as AddressInfo
  const address: ListenAddress = { host: addr.host, port: a.port }
  if (addr.netns) address.netns = addr.netns
  return { server, address, tls: needToken }
}
