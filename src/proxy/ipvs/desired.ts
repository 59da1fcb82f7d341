// The IPVS mode's planner, pure: intents in, the state kube-proxy's ipvs mode
// would hold out. Per intent: one virtual server per frontend address:port
// (clusterIP, each externalIP and LB IP, each NodePort address) with a real
// server per endpoint of that traffic class, the VIPs bound to kube-ipvs0, and
// the ipset members the constant iptables rules (rules.ts) match on. The
// whole-node state is the union of the intents' states, so a delta re-plans
// only the changed intents and the backend adds and removes their parts.
//
// Where the intent's route (plan/route.ts) says reject or drop, no virtual
// server is made: the frontend goes into KUBE-IPVS-REJECT or KUBE-IPVS-DROP,
// which filter INPUT (before IPVS's own LOCAL_IN hook) answers with a TCP
// reset or a silent drop. IPVS itself would answer an empty virtual server
// with a rate-limited ICMP port unreachable: clients would wait a second.
import type { Family } from '../../net/address.ts'
import type { FamilyGlobals, L4Protocol, PortIntent, ProxyPlan } from '../plan/intent.ts'
import { externalTargets, internalTargets, type ClassTargets, type FrontendKind } from '../plan/route.ts'
import { validateGlobals, validateIntent } from '../iptables/render.ts'

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'sh', 'mh'] as const
export type IpvsScheduler = (typeof SCHEDULERS)[number]

/** kube-proxy's ipvs-mode sets, plus two of ours for the verdicts IPVS cannot give itself. */
export const SET_TYPES = {
  'CLUSTER-IP': 'hash:ip,port',
  'LOOP-BACK': 'hash:ip,port,ip',
  'EXTERNAL-IP': 'hash:ip,port',
  'EXTERNAL-IP-LOCAL': 'hash:ip,port',
  'LOAD-BALANCER': 'hash:ip,port',
  'LOAD-BALANCER-LOCAL': 'hash:ip,port',
  'LOAD-BALANCER-FW': 'hash:ip,port',
  'LOAD-BALANCER-SOURCE-CIDR': 'hash:ip,port,net',
  'NODE-PORT-TCP': 'bitmap:port',
  'NODE-PORT-UDP': 'bitmap:port',
  'NODE-PORT-SCTP': 'bitmap:port',
  'NODE-PORT-LOCAL-TCP': 'bitmap:port',
  'NODE-PORT-LOCAL-UDP': 'bitmap:port',
  'NODE-PORT-LOCAL-SCTP': 'bitmap:port',
  'IPVS-IPS': 'hash:ip',
  'IPVS-REJECT': 'hash:ip,port',
  'IPVS-DROP': 'hash:ip,port',
} as const
export type SetBase = keyof typeof SET_TYPES
export const SET_BASES = Object.keys(SET_TYPES) as SetBase[]

/**
 * kube-proxy's names for IPv4 ("KUBE-CLUSTER-IP"); IPv6 sets need their own
 * (ipset names have no family namespace): "KUBE6-", which keeps the longest,
 * KUBE6-LOAD-BALANCER-SOURCE-CIDR, within ipset's 31 characters.
 */
export function setName(base: SetBase, family: Family): string {
  return `${family === 4 ? 'KUBE-' : 'KUBE6-'}${base}`
}

/**
 * The twin a full sync fills and swaps in: "KUBT" for "KUBE", since a suffix would
 * take the longest names past ipset's limit.
 */
export function twinName(name: string): string {
  return name.replace(/^KUBE/, 'KUBT')
}

export const OUR_SET = /^KUB[ET]6?-(CLUSTER-IP|LOOP-BACK|EXTERNAL-IP(-LOCAL)?|LOAD-BALANCER(-LOCAL|-FW|-SOURCE-CIDR)?|NODE-PORT(-LOCAL)?-(TCP|UDP|SCTP)|IPVS-(IPS|REJECT|DROP))$/

export interface RealServer { address: string; port: number; weight: number }

export interface VirtualServer {
  /** "tcp/10.96.0.10:80", "udp/[fd00::a]:53": unique per node */
  key: string
  family: Family
  protocol: L4Protocol
  address: string
  port: number
  scheduler: IpvsScheduler
  /** ClientIP affinity timeout in seconds; 0: no persistence */
  persistence: number
  frontend: FrontendKind
  /** the PortIntent this came from */
  intent: string
  /** sorted by address then port */
  reals: readonly RealServer[]
}

/** What one intent contributes to the node. */
export interface IntentState {
  servers: readonly VirtualServer[]
  /** addresses bound to kube-ipvs0 (clusterIP, externalIPs, LB IPs) */
  vips: readonly string[]
  /** "SETNAME element", as `ipset add` takes it */
  members: readonly string[]
}

export interface IpvsPlanOptions {
  scheduler: IpvsScheduler
  /** the node's own addresses per family, for NodePorts when the globals say 'local' (kube-ipvs0 and loopback excluded) */
  localAddresses: Readonly<Record<Family, readonly string[]>>
}

export class IpvsPlanError extends Error {
  readonly code = 'IPVS_BAD_PLAN'
  override readonly name = 'IpvsPlanError'
}

