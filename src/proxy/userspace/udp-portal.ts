// The UDP proxy socket of one intent and traffic class. Each client
// address:port is a flow with its own connected socket to the endpoint chosen
// at its first datagram; the endpoint's replies go back out of the proxy
// socket, whose address conntrack rewrites back to the Service's. A flow idle
// too long, or whose endpoint was removed, is forgotten, so the client's next
// datagram picks again. The flow table and the send queues are bounded.
import dgram from 'node:dgram'
import type { Family } from '../../net/address.ts'
import type { EndpointTarget } from '../plan/intent.ts'
import { EndpointPicker } from './picker.ts'
import { ANY, plainIp, type Decide, type Portal, type PortalLimits } from './portal.ts'

interface Flow {
  sock: dgram.Socket
  ep: EndpointTarget
  lastMs: number
}

const type = (f: Family): dgram.SocketType => (f === 4 ? 'udp4' : 'udp6')

export class UdpPortal implements Portal {
  /** "ip|port" of the client -> flow; Map order is least recently used first */
  private readonly flows = new Map<string, Flow>()
  private readonly sweeper: NodeJS.Timeout

  private constructor(
    readonly family: Family,
    private readonly sock: dgram.Socket,
    readonly port: number,
    private readonly picker: EndpointPicker,
    private readonly decide: Decide,
    private readonly limits: PortalLimits,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(limits.udpIdleMs / 2)))
    this.sweeper.unref()
    sock.on('message', (msg, rinfo) => this.fromClient(msg, plainIp(rinfo.address), rinfo.port))
  }

  /** `bindAddress`: the wildcard of the family unless given (tests bind loopback) */
  static async open(family: Family, decide: Decide, limits: PortalLimits, bindAddress = ANY[family]): Promise<UdpPortal> {
    const sock = dgram.createSocket({ type: type(family), ipv6Only: family === 6 })
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject)
      sock.bind({ address: bindAddress, port: 0 }, () => {
        sock.removeListener('error', reject)
        resolve()
      })
    })
    sock.on('error', () => { /* ICMP errors for one client must not close the socket */ })
    const picker = new EndpointPicker({ maxAffinityEntries: limits.maxAffinityEntries, now: () => performance.now() })
    return new UdpPortal(family, sock, sock.address().port, picker, decide, limits)
  }

  /** Flows now (tests, stats). */
  get flowCount(): number {
    return this.flows.size
  }

  private fromClient(msg: Buffer, ip: string, port: number): void {
    const key = `${ip}|${port}`
    let flow = this.flows.get(key)
    if (flow) {
      this.flows.delete(key)
    } else {
      const d = this.decide(ip)
      if (d.verdict !== 'endpoints') return
      // UDP has no connect to fail: the first candidate takes the flow
      const ep = this.picker.candidates(ip, d.endpoints, d.affinityTimeoutSeconds, 1)[0]
      if (!ep) return
      this.picker.connected(ip, ep, d.affinityTimeoutSeconds)
      while (this.flows.size >= this.limits.maxFlows) this.drop(this.flows.keys().next().value!)
      flow = this.openFlow(ep, ip, port)
    }
    flow.lastMs = performance.now()
    this.flows.set(key, flow)
    if (flow.sock.getSendQueueSize() > this.limits.maxUdpQueueBytes) return
    flow.sock.send(msg, flow.ep.port, flow.ep.ip)
  }

  private openFlow(target: EndpointTarget, clientIP: string, clientPort: number): Flow {
    const sock = dgram.createSocket({ type: type(this.family), ipv6Only: this.family === 6 })
    const flow: Flow = { sock, ep: target, lastMs: performance.now() }
    sock.on('message', (reply, rinfo) => {
      // only the endpoint's own replies; anything else sent to this port is noise
      if (plainIp(rinfo.address) !== target.ip || rinfo.port !== target.port) return
      flow.lastMs = performance.now()
      if (this.sock.getSendQueueSize() > this.limits.maxUdpQueueBytes) return
      this.sock.send(reply, clientPort, clientIP)
    })
    sock.on('error', () => { /* ICMP port unreachable from the endpoint: the flow waits for its idle timeout */ })
    return flow
  }

  private drop(key: string): void {
    const f = this.flows.get(key)
    if (!f) return
    this.flows.delete(key)
    try { f.sock.close() } catch { /* already closed */ }
  }

  private sweep(): void {
    const now = performance.now()
    for (const [key, f] of this.flows) if (now - f.lastMs >= this.limits.udpIdleMs) this.drop(key)
  }

  retain(endpoints: readonly EndpointTarget[]): void {
    this.picker.retain(endpoints)
    for (const [key, f] of this.flows) if (!endpoints.some((e) => e.ip === f.ep.ip && e.port === f.ep.port)) this.drop(key)
  }

  close(): void {
    clearInterval(this.sweeper)
    for (const key of [...this.flows.keys()]) this.drop(key)
    try { this.sock.close() } catch { /* already closed */ }
  }
}

