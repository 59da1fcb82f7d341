// RFC 7386 JSON merge patch. Returns a new value that shares nothing with its
// inputs; inputs are not modified.
import { isObject } from '../types.ts'
import { own, refuseProtoKey } from './guard.ts'

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch)
  const out: Record<string, unknown> = isObject(target) ? target : {}
  for (const [k, v] of Object.entries(patch)) {
    refuseProtoKey(k, 'merge patch')
    if (v === null) delete out[k]
    else out[k] = merge(own(out, k), v)
  }
  return out
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  // Work on a private copy of the target, so merge may assign in place.
  return merge(structuredClone(target), patch)
}
