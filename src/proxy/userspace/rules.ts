// The userspace proxy's iptables rules, pure: intents plus the local port each
// intent's proxy socket got, in, iptables-restore text out. The layout is
// kube-proxy's userspace mode (pkg/proxy/userspace, removed in 1.26), so its
// readers recognise it: nat KUBE-PORTALS-CONTAINER (from PREROUTING: pods and
// the outside) and KUBE-PORTALS-HOST (from OUTPUT: the node itself) REDIRECT a
// Service's clusterIP, externalIPs and LB IPs to the proxy port;
// KUBE-NODEPORT-CONTAINER / -HOST do the same for NodePorts on local addresses.
// Unlike kube-proxy's userspace mode, a Service with no endpoints at all is
// refused in filter (KUBE-USERSPACE-REJECT), as route.ts says every mode must.
//
// Every rule carries the comment "pontoon-userspace ..." (not the iptables
// mode's "pontoon"), so the two modes' cleanups never take each other's rules.
import type { Family } from '../../net/address.ts'
import type { FamilyGlobals, L4Protocol, PortIntent, ProxyPlan } from '../plan/intent.ts'
import { externallyAccessible, externalTargets, internalTargets } from '../plan/route.ts'
import { parseSave } from '../iptables/observe.ts'
import { ruleLine, validateGlobals, validateIntent, type Rule } from '../iptables/render.ts'

export const USERSPACE_MARK = 'pontoon-userspace'

export const CHAINS = {
  portalsContainer: 'KUBE-PORTALS-CONTAINER',
  portalsHost: 'KUBE-PORTALS-HOST',
  nodePortContainer: 'KUBE-NODEPORT-CONTAINER',
  nodePortHost: 'KUBE-NODEPORT-HOST',
  reject: 'KUBE-USERSPACE-REJECT',
} as const

export const NAT_CHAINS = [CHAINS.portalsContainer, CHAINS.portalsHost, CHAINS.nodePortContainer, CHAINS.nodePortHost] as const
export const FILTER_CHAINS = [CHAINS.reject] as const
const OUR_CHAINS = new Set<string>([...NAT_CHAINS, ...FILTER_CHAINS])

export type UserspaceTable = 'nat' | 'filter'

/** The local proxy ports of one intent: one per traffic class, since the classes may use different endpoints. */
export interface ProxyPorts {
  /** clusterIP traffic */
  internal: number
  /** NodePort, externalIP and LB traffic; null when the intent has no external frontend */
  external: number | null
}

export class UserspaceRenderError extends Error {
  readonly code = 'USERSPACE_RENDER'
  constructor(readonly intentKey: string, message: string) {
    super(`${intentKey}: ${message}`)
    this.name = 'UserspaceRenderError'
  }
}

const comment = (text: string): string[] => ['-m', 'comment', '--comment', `${USERSPACE_MARK} ${text}`]
const proto = (p: L4Protocol): string[] => ['-p', p, '-m', p]
const hostMask = (ip: string, family: Family) => `${ip}/${family === 4 ? 32 : 128}`
const redirect = (port: number): string[] => ['-j', 'REDIRECT', '--to-ports', String(port)]

/** The jumps into our chains from the built-in ones: the only rules we put in chains we do not own. */
export function builtinJumps(): Record<UserspaceTable, Rule[]> {
  const local = ['-m', 'addrtype', '--dst-type', 'LOCAL']
  const fresh = ['-m', 'conntrack', '--ctstate', 'NEW']
  return {
    nat: [
      { chain: 'PREROUTING', spec: [...comment('handle ClusterIPs; NOTE: this must be before the NodePort rules'), '-j', CHAINS.portalsContainer] },
      { chain: 'PREROUTING', spec: [...comment('handle service NodePorts; NOTE: this must be the last rule in the chain'), ...local, '-j', CHAINS.nodePortContainer] },
      { chain: 'OUTPUT', spec: [...comment('handle ClusterIPs; NOTE: this must be before the NodePort rules'), '-j', CHAINS.portalsHost] },
      { chain: 'OUTPUT', spec: [...comment('handle service NodePorts; NOTE: this must be the last rule in the chain'), ...local, '-j', CHAINS.nodePortHost] },
    ],
    filter: [
      { chain: 'INPUT', spec: [...comment('services without endpoints'), ...fresh, '-j', CHAINS.reject] },
      { chain: 'FORWARD', spec: [...comment('services without endpoints'), ...fresh, '-j', CHAINS.reject] },
      { chain: 'OUTPUT', spec: [...comment('services without endpoints'), ...fresh, '-j', CHAINS.reject] },
    ],
  }
}

