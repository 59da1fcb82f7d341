// The shape limits of a decoded request body, checked once at the edge, before
// any recursive code (validation, patches, JSON.stringify, structuredClone)
// walks it: V8's JSON.parse is iterative and accepts any depth, but those are
// not, and a stack overflow there would be an opaque 500. The walk here is
// iterative. A key "__proto__" is refused anywhere: no Kubernetes field, label
// or annotation key can be spelled so, and an assignment `o[k] = v` with that
// key replaces an object's prototype instead of storing a field.
import { ApiError } from '../errors.ts'

/** Deeper than any object kube-apiserver serves (a Pod nests about 12 levels). */
export const MAX_DEPTH = 100

export const HOSTILE_KEY = '__proto__'

interface Frame {
  value: unknown
  depth: number
  parent: Frame | undefined
  key: string
}

function pathOf(f: Frame): string {
  const parts: string[] = []
  for (let cur: Frame | undefined = f; cur?.parent; cur = cur.parent) parts.push(cur.key)
  return parts.length ? parts.reverse().join('.') : '(root)'
}

export const tooDeep = (max: number, at: string) =>
  new ApiError('EDEPTH', 400, 'BadRequest', `the request body nests deeper than ${max} levels (at ${at})`)

export const hostileKey = (at: string) =>
  new ApiError('EBADKEY', 400, 'BadRequest', `the request body holds the key "${HOSTILE_KEY}" (at ${at}); no object may carry it`)

/** Throws a 400 ApiError when `value` nests deeper than `maxDepth` or holds a "__proto__" key. */
export function checkBodyShape(value: unknown, maxDepth = MAX_DEPTH): void {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: '' }]
  for (let f = stack.pop(); f; f = stack.pop()) {
    const v = f.value
    if (typeof v !== 'object' || v === null) continue
    if (f.depth >= maxDepth) throw tooDeep(maxDepth, pathOf(f))
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ value: v[i], depth: f.depth + 1, parent: f, key: String(i) })
      continue
    }
    for (const k of Object.keys(v)) {
      const child: Frame = { value: (v as Record<string, unknown>)[k], depth: f.depth + 1, parent: f, key: k }
      if (k === HOSTILE_KEY) throw hostileKey(pathOf(child))
      stack.push(child)
    }
  }
}