const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`)
export const serverKey = (protocol: L4Protocol, address: string, port: number): string => `${protocol}/${hostPort(address, port)}`
/** ipset's "ip,proto:port" element */
const ipPort = (ip: string, p: L4Protocol, port: number) => `${ip},${p}:${port}`
const nodePortSet = (p: L4Protocol, local: boolean) => `NODE-PORT-${local ? 'LOCAL-' : ''}${p.toUpperCase()}` as SetBase

export function nodePortAddresses(fg: FamilyGlobals, opts: IpvsPlanOptions): readonly string[] {
  return fg.nodePortAddresses === 'local' ? opts.localAddresses[fg.family] : fg.nodePortAddresses
}

/** One intent's virtual servers, VIPs and set members. */
export function planIntent(i: PortIntent, fg: FamilyGlobals, opts: IpvsPlanOptions): IntentState {
  validateIntent(i)
  if (i.family !== fg.family) throw new IpvsPlanError(`${i.key}: IPv${i.family} intent planned with the IPv${fg.family} globals`)
  const f = i.family
  const p = i.protocol
  const servers: VirtualServer[] = []
  const members: string[] = []
  const member = (base: SetBase, element: string) => members.push(`${setName(base, f)} ${element}`)
  const loopback = new Set<string>()

  const frontend = (kind: FrontendKind, address: string, port: number, t: ClassTargets) => {
    if (t.endpoints.length === 0) {
      member(t.whenEmpty === 'reject' ? 'IPVS-REJECT' : 'IPVS-DROP', ipPort(address, p, port))
      return
    }
    const reals = [...t.endpoints]
      .sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.port - b.port))
      .map((e) => ({ address: e.ip, port: e.port, weight: 1 }))
    for (const r of reals) loopback.add(`${r.address},${p}:${r.port},${r.address}`)
    servers.push({
      key: serverKey(p, address, port), family: f, protocol: p, address, port,
      scheduler: opts.scheduler, persistence: i.affinityTimeoutSeconds, frontend: kind, intent: i.key, reals,
    })
  }

  const internal = internalTargets(i)
  const external = externalTargets(i)
  frontend('cluster-ip', i.clusterIP, i.port, internal)
  member('CLUSTER-IP', ipPort(i.clusterIP, p, i.port))
  const vips = [i.clusterIP]
  for (const ip of i.externalIPs) {
    frontend('external-ip', ip, i.port, external)
    member(i.externalPolicyLocal ? 'EXTERNAL-IP-LOCAL' : 'EXTERNAL-IP', ipPort(ip, p, i.port))
    vips.push(ip)
  }
  for (const ip of i.loadBalancerIPs) {
    frontend('load-balancer', ip, i.port, external)
    member(i.externalPolicyLocal ? 'LOAD-BALANCER-LOCAL' : 'LOAD-BALANCER', ipPort(ip, p, i.port))
    if (i.loadBalancerSourceRanges.length > 0) {
      member('LOAD-BALANCER-FW', ipPort(ip, p, i.port))
      for (const c of i.loadBalancerSourceRanges) member('LOAD-BALANCER-SOURCE-CIDR', `${ip},${p}:${i.port},${c}`)
    }
    vips.push(ip)
  }
  if (i.nodePort !== null) {
    member(nodePortSet(p, i.externalPolicyLocal), String(i.nodePort))
    for (const a of nodePortAddresses(fg, opts)) frontend('node-port', a, i.nodePort, external)
  }
  for (const l of loopback) member('LOOP-BACK', l)
  const uniqueVips = [...new Set(vips)]
  for (const v of uniqueVips) member('IPVS-IPS', v)
  return { servers, vips: uniqueVips, members: [...new Set(members)] }
}

/** The whole node: every intent's parts, joined. */
export interface IpvsDesired {
  byIntent: Map<string, IntentState>
  servers: Map<string, VirtualServer>
  /** per family, the addresses kube-ipvs0 must hold */
  vips: Map<Family, Set<string>>
  /** every set of every family the node runs, with its elements (empty sets too: the rules name them) */
  sets: Map<string, Set<string>>
  /** frontends two intents both claim (the first keeps it), for the log */
  conflicts: string[]
}

export function planAll(plan: ProxyPlan, opts: IpvsPlanOptions): IpvsDesired {
  const fgOf = new Map(plan.globals.families.map((fg) => [fg.family, fg]))
  for (const fg of fgOf.values()) validateGlobals(fg)
  const out: IpvsDesired = { byIntent: new Map(), servers: new Map(), vips: new Map(), sets: new Map(), conflicts: [] }
  for (const fg of fgOf.values()) {
    out.vips.set(fg.family, new Set())
    for (const b of SET_BASES) out.sets.set(setName(b, fg.family), new Set())
  }
  const keys = [...plan.intents.keys()].sort()
  for (const k of keys) {
    const i = plan.intents.get(k)!
    const fg = fgOf.get(i.family)
    if (!fg) throw new IpvsPlanError(`${i.key}: the node runs no IPv${i.family}`)
    const s = planIntent(i, fg, opts)
    out.byIntent.set(k, s)
    for (const v of s.servers) {
      const other = out.servers.get(v.key)
      // two Services claiming one externalIP:port: the first by key keeps it
      if (other) out.conflicts.push(`${v.key}: ${v.intent} wants the virtual server ${other.intent} has`)
      else out.servers.set(v.key, v)
    }
    for (const v of s.vips) out.vips.get(i.family)!.add(v)
    for (const m of s.members) {
      const sp = m.indexOf(' ')
      out.sets.get(m.slice(0, sp))!.add(m.slice(sp + 1))
    }
  }
  return out
}