/** The last rule of each of our chains: a flushed chain shows as this rule missing (the canary). */
export function chainTail(chain: string): Rule {
  return { chain, spec: [...comment('end'), '-j', 'RETURN'] }
}

/** The rules one intent adds to our chains, per table. */
export function renderIntent(i: PortIntent, fg: FamilyGlobals, ports: ProxyPorts | undefined): Record<UserspaceTable, Rule[]> {
  validateIntent(i)
  if (i.family !== fg.family) throw new UserspaceRenderError(i.key, `family ${i.family} rendered with the globals of family ${fg.family}`)
  const out: Record<UserspaceTable, Rule[]> = { nat: [], filter: [] }
  const p = i.protocol
  const name = i.portName === '' ? i.service : `${i.service}:${i.portName}`
  const external = externallyAccessible(i)
  const both = (spec: string[]) => {
    out.nat.push({ chain: CHAINS.portalsContainer, spec }, { chain: CHAINS.portalsHost, spec })
  }
  const bothNodePort = (spec: string[]) => {
    out.nat.push({ chain: CHAINS.nodePortContainer, spec }, { chain: CHAINS.nodePortHost, spec })
  }
  // a TCP reset refuses at once; ICMP (all UDP gets) is rate-limited by the kernel
  const rejectWith = p === 'tcp' ? ['-j', 'REJECT', '--reject-with', 'tcp-reset'] : ['-j', 'REJECT']
  const reject = (spec: string[]) => out.filter.push({ chain: CHAINS.reject, spec: [...spec, ...rejectWith] })

  // no endpoint anywhere for a class: refused before it reaches a socket, so clients fail at once
  const internalEmpty = internalTargets(i).endpoints.length === 0 && internalTargets(i).whenEmpty === 'reject'
  const externalEmpty = externalTargets(i).endpoints.length === 0 && externalTargets(i).whenEmpty === 'reject'
  if (!internalEmpty || (external && !externalEmpty)) {
    if (!ports) throw new UserspaceRenderError(i.key, 'no proxy port was opened for this intent')
    if (external && ports.external === null) throw new UserspaceRenderError(i.key, 'an external frontend but no external proxy port')
  }

  const clusterIP = [...comment(`${name} cluster IP`), '-d', hostMask(i.clusterIP, i.family), ...proto(p), '--dport', String(i.port)]
  if (internalEmpty) reject(clusterIP)
  else both([...clusterIP, ...redirect(ports!.internal)])

  for (const ip of i.externalIPs) {
    const m = [...comment(`${name} external IP`), '-d', hostMask(ip, i.family), ...proto(p), '--dport', String(i.port)]
    if (externalEmpty) reject(m)
    else both([...m, ...redirect(ports!.external!)])
  }
  for (const ip of i.loadBalancerIPs) {
    const m = [...comment(`${name} loadbalancer IP`), '-d', hostMask(ip, i.family), ...proto(p), '--dport', String(i.port)]
    if (externalEmpty) {
      reject(m)
    } else if (i.loadBalancerSourceRanges.length === 0) {
      both([...m, ...redirect(ports!.external!)])
    } else {
      // only the allowed sources reach the proxy; the rest are not redirected and die in routing
      for (const src of i.loadBalancerSourceRanges) both([...m, '-s', src, ...redirect(ports!.external!)])
    }
  }
  if (i.nodePort !== null) {
    // the NODEPORT chains are only jumped to for local destinations; the filter chain is jumped to for all
    const addrs = fg.nodePortAddresses
    const local = addrs === 'local'
    const dsts = addrs === 'local' ? [[]] : addrs.map((a) => ['-d', a])
    for (const d of dsts) {
      const m = [...comment(`${name} node port`), ...d, ...proto(p), '--dport', String(i.nodePort)]
      if (externalEmpty) reject(local ? [...m, '-m', 'addrtype', '--dst-type', 'LOCAL'] : m)
      else bothNodePort([...m, ...redirect(ports!.external!)])
    }
  }
  return out
}

