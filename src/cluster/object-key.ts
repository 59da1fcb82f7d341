// The cache key of a raw API object, read without trusting its shape, so that
// even a malformed object can be logged by name and dropped from the cache.
import { objectKey } from './model.ts'

export function rawObjectKey(obj: unknown): string | null {
  if (typeof obj !== 'object' || obj === null) return null
  const meta = (obj as { metadata?: unknown }).metadata
  if (typeof meta !== 'object' || meta === null) return null
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown }
  if (typeof name !== 'string' || name === '') return null
  return objectKey(typeof namespace === 'string' ? namespace : null, name)
}
