// What the kernel must be told to hold the planned virtual servers, pure: the
// desired servers (desired.ts) against what Ipvs.services()/dests() reported,
// as a list of genetlink operations in an order the kernel accepts (a service
// before its real servers). A real server that left the plan is not deleted
// at once but drained: weight 0 (no new connections, established ones stay),
// and deleted later by the drain queue (drain.ts) when its connections are gone.
import type { IpvsDest, IpvsService } from '../../netlink/index.ts'
import type { L4Protocol } from '../plan/intent.ts'
import type { RealServer, VirtualServer } from './desired.ts'
import { serverKey } from './desired.ts'

export interface ServerRef { protocol: L4Protocol; address: string; port: number }
export interface ObservedServer { service: IpvsService; dests: readonly IpvsDest[] }

export type IpvsOp =
  | { kind: 'add-service'; server: VirtualServer }
  | { kind: 'set-service'; server: VirtualServer }
  | { kind: 'del-service'; server: ServerRef }
  | { kind: 'add-dest'; server: ServerRef; real: RealServer }
  | { kind: 'set-dest'; server: ServerRef; real: RealServer }
  | { kind: 'del-dest'; server: ServerRef; real: Pick<RealServer, 'address' | 'port'> }

export interface Drain { server: ServerRef; address: string; port: number }

export interface ServerDiff {
  ops: IpvsOp[]
  /** real servers left at weight 0 for the drain queue */
  drains: Drain[]
  /** real servers the plan wants again (or at last): any pending drain of theirs is over */
  restored: Drain[]
}

export const observedKey = (s: Pick<IpvsService, 'protocol' | 'address' | 'port'>): string => serverKey(s.protocol, s.address, s.port)
const refOf = (s: ServerRef): ServerRef => ({ protocol: s.protocol, address: s.address, port: s.port })
const destKey = (address: string, port: number) => `${address}|${port}`

function sameService(want: VirtualServer, have: IpvsService): boolean {
  if (want.scheduler !== have.scheduler) return false
  const persistent = (have.flags & 1) === 1
  if (want.persistence > 0) return persistent && have.timeout === want.persistence
  return !persistent
}

/**
 * Real servers of one observed service the plan no longer has. kube-proxy's
 * graceful termination, but UDP (and servers with no connections) go at once:
 * a UDP "connection" is only an idle timer, and waiting it out would keep a
 * DNS-like client on a gone pod for the whole UDP timeout.
 */
function retire(server: ServerRef, d: IpvsDest, out: ServerDiff): void {
  if (server.protocol === 'udp' || d.activeConns + d.inactiveConns === 0) {
    out.ops.push({ kind: 'del-dest', server, real: { address: d.address, port: d.port } })
    return
  }
  if (d.weight !== 0) out.ops.push({ kind: 'set-dest', server, real: { address: d.address, port: d.port, weight: 0 } })
  out.drains.push({ server, address: d.address, port: d.port })
}

/**
 * `desired` and `observed` (keyed by serverKey) cover the same scope: all of
 * our virtual servers on a full sync, the changed intents' on a delta. An
 * observed server absent from `desired` is deleted whole.
 */
export function diffServers(desired: ReadonlyMap<string, VirtualServer>, observed: ReadonlyMap<string, ObservedServer>): ServerDiff {
  const out: ServerDiff = { ops: [], drains: [], restored: [] }
  for (const [key, o] of observed) {
    if (!desired.has(key)) out.ops.push({ kind: 'del-service', server: refOf(o.service) })
  }
  for (const [key, want] of desired) {
    const have = observed.get(key)
    const ref = refOf(want)
    if (!have) {
      out.ops.push({ kind: 'add-service', server: want })
      for (const r of want.reals) {
        out.ops.push({ kind: 'add-dest', server: ref, real: r })
        out.restored.push({ server: ref, address: r.address, port: r.port })
      }
      continue
    }
    if (!sameService(want, have.service)) out.ops.push({ kind: 'set-service', server: want })
    const dests = new Map(have.dests.map((d) => [destKey(d.address, d.port), d]))
    const wanted = new Set<string>()
    for (const r of want.reals) {
      const k = destKey(r.address, r.port)
      wanted.add(k)
      const d = dests.get(k)
      if (!d) out.ops.push({ kind: 'add-dest', server: ref, real: r })
      else if (d.weight !== r.weight || d.forward !== 'masq') out.ops.push({ kind: 'set-dest', server: ref, real: r })
      out.restored.push({ server: ref, address: r.address, port: r.port })
    }
    for (const [k, d] of dests) if (!wanted.has(k)) retire(ref, d, out)
  }
  return out
}

/**
 * Which observed virtual servers are ours: those on an address bound to
 * kube-ipvs0, and NodePort servers (on the node's own addresses) whose
 * protocol and port our NodePort sets hold. Anything else is someone else's
 * and survives every sync and the cleanup.
 */
export function isOurServer(s: Pick<IpvsService, 'protocol' | 'address' | 'port'>, vips: ReadonlySet<string>, nodePorts: ReadonlySet<string>): boolean {
  return vips.has(s.address) || nodePorts.has(`${s.protocol}:${s.port}`)
}
