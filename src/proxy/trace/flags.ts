// `pontoon trace`'s flags, checked before anything touches the API, and the
// node facts the planner and the tracer need, read from the Node object so the
// command works on a node and against the lab alike.
import { FlagError } from '../../agent/bind-address.ts'
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr, type Family } from '../../net/address.ts'
import { resolveNodePortAddresses, type NodePortAddressesFlag } from '../nodeport-addresses.ts'
import type { Node } from '../../cluster/model.ts'
import type { L4Protocol } from '../plan/intent.ts'
import type { TracePacket } from './trace.ts'

export interface TraceFlags {
  packet: TracePacket
  nodeName: string
  clusterCIDRs: Cidr[]
  masqueradeAll: boolean
  /** absent flag: primary, as the agent's default */
  nodePortAddresses: NodePortAddressesFlag
}

export interface RawTraceFlags {
  from: string
  to: string
  'node-name': string
  'cluster-cidr'?: string
  'masquerade-all'?: boolean
  'nodeport-addresses'?: string
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const TO = /^(?:\[([^\]]*)\]|([^:[\]/]*)):([^/]*)(?:\/(.*))?$/
const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp']

function ip(flag: string, text: string): string {
  try {
    return formatIp(parseIp(text))
  } catch (e) {
    throw new FlagError(flag, `"${text}" ${(e as Error).message}`)
  }
}

function cidrs(flag: string, text: string): Cidr[] {
  return text.split(',').map((s) => {
    try {
      return parseCidr(s.trim())
    } catch (e) {
      throw new FlagError(flag, `"${s.trim()}" ${(e as Error).message}`)
    }
  })
}

/** "IP:PORT/PROTO", "[IPv6]:PORT/PROTO"; the protocol defaults to tcp. */
export function parseDestination(text: string): { to: string; port: number; protocol: L4Protocol } {
  if (!text.startsWith('[') && text.split(':').length > 2) throw new FlagError('--to', `"${text}": write an IPv6 address in brackets, e.g. [fd00::10]:80/tcp`)
  const m = TO.exec(text)
  if (!m) throw new FlagError('--to', `"${text}" is not IP:PORT/PROTO (an IPv6 address in brackets: [fd00::10]:53/udp)`)
  const host = m[1] ?? m[2]!
  const to = ip('--to', host)
  if (!/^[1-9]\d{0,4}$/.test(m[3]!) || Number(m[3]) > 65535) throw new FlagError('--to', `port "${m[3]}" is not 1..65535`)
  const protocol = (m[4] ?? 'tcp').toLowerCase()
  if (!PROTOCOLS.includes(protocol)) throw new FlagError('--to', `protocol "${m[4]}" is not tcp, udp or sctp`)
  return { to, port: Number(m[3]), protocol: protocol as L4Protocol }
}

export function parseTraceFlags(raw: RawTraceFlags): TraceFlags {
  const from = ip('--from', raw.from)
  const dest = parseDestination(raw.to)
  if (parseIp(from).family !== parseIp(dest.to).family) throw new FlagError('--from', `${from} and --to ${dest.to} are not of one IP family`)
  if (!NODE_NAME.test(raw['node-name']) || raw['node-name'].length > 253) throw new FlagError('--node-name', `"${raw['node-name']}" is not a DNS-1123 subdomain`)
  const np = raw['nodeport-addresses']
  return {
    packet: { from, ...dest },
    nodeName: raw['node-name'],
    clusterCIDRs: raw['cluster-cidr'] === undefined ? [] : cidrs('--cluster-cidr', raw['cluster-cidr']),
    masqueradeAll: raw['masquerade-all'] === true,
    nodePortAddresses: np === undefined || np.trim() === 'primary' ? { kind: 'primary' } : { kind: 'cidrs', cidrs: cidrs('--nodeport-addresses', np) },
  }
}

export interface NodeFacts {
  /** the input of `new ProxyPlanner(config)` (src/proxy/plan/config.ts) */
  plannerConfig: {
    nodeName: string
    masqueradeAll: boolean
    families: { family: Family; clusterCIDRs: string[]; nodePortAddresses: string[] | 'local' }[]
  }
  localAddresses: string[]
}

/**
 * The families are those the node has addresses in (primary first), plus the
 * packet's; --nodeport-addresses resolves as the agent resolves it
 * (src/proxy/nodeport-addresses.ts), with the Node object's addresses standing
 * in for the node's interfaces, which the tracer cannot see from afar.
 */
export function nodeFacts(flags: TraceFlags, node: Pick<Node, 'name' | 'internalIPs' | 'externalIPs'>): NodeFacts {
  const localAddresses = [...new Set([...node.internalIPs, ...node.externalIPs])]
  const familyOf = (a: string) => parseIp(a).family
  const families: Family[] = []
  for (const f of [...localAddresses.map(familyOf), familyOf(flags.packet.to)]) if (!families.includes(f)) families.push(f)
  return {
    plannerConfig: {
      nodeName: flags.nodeName,
      masqueradeAll: flags.masqueradeAll,
      families: families.map((family) => ({
        family,
        clusterCIDRs: flags.clusterCIDRs.filter((c) => c.addr.family === family).map(formatCidr),
        nodePortAddresses: resolveNodePortAddresses(flags.nodePortAddresses, family, node.internalIPs, localAddresses).addresses,
      })),
    },
    localAddresses,
  }
}
