// Strategic merge patch as `kubectl apply` (client-side) and `kubectl patch`
// use it: maps merge, `null` deletes, lists merge by key where the Go types say
// so, and the directives `$patch` (replace, delete, merge), `$retainKeys` and
// `$deleteFromPrimitiveList/<field>` are honoured. `$setElementOrder/<field>`
// only orders elements and is dropped. The result shares nothing with the
// inputs, and inputs are never modified.
import { isObject } from '../types.ts'
import { own, refuseProtoKey } from './guard.ts'
import type { Schema } from './merge-keys.ts'

const WHERE = 'strategic merge patch'

const DELETE = Symbol('delete')

const isDirective = (k: string) => k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/') || k.startsWith('$deleteFromPrimitiveList/')

/** A patch value with every directive removed, for places where there is nothing to merge into. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch === 'delete')).map(clean)
  if (!isObject(v)) return v
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    refuseProtoKey(k, WHERE)
    if (!isDirective(k) && x !== null) out[k] = clean(x)
  }
  return out
}

function mergeMap(orig: unknown, patch: Record<string, unknown>, path: string, schema: Schema): unknown {
  const directive = own(patch, '$patch')
  if (directive === 'delete') return DELETE
  if (directive === 'replace') return clean(patch)
  const out: Record<string, unknown> = isObject(orig) ? orig : {}
  for (const [k, v] of Object.entries(patch)) {
    refuseProtoKey(k, WHERE)
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length)
      refuseProtoKey(field, WHERE)
      const cur = own(out, field)
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.includes(x))
      continue
    }
    if (isDirective(k)) continue
    const p = path ? `${path}.${k}` : k
    if (v === null) delete out[k]
    else if (Array.isArray(v)) out[k] = mergeList(own(out, k), v, p, schema)
    else if (isObject(v)) {
      const r = mergeMap(own(out, k), v, p, schema)
      if (r === DELETE) delete out[k]
      else out[k] = r
    } else out[k] = v
  }
  const retain = own(patch, '$retainKeys')
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k]
  return out
}

function mergeList(orig: unknown, patch: unknown[], path: string, schema: Schema): unknown[] {
  const rule = Object.hasOwn(schema, path) ? schema[path] : undefined
  if (!rule) return clean(patch) as unknown[]
  if (patch.some((e) => isObject(e) && e.$patch === 'replace')) return clean(patch.filter((e) => !(isObject(e) && e.$patch === 'replace'))) as unknown[]
  const result = Array.isArray(orig) ? orig : []
  const key = rule.key
  if (key === undefined) {
    for (const v of patch) if (!result.includes(v)) result.push(clean(v))
    return result
  }
  for (const el of patch) {
    if (!isObject(el)) {
      result.push(clean(el))
      continue
    }
    const idx = result.findIndex((o) => isObject(o) && own(o, key) === own(el, key))
    if (el.$patch === 'delete') {
      if (idx >= 0) result.splice(idx, 1)
      continue
    }
    if (idx >= 0) result[idx] = mergeMap(result[idx], el, path, schema)
    else result.push(clean(el))
  }
  return result
}

export function strategicMerge(original: unknown, patch: unknown, schema: Schema): unknown {
  if (!isObject(patch)) return structuredClone(patch)
  // Work on a private copy of the original, so the merge may assign in place.
  const r = mergeMap(structuredClone(original), patch, '', schema)
  return r === DELETE ? {} : r
}
