// The IPVS mode's iptables rules and ipset texts, pure. The rules are a
// constant of the node's globals (families, cluster CIDRs, --masquerade-all):
// the number of Services changes only set members, never a rule, which is
// the point of kube-proxy's ipvs layout. Its chain and set names, so readers
// of `iptables-save` on a kube-proxy node recognise them:
//   nat    PREROUTING/OUTPUT -> KUBE-SERVICES: masquerade marks by set
//          (KUBE-CLUSTER-IP from outside the cluster CIDRs, KUBE-EXTERNAL-IP,
//          KUBE-LOAD-BALANCER, NodePorts by KUBE-NODE-PORT-*; the -LOCAL sets
//          keep the client address); POSTROUTING -> KUBE-POSTROUTING:
//          KUBE-LOOP-BACK (hairpin) and marked packets masqueraded.
//   filter INPUT -> KUBE-IPVS-FILTER, before IPVS's LOCAL_IN hook: source
//          ranges, drop and reject verdicts, and any other port of a VIP refused.
// Every rule carries the comment "pontoon-ipvs ..." so no other mode's cleanup
// takes it, and this mode's cleanup takes nothing else.
import type { Family } from '../../net/address.ts'
import type { FamilyGlobals, ProxyGlobals } from '../plan/intent.ts'
import { parseSave } from '../iptables/observe.ts'
import { MASQ_MARK, ruleLine, validateGlobals, type Rule } from '../iptables/render.ts'
import { OUR_SET, SET_BASES, SET_TYPES, setName, twinName, type IpvsDesired, type SetBase } from './desired.ts'

export const IPVS_MARK = 'pontoon-ipvs'
export type IpvsTable = 'nat' | 'filter'
export const TABLES: readonly IpvsTable[] = ['nat', 'filter']

