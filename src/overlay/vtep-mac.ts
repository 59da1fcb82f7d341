// The VTEP MAC survives restarts: remote nodes hold it in their neighbour and
// FDB entries, so a new one would black-hole traffic to this node until every
// other node re-syncs. It comes from this Node's annotation, else from a device
// already on the node, else it is new (random, locally administered, unicast).
import { randomBytes } from 'node:crypto'
import type { Node } from '../cluster/model.ts'
import type { Link } from '../netlink/index.ts'
import { ANNOTATION_VTEP_MAC, isUnicastMac } from './plan.ts'

export function chooseVtepMac(self: Node | undefined, existing: Link | undefined, random: () => Buffer = () => randomBytes(6)): string {
  const annotated = self?.annotations[ANNOTATION_VTEP_MAC]
  if (isUnicastMac(annotated)) return annotated
  if (existing?.kind === 'vxlan' && isUnicastMac(existing.mac)) return existing.mac
  const b = Buffer.from(random().subarray(0, 6))
  b[0] = (b[0]! & 0xfc) | 0x02 // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/**
 * The merge patch of annotations this node still has to publish (null removes
 * one, as a JSON merge patch does), or null when the Node already says it all.
 */
export function annotationsToPublish(self: Node, want: Record<string, string | null>): Record<string, string | null> | null {
  const out: Record<string, string | null> = {}
  for (const [k, v] of Object.entries(want)) {
    const have = self.annotations[k]
    if (v === null ? have !== undefined : have !== v) out[k] = v
  }
  return Object.keys(out).length > 0 ? out : null
}
