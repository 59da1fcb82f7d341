// The TCP proxy socket of one intent and traffic class: accept, choose
// endpoints (picker.ts), connect to the first that answers within the connect
// timeout, then copy both ways with backpressure (stream pipes stop reading
// when the other side's buffer is full) until both halves close or the
// connection is idle too long. A client no endpoint takes is reset.
import net from 'node:net'
import type { Family } from '../../net/address.ts'
import type { EndpointTarget } from '../plan/intent.ts'
import { EndpointPicker } from './picker.ts'
import { ANY, plainIp, type Decide, type Portal, type PortalLimits } from './portal.ts'

export interface TcpPortalEvents {
  /** a connect attempt to this endpoint failed (refused, unreachable, timed out) */
  onConnectFailed?(ep: EndpointTarget, error: string): void
}

/** Connect within the timeout, or fail; the socket comes back paused. */
function connectTo(ep: EndpointTarget, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: ep.ip, port: ep.port, allowHalfOpen: true })
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`connect timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    s.once('connect', () => {
      clearTimeout(timer)
      s.removeAllListeners('error')
      s.pause()
      resolve(s)
    })
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      s.destroy()
      reject(new Error(e.code ?? e.message))
    })
  })
}

export class TcpPortal implements Portal {
  private readonly picker: EndpointPicker
  private readonly live = new Set<net.Socket>()

  private constructor(
    readonly family: Family,
    private readonly server: net.Server,
    readonly port: number,
    picker: EndpointPicker,
  ) {
    this.picker = picker
  }

  /** `bindAddress`: the wildcard of the family unless given (tests bind loopback) */
  static async open(family: Family, decide: Decide, limits: PortalLimits, events: TcpPortalEvents = {}, bindAddress = ANY[family]): Promise<TcpPortal> {
    const picker = new EndpointPicker({ maxAffinityEntries: limits.maxAffinityEntries, now: () => performance.now() })
    // pauseOnConnect: nothing is read from the client until an endpoint took it
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true })
    server.maxConnections = limits.maxConnections
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: bindAddress, port: 0, ipv6Only: family === 6, backlog: 511 }, () => {
        server.removeListener('error', reject)
        resolve()
      })
    })
    const portal = new TcpPortal(family, server, (server.address() as net.AddressInfo).port, picker)
    server.on('connection', (c) => void portal.serve(c, decide, limits, events))
    server.on('error', () => { /* accept errors (EMFILE) are per connection; the socket stays */ })
    return portal
  }

  private async serve(client: net.Socket, decide: Decide, limits: PortalLimits, events: TcpPortalEvents): Promise<void> {
    this.live.add(client)
    client.once('close', () => this.live.delete(client))
    client.on('error', () => client.destroy())
    const clientIP = plainIp(client.remoteAddress ?? '')
    const d = decide(clientIP)
    if (d.verdict !== 'endpoints') return void client.resetAndDestroy()
    let upstream: net.Socket | undefined
    for (const ep of this.picker.candidates(clientIP, d.endpoints, d.affinityTimeoutSeconds, limits.maxAttempts)) {
      if (client.destroyed) return
      try {
        upstream = await connectTo(ep, limits.connectTimeoutMs)
        this.picker.connected(clientIP, ep, d.affinityTimeoutSeconds)
        break
      } catch (e) {
        events.onConnectFailed?.(ep, (e as Error).message)
      }
    }
    if (!upstream) return void client.resetAndDestroy()
    if (client.destroyed) return void upstream.destroy()
    const up = upstream
    this.live.add(up)
    up.once('close', () => {
      this.live.delete(up)
      client.destroy()
    })
    client.once('close', () => up.destroy())
    up.on('error', () => up.destroy())
    client.setTimeout(limits.tcpIdleMs, () => client.destroy())
    up.setTimeout(limits.tcpIdleMs, () => up.destroy())
    // pipe ends the other side's write half on end, and pauses the reader while the writer is full
    client.pipe(up)
    up.pipe(client)
    client.resume()
    up.resume()
  }

  retain(endpoints: readonly EndpointTarget[]): void {
    this.picker.retain(endpoints)
  }

  close(): void {
    this.server.close()
    for (const s of this.live) s.destroy()
    this.live.clear()
  }
}
