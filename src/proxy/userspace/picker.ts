// Which endpoints one new connection tries, in order: kube-proxy userspace's
// round-robin load balancer (roundrobin.go), pure. The first candidate is the
// client's affinity endpoint when ClientIP affinity holds one still in the
// list, else the next in turn; the rest follow in round-robin order, so a
// refused connect moves on to the next endpoint (the mode's one advantage over
// the kernel modes). The affinity table is bounded: the least recently used
// client is forgotten first.
import type { EndpointTarget } from '../plan/intent.ts'

export interface PickerOptions {
  /** clients remembered for ClientIP affinity, at most */
  maxAffinityEntries: number
  /** milliseconds, monotonic */
  now: () => number
}

interface Sticky { ip: string; port: number; lastUsedMs: number }

const same = (a: Pick<EndpointTarget, 'ip' | 'port'>, b: Pick<EndpointTarget, 'ip' | 'port'>) => a.ip === b.ip && a.port === b.port

export class EndpointPicker {
  private next = 0
  /** client IP -> endpoint; Map order is least recently used first */
  private readonly affinity = new Map<string, Sticky>()

  constructor(private readonly opts: PickerOptions) {
    if (!(opts.maxAffinityEntries >= 1)) throw new RangeError(`maxAffinityEntries must be at least 1, not ${opts.maxAffinityEntries}`)
  }

  /**
   * The endpoints to try for a client, best first, at most `attempts` of them.
   * `affinityTimeoutSeconds` 0: no affinity.
   */
  candidates(clientIP: string, endpoints: readonly EndpointTarget[], affinityTimeoutSeconds: number, attempts: number): EndpointTarget[] {
    const n = endpoints.length
    if (n === 0 || attempts < 1) return []
    const start = this.next % n
    this.next = (start + 1) % n
    const order: EndpointTarget[] = []
    for (let k = 0; k < n; k++) order.push(endpoints[(start + k) % n]!)
    const sticky = affinityTimeoutSeconds > 0 ? this.sticky(clientIP, affinityTimeoutSeconds) : undefined
    const at = sticky ? order.findIndex((e) => same(e, sticky)) : -1
    if (at > 0) order.unshift(...order.splice(at, 1))
    return order.slice(0, attempts)
  }

  /** A connect to `ep` for this client worked: with affinity on, the client sticks to it. */
  connected(clientIP: string, ep: Pick<EndpointTarget, 'ip' | 'port'>, affinityTimeoutSeconds: number): void {
    if (affinityTimeoutSeconds <= 0) return
    this.affinity.delete(clientIP)
    this.affinity.set(clientIP, { ip: ep.ip, port: ep.port, lastUsedMs: this.opts.now() })
    while (this.affinity.size > this.opts.maxAffinityEntries) this.affinity.delete(this.affinity.keys().next().value!)
  }

  /** Forget affinity entries whose endpoint is gone, so a removed endpoint gets no new connection. */
  retain(endpoints: readonly EndpointTarget[]): void {
    for (const [client, s] of this.affinity) if (!endpoints.some((e) => same(e, s))) this.affinity.delete(client)
  }

  /** Clients remembered now (for tests and stats). */
  get affinitySize(): number {
    return this.affinity.size
  }

  private sticky(clientIP: string, timeoutSeconds: number): Sticky | undefined {
    const s = this.affinity.get(clientIP)
    if (!s) return undefined
    if (this.opts.now() - s.lastUsedMs >= timeoutSeconds * 1000) {
      this.affinity.delete(clientIP)
      return undefined
    }
    return s
  }
}
