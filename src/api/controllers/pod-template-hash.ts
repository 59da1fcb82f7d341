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

/** A copy of the template without the pod-template-hash label, for comparing a ReplicaSet's template with a Deployment's. */
export function withoutHash(template: unknown): unknown {
  if (typeof template !== 'object' || template === null) return template
  const t = structuredClone(template) as { metadata?: { labels?: Record<string, string> } }
  if (t.metadata?.labels) {
    delete t.metadata.labels[POD_TEMPLATE_HASH]
    if (Object.keys(t.metadata.labels).length === 0) delete t.metadata.labels
  }
  return t
}

export const sameTemplate = (a: unknown, b: unknown): boolean => canonical(withoutHash(a)) === canonical(withoutHash(b))
