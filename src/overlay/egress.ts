// Pod egress: traffic from the cluster's pod CIDRs to anywhere outside them
// (except multicast) leaves masqueraded to the node's address; pod-to-pod keeps
// its source. The agent owns this rule, not the CNI plugin (its per-pod ipMasq
// only knows the pod's own subnet and would hide pod sources from other nodes),
// and not the service proxy (it may be off, or iptables): one small nftables
// table of its own, replaced whole in one transaction at every full sync.
import { parseCidr, type Family } from '../net/address.ts'
import { Nft } from '../proxy/nftables/libnftables.ts'

export const EGRESS_TABLE = 'pontoon-egress'

const MULTICAST: Record<Family, string> = { 4: '224.0.0.0/4', 6: 'ff00::/8' }

/** The nft script that makes the table exactly this (creating it first so that the delete never fails). */
export function egressScript(clusterCIDRs: readonly string[]): string {
  const lines = [`table inet ${EGRESS_TABLE}`, `delete table inet ${EGRESS_TABLE}`]
  if (clusterCIDRs.length === 0) return lines.join('\n') + '\n'
  const rules: string[] = []
  for (const family of [4, 6] as const) {
    const cidrs = clusterCIDRs.filter((c) => parseCidr(c).addr.family === family)
    if (cidrs.length === 0) continue
    const ip = family === 4 ? 'ip' : 'ip6'
    const set = `{ ${cidrs.join(', ')} }`
    rules.push(`    ${ip} saddr ${set} ${ip} daddr != ${set} ${ip} daddr != ${MULTICAST[family]} masquerade fully-random`)
  }
  lines.push(
    `table inet ${EGRESS_TABLE} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat + 10; policy accept;',
    ...rules,
    '  }',
    '}',
  )
  return lines.join('\n') + '\n'
}

/** The table in this namespace, on one long-lived nftables context. */
export class EgressTable {
  private nft: Nft | null = null

  apply(clusterCIDRs: readonly string[]): void {
    this.nft ??= Nft.open()
    this.nft.run(egressScript(clusterCIDRs))
  }

  close(): void {
    this.nft?.close()
    this.nft = null
  }
}