export const CHAINS = {
  nat: ['KUBE-SERVICES', 'KUBE-NODE-PORT', 'KUBE-CLUSTER-MASQ', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING'],
  filter: ['KUBE-IPVS-FILTER'],
} as const satisfies Record<IpvsTable, readonly string[]>
const OUR_CHAINS = new Set<string>([...CHAINS.nat, ...CHAINS.filter])

/** Bound on every hash set: far above 10,000 Services x 10 endpoints, far below exhausting memory. */
export const SET_MAXELEM = 1 << 20

const comment = (text: string): string[] => ['-m', 'comment', '--comment', `${IPVS_MARK} ${text}`]
const inSet = (base: SetBase, f: Family, dirs: string): string[] => ['-m', 'set', '--match-set', setName(base, f), dirs]

export function builtinJumps(): Record<IpvsTable, Rule[]> {
  return {
    nat: [
      { chain: 'PREROUTING', spec: [...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES'] },
      { chain: 'OUTPUT', spec: [...comment('kubernetes service portals'), '-j', 'KUBE-SERVICES'] },
      { chain: 'POSTROUTING', spec: [...comment('kubernetes postrouting rules'), '-j', 'KUBE-POSTROUTING'] },
    ],
    filter: [
      { chain: 'INPUT', spec: [...comment('kubernetes ipvs access filter'), '-j', 'KUBE-IPVS-FILTER'] },
    ],
  }
}

/** The last rule of each of our chains: a flushed chain shows as this rule missing (the canary). */
export function chainTail(chain: string): Rule {
  return { chain, spec: [...comment('end'), '-j', 'RETURN'] }
}

/** Every rule of our chains for one family, tails excluded. */
export function familyRules(fg: FamilyGlobals, masqueradeAll: boolean): Record<IpvsTable, Rule[]> {
  validateGlobals(fg)
  const f = fg.family
  const nat: Rule[] = []
  const svc = (text: string, spec: string[]) => nat.push({ chain: 'KUBE-SERVICES', spec: [...comment(text), ...spec] })
  if (masqueradeAll) svc('cluster IP, --masquerade-all', [...inSet('CLUSTER-IP', f, 'dst,dst'), '-j', 'KUBE-MARK-MASQ'])
  else if (fg.clusterCIDRs.length > 0) svc('cluster IP from outside the cluster CIDRs', [...inSet('CLUSTER-IP', f, 'dst,dst'), '-j', 'KUBE-CLUSTER-MASQ'])
  svc('external IP', [...inSet('EXTERNAL-IP', f, 'dst,dst'), '-j', 'KUBE-MARK-MASQ'])
  svc('load balancer IP', [...inSet('LOAD-BALANCER', f, 'dst,dst'), '-j', 'KUBE-MARK-MASQ'])
  svc('node ports', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'KUBE-NODE-PORT'])
  for (const c of fg.clusterCIDRs) nat.push({ chain: 'KUBE-CLUSTER-MASQ', spec: [...comment('from inside the cluster'), '-s', c, '-j', 'RETURN'] })
  nat.push({ chain: 'KUBE-CLUSTER-MASQ', spec: [...comment('from outside the cluster'), '-j', 'KUBE-MARK-MASQ'] })
  for (const p of ['tcp', 'udp', 'sctp'] as const) {
    const P = p.toUpperCase() as 'TCP' | 'UDP' | 'SCTP'
    nat.push({ chain: 'KUBE-NODE-PORT', spec: [...comment(`${p} node port, externalTrafficPolicy Local`), '-p', p, ...inSet(`NODE-PORT-LOCAL-${P}`, f, 'dst'), '-j', 'RETURN'] })
    nat.push({ chain: 'KUBE-NODE-PORT', spec: [...comment(`${p} node port`), '-p', p, ...inSet(`NODE-PORT-${P}`, f, 'dst'), '-j', 'KUBE-MARK-MASQ'] })
  }
  nat.push({ chain: 'KUBE-MARK-MASQ', spec: [...comment('mark for masquerade'), '-j', 'MARK', '--or-mark', MASQ_MARK] })
  nat.push(
    // after IPVS's DNAT: a backend reaching itself must see the node as the source
    { chain: 'KUBE-POSTROUTING', spec: [...comment('hairpin'), ...inSet('LOOP-BACK', f, 'dst,dst,src'), '-j', 'MASQUERADE'] },
    { chain: 'KUBE-POSTROUTING', spec: [...comment('not marked for masquerade'), '-m', 'mark', '!', '--mark', `${MASQ_MARK}/${MASQ_MARK}`, '-j', 'RETURN'] },
    { chain: 'KUBE-POSTROUTING', spec: [...comment('clear the masquerade mark'), '-j', 'MARK', '--xor-mark', MASQ_MARK] },
    { chain: 'KUBE-POSTROUTING', spec: [...comment('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully'] },
  )

  const filter: Rule[] = []
  const flt = (text: string, spec: string[]) => filter.push({ chain: 'KUBE-IPVS-FILTER', spec: [...comment(text), ...spec] })
  flt('load balancer source ranges', [...inSet('LOAD-BALANCER-FW', f, 'dst,dst'), '-m', 'set', '!', '--match-set', setName('LOAD-BALANCER-SOURCE-CIDR', f), 'dst,dst,src', '-j', 'DROP'])
  flt('no local endpoint on this node', [...inSet('IPVS-DROP', f, 'dst,dst'), '-j', 'DROP'])
  // a TCP reset refuses at once; ICMP (all UDP and SCTP can get) is rate-limited by the kernel
  flt('no endpoints', ['-p', 'tcp', ...inSet('IPVS-REJECT', f, 'dst,dst'), '-j', 'REJECT', '--reject-with', 'tcp-reset'])
  flt('no endpoints', [...inSet('IPVS-REJECT', f, 'dst,dst'), '-j', 'REJECT'])
  for (const b of ['CLUSTER-IP', 'EXTERNAL-IP', 'EXTERNAL-IP-LOCAL', 'LOAD-BALANCER', 'LOAD-BALANCER-LOCAL'] as const) {
    flt('a service port', [...inSet(b, f, 'dst,dst'), '-j', 'RETURN'])
  }
  // kube-ipvs0 makes every VIP a local address: a port no Service has must not reach the node's own listeners
  flt('unallocated port of a service IP', ['-p', 'tcp', '-m', 'conntrack', '--ctstate', 'NEW', ...inSet('IPVS-IPS', f, 'dst'), '-j', 'REJECT', '--reject-with', 'tcp-reset'])
  flt('unallocated port of a service IP', ['-m', 'conntrack', '--ctstate', 'NEW', ...inSet('IPVS-IPS', f, 'dst'), '-j', 'REJECT'])
  return { nat, filter }
}

export interface FamilyRestore { family: Family; text: string; rules: number }

/**
 * The whole of our chains per family, in one iptables-restore each: declaring
 * a chain flushes it, so the restore replaces all our rules at once. The jumps
 * from the built-in chains the dump showed (`observed`: our marked builtin
 * rules, save form) are deleted and written again, so there is exactly one of each.
 */
export function renderRules(g: ProxyGlobals, observed: ReadonlyMap<Family, Record<IpvsTable, string[]>>): FamilyRestore[] {
  return g.families.map((fg) => {
    const r = familyRules(fg, g.masqueradeAll)
    const jumps = builtinJumps()
    const lines: string[] = []
    for (const t of TABLES) {
      lines.push(`*${t}`, ...CHAINS[t].map((c) => `:${c} - [0:0]`))
      for (const l of observed.get(fg.family)?.[t] ?? []) lines.push(`-D${l.slice(2)}`)
      for (const j of jumps[t]) lines.push(ruleLine('-A', j))
      for (const rule of r[t]) lines.push(ruleLine('-A', rule))
      for (const c of CHAINS[t]) lines.push(ruleLine('-A', chainTail(c)))
      lines.push('COMMIT')
    }
    return { family: fg.family, text: lines.join('\n') + '\n', rules: r.nat.length + r.filter.length }
  })
}

const MARKED = new RegExp(`--comment "?${IPVS_MARK}(?=[\\s"]|$)`)

/** Our marked rules in the built-in chains of one table's dump. */
export function observeBuiltinJumps(save: string): string[] {
  const out: string[] = []
  for (const [, c] of parseSave(save)) if (c.builtin) for (const r of c.rules) if (MARKED.test(r)) out.push(r)
  return out
}

/** True when one table's dump lacks any of our jumps or chain tails (something flushed it). */
export function tableFlushed(t: IpvsTable, save: string): boolean {
  const have = new Set(save.split('\n'))
  return [...builtinJumps()[t], ...CHAINS[t].map(chainTail)].some((r) => !have.has(ruleLine('-A', r)))
}

/**
 * Restore text removing everything of ours from one table's dump and nothing
 * else: our marked rules wherever they are, then our chains, unless a foreign
 * rule still jumps to one (it then stays, emptied of our rules). '' for nothing.
 */
export function renderCleanup(t: IpvsTable, save: string): string {
  const chains = parseSave(save)
  const foreignTargets = new Set<string>()
  for (const c of chains.values()) {
    for (const r of c.rules) {
      if (MARKED.test(r)) continue
      const m = /(?:^|\s)-[jg] (\S+)/.exec(r)
      if (m) foreignTargets.add(m[1]!)
    }
  }
  const removable = [...chains.keys()].filter((n) => OUR_CHAINS.has(n) && !chains.get(n)!.builtin && !foreignTargets.has(n) && chains.get(n)!.rules.every((r) => MARKED.test(r)))
  const lines: string[] = []
  for (const [name, c] of chains) {
    if (removable.includes(name)) continue
    for (const r of c.rules) if (MARKED.test(r)) lines.push(`-D${r.slice(2)}`)
  }
  if (lines.length === 0 && removable.length === 0) return ''
  return [`*${t}`, ...removable.map((c) => `:${c} - [0:0]`), ...lines, ...removable.map((c) => `-X ${c}`), 'COMMIT'].join('\n') + '\n'
}

// ---------------------------------------------------------------- ipset

function createLine(name: string, base: SetBase, f: Family): string {
  const type = SET_TYPES[base]
  if (type === 'bitmap:port') return `create ${name} bitmap:port range 0-65535 -exist`
  return `create ${name} ${type} family ${f === 4 ? 'inet' : 'inet6'} maxelem ${SET_MAXELEM} -exist`
}

/** Every set of every family filled anew in a twin and swapped in: a packet never sees a half-filled set. */
export function renderSetsFull(desired: Pick<IpvsDesired, 'sets'>, families: readonly Family[]): string {
  const lines: string[] = []
  for (const f of families) {
    for (const base of SET_BASES) {
      const name = setName(base, f)
      const tmp = twinName(name)
      lines.push(createLine(name, base, f), createLine(tmp, base, f), `flush ${tmp}`)
      for (const e of [...(desired.sets.get(name) ?? [])].sort()) lines.push(`add ${tmp} ${e}`)
      lines.push(`swap ${tmp} ${name}`, `destroy ${tmp}`)
    }
  }
  return lines.join('\n') + '\n'
}

/** Element changes ("SETNAME element" each); deletions first, so a member both removed and added stays. */
export function renderSetsDelta(del: Iterable<string>, add: Iterable<string>): string {
  const lines = [...[...del].map((m) => `del ${m} -exist`), ...[...add].map((m) => `add ${m} -exist`)]
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** Our sets among `ipset list -n`, destroyed (after the rules naming them are gone). */
export function renderSetsCleanup(names: readonly string[]): string {
  const ours = names.filter((n) => OUR_SET.test(n))
  return ours.length ? ours.map((n) => `destroy ${n}`).join('\n') + '\n' : ''
}

/** The protocol of one of our NodePort sets (whose members are the durable record of our NodePorts), by its name. */
export function nodePortOfSet(name: string): 'tcp' | 'udp' | 'sctp' | undefined {
  const m = /^KUBE6?-NODE-PORT-(?:LOCAL-)?(TCP|UDP|SCTP)$/.exec(name)
  return m ? (m[1]!.toLowerCase() as 'tcp' | 'udp' | 'sctp') : undefined
}

export const isOurSet = (name: string): boolean => OUR_SET.test(name)
