// API Node -> pontoon Node: the pod CIDRs and addresses that the overlay routes to.
import { nodeSchema } from './api-schemas.ts'
import { ipFamily, tryParseCidr } from '../net/address.ts'
import type { Node } from './model.ts'
import { describeZodError, malformed, ok, type Normalized } from './normalized.ts'
import { rawObjectKey } from './object-key.ts'

const ANNOTATION_PREFIX = 'pontoon.io/'
export const ZONE_LABEL = 'topology.kubernetes.io/zone'

export function normalizeNode(obj: unknown): Normalized<Node> {
  const parsed = nodeSchema().safeParse(obj)
  if (!parsed.success) return malformed(rawObjectKey(obj), describeZodError(parsed.error))
  const node = parsed.data
  const key = node.metadata.name
  const spec = node.spec ?? {}
  const podCIDRs = spec.podCIDRs?.length ? spec.podCIDRs : spec.podCIDR ? [spec.podCIDR] : []
  for (const [i, c] of podCIDRs.entries()) {
    // A subnet field: host bits are refused, as the API refuses them.
    if (!tryParseCidr(c)) return malformed(key, `spec.podCIDRs[${i}]: "${c}" is not a subnet CIDR`)
  }
  const internalIPs: string[] = []
  const externalIPs: string[] = []
  for (const [i, a] of (node.status?.addresses ?? []).entries()) {
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') continue
    if (!ipFamily(a.address)) return malformed(key, `status.addresses[${i}].address: "${a.address}" is not an IP address`)
    ;(a.type === 'InternalIP' ? internalIPs : externalIPs).push(a.address)
  }
  const annotations: Record<string, string> = {}
  for (const [k, v] of Object.entries(node.metadata.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (k.startsWith(ANNOTATION_PREFIX)) annotations[k] = v
  }
  const readyCond = node.status?.conditions?.find((c) => c.type === 'Ready')
  return ok(key, {
    name: key,
    podCIDRs,
    internalIPs,
    externalIPs,
    ready: readyCond?.status === 'True',
    zone: node.metadata.labels?.[ZONE_LABEL] || null,
    annotations,
  })
}
