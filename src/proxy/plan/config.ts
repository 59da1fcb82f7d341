// The planner's input besides the snapshot: the node's own facts, read once
// from flags by the agent and checked here, so the planner itself never meets
// a bad address. The result is the plan's ProxyGlobals, in canonical text form
// (a renderer compares and prints them as they are).
import { AddressError, formatCidr, formatIp, parseCidr, parseIp, type Family } from '../../net/address.ts'
import type { FamilyGlobals, ProxyGlobals } from './intent.ts'

export type PlanConfigErrorCode =
  | 'PLAN_CONFIG_SHAPE' // not an object, or a field of the wrong type
  | 'PLAN_CONFIG_NODE_NAME' // empty or not a DNS-1123 subdomain
  | 'PLAN_CONFIG_FAMILY' // no family, an unknown one, or one given twice
  | 'PLAN_CONFIG_CLUSTER_CIDR' // not a subnet CIDR of its family
  | 'PLAN_CONFIG_NODEPORT_ADDRESS' // not an IP of its family, and not 'local'

export class PlanConfigError extends Error {
  readonly code: PlanConfigErrorCode
  /** the offending field, e.g. "families[1].clusterCIDRs[0]" */
  readonly field: string
  constructor(code: PlanConfigErrorCode, field: string, message: string, options?: { cause?: unknown }) {
    super(`proxy planner config: ${field}: ${message}`, options)
    this.name = 'PlanConfigError'
    this.code = code
    this.field = field
  }
}

/** What the agent hands the planner; `plannerConfig` checks it and returns the plan's globals. */
export interface PlannerConfigInput {
  /** this node's name: endpoints whose nodeName equals it are local */
  nodeName: string
  /** --masquerade-all: masquerade all clusterIP traffic */
  masqueradeAll?: boolean
  /** one entry per IP family the node runs, primary first */
  families: readonly {
    family: Family
    /** --cluster-cidr of this family; empty or absent: no local-traffic detection */
    clusterCIDRs?: readonly string[]
    /** --nodeport-addresses already resolved to this node's IPs of this family, or 'local' for all of them */
    nodePortAddresses: readonly string[] | 'local'
  }[]
}

// Node names are DNS-1123 subdomains (kubelet refuses others).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function stringList(v: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(v)) throw new PlanConfigError('PLAN_CONFIG_SHAPE', field, 'must be a list')
  return v
}

/** Check the planner's config; throws a PlanConfigError naming the first bad field. */
export function plannerConfig(input: unknown): ProxyGlobals {
  if (!isRecord(input)) throw new PlanConfigError('PLAN_CONFIG_SHAPE', '(config)', 'must be an object')
  const { nodeName, masqueradeAll = false, families } = input
  if (typeof nodeName !== 'string') throw new PlanConfigError('PLAN_CONFIG_SHAPE', 'nodeName', 'must be a string')
  if (nodeName.length > 253 || !SUBDOMAIN.test(nodeName)) {
    throw new PlanConfigError('PLAN_CONFIG_NODE_NAME', 'nodeName', `"${nodeName}" is not a node name (a DNS-1123 subdomain)`)
  }
  if (typeof masqueradeAll !== 'boolean') throw new PlanConfigError('PLAN_CONFIG_SHAPE', 'masqueradeAll', 'must be a boolean')
  const list = stringList(families, 'families')
  if (list.length === 0) throw new PlanConfigError('PLAN_CONFIG_FAMILY', 'families', 'the node must run at least one IP family')
  const seen = new Set<Family>()
  const out = list.map((f, i): FamilyGlobals => {
    const field = `families[${i}]`
    if (!isRecord(f)) throw new PlanConfigError('PLAN_CONFIG_SHAPE', field, 'must be an object')
    const family = f.family
    if (family !== 4 && family !== 6) throw new PlanConfigError('PLAN_CONFIG_FAMILY', `${field}.family`, `must be 4 or 6, not ${String(family)}`)
    if (seen.has(family)) throw new PlanConfigError('PLAN_CONFIG_FAMILY', `${field}.family`, `IPv${family} is given twice`)
    seen.add(family)
    return {
      family,
      clusterCIDRs: clusterCIDRs(f.clusterCIDRs ?? [], family, `${field}.clusterCIDRs`),
      nodePortAddresses: nodePortAddresses(f.nodePortAddresses, family, `${field}.nodePortAddresses`),
    }
  })
  return { nodeName, masqueradeAll, families: out }
}

function clusterCIDRs(v: unknown, family: Family, field: string): string[] {
  const out = new Set<string>()
  stringList(v, field).forEach((s, i) => {
    const at = `${field}[${i}]`
    let c
    try {
      c = parseCidr(s)
    } catch (e) {
      throw new PlanConfigError('PLAN_CONFIG_CLUSTER_CIDR', at, `${JSON.stringify(s)} ${(e as AddressError).reason}`, { cause: e })
    }
    if (c.addr.family !== family) throw new PlanConfigError('PLAN_CONFIG_CLUSTER_CIDR', at, `${String(s)} is not an IPv${family} CIDR`)
    out.add(formatCidr(c))
  })
  return [...out]
}

function nodePortAddresses(v: unknown, family: Family, field: string): string[] | 'local' {
  if (v === 'local') return 'local'
  if (!Array.isArray(v)) throw new PlanConfigError('PLAN_CONFIG_SHAPE', field, `must be 'local' or a list of addresses`)
  // An empty list is allowed: --nodeport-addresses matched no address of this family, so no NodePort listens on it.
  const out = new Set<string>()
  v.forEach((s, i) => {
    const at = `${field}[${i}]`
    let a
    try {
      a = parseIp(s)
    } catch (e) {
      throw new PlanConfigError('PLAN_CONFIG_NODEPORT_ADDRESS', at, `${JSON.stringify(s)} ${(e as AddressError).reason}`, { cause: e })
    }
    if (a.family !== family) throw new PlanConfigError('PLAN_CONFIG_NODEPORT_ADDRESS', at, `${String(s)} is not an IPv${family} address`)
    out.add(formatIp(a))
  })
  return [...out]
}
