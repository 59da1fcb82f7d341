// The listeners. Every listener, loopback included, speaks HTTPS and requires
// the bearer token (health endpoints excepted, as kube-apiserver allows them
// anonymously): kube-apiserver removed its unauthenticated port because any
// local process could use it, and client-go sends a bearer token only over
// TLS. Each listener also bounds what a client can hold: header and request
// timeouts (a slowloris client is cut off), an idle keep-alive, a TLS
// handshake deadline and a connection count.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { ServingCert } from '../tls.ts'
import { timingSafeEqual } from 'node:crypto'
import type { AddressInfo, Socket } from 'node:net'
import { unauthorized } from '../errors.ts'
import { sendError } from './respond.ts'
import { listenFdInNetns } from './netns-socket.ts'
import { isHealthPath } from './handler.ts'
import { DEFAULT_LIMITS, type ListenLimits } from '../limits.ts'

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

export function tokenOk(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  if (!m) return false
  const a = Buffer.from(m[1]!.trim())
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

export interface Credentials {
  token: string
  tls: ServingCert
}

const rawSockets = new WeakMap<Server, Set<Socket>>()

/** Stop listening and end every connection, handshaking ones included; resolves once the server is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
    for (const sock of rawSockets.get(server) ?? []) sock.destroy()
  })
}

export async function listen(addr: ListenAddress, handle: Handle, secure: Credentials, limits: ListenLimits = DEFAULT_LIMITS): Promise<{ server: Server; address: ListenAddress }> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (!isHealthPath(url.pathname) && !tokenOk(req.headers.authorization, secure.token)) return sendError(res, unauthorized())
    void handle(req, res, url.pathname, url.searchParams)
  }
  const server: Server = createTlsServer(
    {
      cert: secure.tls.cert,
      key: secure.tls.key,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both timeouts on this tick; a quarter of the shorter keeps the cut-off near the limit.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
      handshakeTimeout: limits.headersTimeoutMs,
    },
    onRequest,
  )
  server.keepAliveTimeout = 65_000
  server.maxConnections = limits.maxConnections
  // closeAllConnections() knows only connections that finished their TLS handshake; one still shaking hands when
  // the server closes would later carry a request (a watch never ends) and hold the close open for good.
  const sockets = new Set<Socket>()
  server.on('connection', (sock: Socket) => {
    sockets.add(sock)
    sock.once('close', () => sockets.delete(sock))
  })
  rawSockets.set(server, sockets)
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
  return { server, address }
}