/**
 * The part of a plan this mode can serve: Node has no SCTP sockets, so SCTP
 * intents get no socket and no rule (their traffic is not redirected) instead
 * of failing every sync for every other Service.
 */
export function proxiedPlan(plan: ProxyPlan): { plan: ProxyPlan; skipped: string[] } {
  const skipped = [...plan.intents.values()].filter((i) => i.protocol === 'sctp').map((i) => i.key)
  if (skipped.length === 0) return { plan, skipped }
  return { plan: { globals: plan.globals, intents: new Map([...plan.intents].filter(([, i]) => i.protocol !== 'sctp')) }, skipped }
}

export interface FamilyRules {
  family: Family
  text: string
  /** rules in our chains after this restore, without the tails */
  rules: number
}

/**
 * The whole of our chains for each family: declaring a chain in restore input
 * flushes it, so this replaces everything in them in one transaction. With
 * `relink`, the jumps from the built-in chains are written too, after deleting
 * the ones a dump showed (`observed`: our marked builtin rules, save form).
 */
export function renderAll(
  plan: ProxyPlan,
  ports: ReadonlyMap<string, ProxyPorts>,
  relink: ReadonlyMap<Family, Record<UserspaceTable, string[]>> | null,
): FamilyRules[] {
  const out: FamilyRules[] = []
  for (const fg of plan.globals.families) {
    validateGlobals(fg)
    const tables: Record<UserspaceTable, Rule[]> = { nat: [], filter: [] }
    const intents = [...plan.intents.values()].filter((i) => i.family === fg.family).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    for (const i of intents) {
      const r = renderIntent(i, fg, ports.get(i.key))
      tables.nat.push(...r.nat)
      tables.filter.push(...r.filter)
    }
    const jumps = builtinJumps()
    const lines: string[] = []
    for (const table of ['nat', 'filter'] as const) {
      const chains = table === 'nat' ? NAT_CHAINS : FILTER_CHAINS
      lines.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`))
      const old = relink?.get(fg.family)?.[table]
      if (relink) {
        for (const l of old ?? []) lines.push(`-D${l.slice(2)}`)
        for (const j of jumps[table]) lines.push(ruleLine('-A', j))
      }
      for (const r of tables[table]) lines.push(ruleLine('-A', r))
      for (const c of chains) lines.push(ruleLine('-A', chainTail(c)))
      lines.push('COMMIT')
    }
    out.push({ family: fg.family, text: lines.join('\n') + '\n', rules: tables.nat.length + tables.filter.length })
  }
  return out
}

const MARKED = new RegExp(`--comment "?${USERSPACE_MARK}(?=[\\s"]|$)`)

/** Our marked rules in the built-in chains of one table's iptables-save dump (the ones a relink deletes). */
export function observeBuiltinJumps(save: string): string[] {
  const out: string[] = []
  for (const [, c] of parseSave(save)) if (c.builtin) for (const r of c.rules) if (MARKED.test(r)) out.push(r)
  return out
}

/**
 * Restore text removing everything of ours from one table's dump and nothing
 * else: our marked rules wherever they are, then our chains, unless a foreign
 * rule still jumps to one (then it stays, emptied of our rules). '' when nothing is ours.
 */
export function renderCleanup(table: UserspaceTable, save: string): string {
  const chains = parseSave(save)
  const foreignTargets = new Set<string>()
  for (const c of chains.values()) {
    for (const r of c.rules) {
      if (MARKED.test(r)) continue
      const t = /(?:^|\s)-[jg] (\S+)/.exec(r)
      if (t) foreignTargets.add(t[1]!)
    }
  }
  const ours = [...chains.keys()].filter((n) => OUR_CHAINS.has(n) && !chains.get(n)!.builtin)
  const removable = ours.filter((n) => !foreignTargets.has(n) && chains.get(n)!.rules.every((r) => MARKED.test(r)))
  const lines: string[] = []
  for (const [name, c] of chains) {
    if (removable.includes(name)) continue
    for (const r of c.rules) if (MARKED.test(r)) lines.push(`-D${r.slice(2)}`)
  }
  if (lines.length === 0 && removable.length === 0) return ''
  // declaring a chain flushes it, so the -X finds it empty
  return [`*${table}`, ...removable.map((c) => `:${c} - [0:0]`), ...lines, ...removable.map((c) => `-X ${c}`), 'COMMIT'].join('\n') + '\n'
}
