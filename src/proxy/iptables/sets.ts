// The ipsets behind the iptables rules, as `ipset restore` text. A set turns a
// list of rules into one membership test: every clusterIP (the unallocated-port
// reject), every (LB IP, port, allowed source range) triple, and the cluster
// CIDRs when there are several. Pure; names carry the family as a suffix.
import type { Family } from '../../net/address.ts'
import type { PlanDelta, PortIntent, ProxyPlan } from '../plan/intent.ts'
import { setName } from './names.ts'

/** Bound on every set: far above 10,000 Services, far below what would exhaust memory. */
export const SET_MAXELEM = 262144
const SETS = ['CLUSTER-IPS', 'LB-SRC', 'CLUSTER-CIDRS'] as const
const TYPES: Record<(typeof SETS)[number], string> = { 'CLUSTER-IPS': 'hash:ip', 'LB-SRC': 'hash:ip,port,net', 'CLUSTER-CIDRS': 'hash:net' }

const inet = (f: Family) => (f === 4 ? 'inet' : 'inet6')

function create(name: string, type: string, f: Family): string {
  return `create ${name} ${type} family ${inet(f)} maxelem ${SET_MAXELEM} -exist`
}

/** The (LB IP, proto:port, source range) elements of one intent. */
export function lbSourceElements(i: PortIntent): string[] {
  const out: string[] = []
  for (const ip of i.loadBalancerIPs) for (const c of i.loadBalancerSourceRanges) out.push(`${ip},${i.protocol}:${i.port},${c}`)
  return out
}

/**
 * Every set filled anew in a temporary twin and swapped in, so a packet never
 * sees a half-filled set.
 */
export function renderSetsFull(plan: ProxyPlan): { text: string; elements: number } {
  const lines: string[] = []
  let elements = 0
  for (const fg of plan.globals.families) {
    const f = fg.family
    const content: Record<(typeof SETS)[number], Set<string>> = { 'CLUSTER-IPS': new Set(), 'LB-SRC': new Set(), 'CLUSTER-CIDRS': new Set(fg.clusterCIDRs.length > 1 ? fg.clusterCIDRs : []) }
    for (const i of plan.intents.values()) {
      if (i.family !== f) continue
      content['CLUSTER-IPS'].add(i.clusterIP)
      for (const e of lbSourceElements(i)) content['LB-SRC'].add(e)
    }
    for (const s of SETS) {
      const name = setName(s, f)
      const tmp = `${name}-T`
      lines.push(create(name, TYPES[s], f), create(tmp, TYPES[s], f), `flush ${tmp}`)
      for (const e of [...content[s]].sort()) lines.push(`add ${tmp} ${e}`)
      lines.push(`swap ${tmp} ${name}`, `destroy ${tmp}`)
      elements += content[s].size
    }
  }
  return { text: lines.join('\n') + '\n', elements }
}

/**
 * The element changes of a delta. A clusterIP is shared by the ports of its
 * Service, so it leaves the set only when `clusterIPInUse` (the backend's count
 * of intents per clusterIP, after the delta) says no intent has it any more.
 */
export function renderSetsPartial(delta: PlanDelta, clusterIPInUse: (family: Family, ip: string) => boolean): string {
  const add = new Set<string>()
  const del = new Set<string>()
  const before = [...delta.removed, ...delta.previous.values()]
  for (const i of delta.upserted) {
    add.add(`${setName('CLUSTER-IPS', i.family)} ${i.clusterIP}`)
    for (const e of lbSourceElements(i)) add.add(`${setName('LB-SRC', i.family)} ${e}`)
  }
  for (const i of before) {
    if (!clusterIPInUse(i.family, i.clusterIP)) del.add(`${setName('CLUSTER-IPS', i.family)} ${i.clusterIP}`)
    for (const e of lbSourceElements(i)) del.add(`${setName('LB-SRC', i.family)} ${e}`)
  }
  const lines: string[] = []
  for (const e of del) if (!add.has(e)) lines.push(`del ${e} -exist`)
  for (const e of add) lines.push(`add ${e} -exist`)
  return lines.length ? lines.join('\n') + '\n' : ''
}

/** Our set names among `ipset list -n` output, and the restore text that destroys them. */
export function renderSetsCleanup(names: readonly string[]): string {
  const ours = names.filter((n) => /^PONTOON-(CLUSTER-IPS|LB-SRC|CLUSTER-CIDRS)-[46](-T)?$/.test(n))
  return ours.length ? ours.map((n) => `destroy ${n}`).join('\n') + '\n' : ''
}
