// The pod-template-hash label that names a Deployment's ReplicaSets: FNV-1a
// (32 bit) of the template, plus the collision count when there is one, written
// as kube-controller-manager writes it (the decimal digits through
// rand.SafeEncodeString's alphabet, so no vowels make words).
import { canonical } from '../canonical-json.ts'

export const POD_TEMPLATE_HASH = 'pod-template-hash'
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h >>> 0
}

export function safeEncode(s: string): string {
  return Array.from(s, (c) => ALPHABET[c.charCodeAt(0) % ALPHABET.length]).join('')
}

/** The hash of a template (without any pod-template-hash label of its own) and collision count. */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonical(withoutHash(template)) + (collisionCount > 0 ? `#${collisionCount}` : '')
  return safeEncode(String(fnv1a32(text)))
}

/**
 * A copy of the template without the pod-template-hash label, and without
 * nulls and empty maps or lists: a client that went through Go types sends
 * `creationTimestamp: null` and `resources: {}` where another sent nothing,
 * and both mean the same template (kubectl rollout undo does this).
 */
export function withoutHash(template: unknown): unknown {
  const t = prune(template) as { metadata?: { labels?: Record<string, string> } } | undefined
  if (t?.metadata?.labels) {
    delete t.metadata.labels[POD_TEMPLATE_HASH]
    return prune(t)
  }
  return t
}

function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune)
  if (typeof v !== 'object' || v === null) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    const p = prune(x)
    if (p === null || p === undefined) continue
    if (typeof p === 'object' && (Array.isArray(p) ? p.length === 0 : Object.keys(p).length === 0)) continue
    out[k] = p
  }
  return out
}

export const sameTemplate = (a: unknown, b: unknown): boolean => canonical(withoutHash(a)) === canonical(withoutHash(b))
