// kube-proxy's service health server: for every Service with a
// healthCheckNodePort (eTP Local load balancers), an HTTP listener on that port
// on each of the node's bind addresses, which the cloud load balancer probes to
// learn whether this node has local endpoints.
//
// These listeners are unauthenticated on purpose, as kube-proxy's are: load
// balancers probe them without credentials. They expose only a Service's name
// and its count of local endpoints, read no request body, and are bounded
// (header size, header and idle timeouts, connections per listener), so a
// prober cannot hold the agent's memory or sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { healthAnswer, healthTargets, type HealthTarget } from './targets.ts'
import type { PortIntent } from '../plan/intent.ts'

export class HealthListenError extends Error {
  readonly code = 'EHEALTH_LISTEN'
  constructor(readonly service: string, readonly port: number, address: string, cause: unknown) {
    super(`health check for ${service}: cannot listen on ${address.includes(':') ? `[${address}]` : address}:${port}: ${(cause as Error).message}`, { cause })
    this.name = 'HealthListenError'
  }
}

export class HealthPortConflictError extends Error {
  readonly code = 'EHEALTH_PORT_CONFLICT'
  constructor(readonly service: string, readonly port: number, holder: string) {
    super(`health check for ${service}: healthCheckNodePort ${port} is already ${holder}'s`)
    this.name = 'HealthPortConflictError'
  }
}

export interface HealthServerOptions {
  /** the node addresses to listen on (kube-proxy: the nodePortAddresses) */
  bindAddresses: readonly string[]
  /** the proxy's own health: false answers 503 everywhere, as kube-proxy does */
  proxyHealthy?: () => boolean
  /** open connections per listener; default 64 */
  maxConnections?: number
  /** ms to receive the request headers; default 5000 */
  headersTimeoutMs?: number
  /** ms an idle keep-alive connection stays open; default 5000 */
  idleTimeoutMs?: number
}

export interface HealthUpdateResult {
  /** per Service ("namespace/name"): why its health check does not serve; the others do */
  errors: Map<string, HealthListenError | HealthPortConflictError>
}

interface Listener {
  target: HealthTarget
  servers: Server[]
}

const MAX_HEADER_BYTES = 4096

export class ServiceHealthServer {
  private readonly listeners = new Map<number, Listener>()
  private readonly healthy: () => boolean
  private closed = false

  constructor(private readonly opts: HealthServerOptions) {
    this.healthy = opts.proxyHealthy ?? (() => true)
  }

  /** Open and close listeners to match the intents; a count change touches no socket. */
  async update(intents: Iterable<PortIntent>): Promise<HealthUpdateResult> {
    const { targets, conflicts } = healthTargets(intents)
    const errors: HealthUpdateResult['errors'] = new Map()
    for (const c of conflicts) errors.set(c.service, new HealthPortConflictError(c.service, c.port, c.holder))
    for (const [port, l] of this.listeners) {
      if (!targets.has(port)) {
        this.listeners.delete(port)
        await closeAll(l.servers)
      }
    }
    for (const [port, target] of targets) {
      const l = this.listeners.get(port)
      if (l !== undefined) {
        l.target = target
        continue
      }
      if (this.closed) break
      const opened = await this.open(target)
      if (opened instanceof HealthListenError) errors.set(opened.service, opened)
      else this.listeners.set(port, opened)
    }
    return { errors }
  }

  /** The ports served now. */
  ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b)
  }

  async close(): Promise<void> {
    this.closed = true
    const all = [...this.listeners.values()]
    this.listeners.clear()
    await Promise.all(all.map((l) => closeAll(l.servers)))
  }

  private async open(target: HealthTarget): Promise<Listener | HealthListenError> {
    const l: Listener = { target, servers: [] }
    for (const address of this.opts.bindAddresses) {
      const server = this.serverFor(l)
      try {
        await listen(server, address, target.port)
      } catch (e) {
        await closeAll(l.servers)
        return new HealthListenError(`${target.namespace}/${target.name}`, target.port, address, e)
      }
      l.servers.push(server)
    }
    return l
  }

  private serverFor(l: Listener): Server {
    const idle = this.opts.idleTimeoutMs ?? 5000
    const headers = this.opts.headersTimeoutMs ?? 5000
    const server = createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: headers,
      requestTimeout: headers,
      keepAliveTimeout: idle,
      // how often Node checks the two timeouts above (its default is 30 s)
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headers / 2))),
    }, (req, res) => this.answer(l, req, res))
    server.maxConnections = this.opts.maxConnections ?? 64
    server.maxRequestsPerSocket = 100
    server.setTimeout(idle, (socket) => socket.destroy())
    return server
  }

  private answer(l: Listener, req: IncomingMessage, res: ServerResponse): void {
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) !== 0) {
      // never read a body: answer and drop the connection with whatever is still in flight
      res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' }).end('request bodies are not accepted\n')
      res.once('finish', () => req.socket.destroy())
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('only GET and HEAD\n')
      return
    }
    // every path answers, as kube-proxy's do: load balancers probe "/" or "/healthz"
    const a = healthAnswer(l.target, this.healthy())
    res.writeHead(a.status, a.headers).end(req.method === 'HEAD' ? undefined : a.body)
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once('error', onError)
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError)
      // a later accept error (EMFILE) must not crash the agent; the listener keeps trying
      server.on('error', () => {})
      resolve()
    })
  })
}

function closeAll(servers: readonly Server[]): Promise<void> {
  return Promise.all(servers.map((s) => new Promise<void>((resolve) => {
    s.close(() => resolve())
    s.closeAllConnections()
  }))).then(() => undefined)
}
