// --nodeport-addresses: which of the node's addresses serve NodePorts. "primary"
// (kube-proxy's nftables default) means the node's InternalIPs from its Node
// object; CIDRs mean the node's own interface addresses inside them; a CIDR that
// covers a whole family (0.0.0.0/0, ::/0) means every local address.
import { contains, formatIp, parseCidr, parseIp, tryParseIp, type Cidr, type Family } from '../net/address.ts'

export type NodePortAddressesFlag = { kind: 'primary' } | { kind: 'cidrs'; cidrs: Cidr[] }

export class NodePortAddressesError extends Error {
  readonly code = 'BAD_NODEPORT_ADDRESSES'
}

export function parseNodePortAddresses(text: string): NodePortAddressesFlag {
  const value = text.trim()
  if (value === 'primary') return { kind: 'primary' }
  if (value === '') throw new NodePortAddressesError('--nodeport-addresses: empty; give "primary" or a comma-separated list of CIDRs')
  const cidrs = value.split(',').map((part, i) => {
    try {
      return parseCidr(part.trim())
    } catch (e) {
      throw new NodePortAddressesError(`--nodeport-addresses: item ${i + 1} "${part}": ${(e as Error).message}`, { cause: e })
    }
  })
  return { kind: 'cidrs', cidrs }
}

/**
 * The NodePort addresses of one family, or "local" for every local address.
 * `primary` falls back to "local" when the Node object lists no InternalIP of
 * that family (else NodePorts would serve nowhere), and says so in `note`.
 */
export function resolveNodePortAddresses(
  flag: NodePortAddressesFlag,
  family: Family,
  nodeInternalIPs: readonly string[],
  localAddresses: readonly string[],
): { addresses: string[] | 'local'; note?: string } {
  if (flag.kind === 'primary') {
    const own = nodeInternalIPs.flatMap((ip) => {
      const a = tryParseIp(ip)
      return a && a.family === family ? [formatIp(a)] : []
    })
    if (own.length > 0) return { addresses: own }
    return { addresses: 'local', note: `the Node lists no IPv${family} InternalIP: NodePorts serve on every local address` }
  }
  const cidrs = flag.cidrs.filter((c) => c.addr.family === family)
  if (cidrs.some((c) => c.prefix === 0)) return { addresses: 'local' }
  const picked = new Set<string>()
  for (const text of localAddresses) {
    const a = parseIp(text.split('/')[0])
    if (a.family === family && cidrs.some((c) => contains(c, a))) picked.add(formatIp(a))
  }
  return { addresses: [...picked].sort() }
}
