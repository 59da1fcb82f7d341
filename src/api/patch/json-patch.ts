// RFC 6902 JSON patch through fast-json-patch, made strict: the document is
// worked on as a copy built of prototype-less objects, so a pointer can reach
// only the document's own members (never "constructor", "toString" or an
// object's prototype), "__proto__" is refused outright, "from" must exist, and
// array indices are plain decimal. The inputs are never modified.
import fjp from 'fast-json-patch'
import type { Operation } from 'fast-json-patch'
import { ApiError, badRequest } from '../errors.ts'
import { isObject } from '../types.ts'
import { PROTO_KEY, patchRefused } from './guard.ts'

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test'])

const fail = (i: number, msg: string) => new ApiError('EPATCH', 422, 'Invalid', `JSON patch operation ${i}: ${msg}`)

/** A deep copy whose objects have no prototype: inherited names do not exist in it. */
function bare(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(bare)
  if (!isObject(v)) return v
  const out = Object.create(null) as Record<string, unknown>
  for (const [k, x] of Object.entries(v)) {
    if (k === PROTO_KEY) throw patchRefused(`JSON patch: the key "${PROTO_KEY}" is not allowed`)
    out[k] = bare(x)
  }
  return out
}

function segments(i: number, pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw fail(i, `"${pointer}" is not a JSON pointer (it must start with "/")`)
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

const MISSING = Symbol('missing')

/** The member the pointer names, or MISSING. */
function lookup(doc: unknown, parts: string[]): unknown {
  let cur = doc
  for (const p of parts) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(p) || Number(p) >= cur.length) return MISSING
      cur = cur[Number(p)]
    } else if (isObject(cur) && Object.hasOwn(cur, p)) cur = cur[p]
    else return MISSING
  }
  return cur
}

/** JSON equality: key order does not matter, list order does. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
  if (isObject(a)) {
    if (!isObject(b)) return false
    const ka = Object.keys(a)
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]))
  }
  return a === b
}

function checkPointer(i: number, pointer: string): string[] {
  const parts = segments(i, pointer)
  if (parts.includes(PROTO_KEY)) throw patchRefused(`JSON patch operation ${i}: the path "${pointer}" names "${PROTO_KEY}", which is not allowed`)
  if (parts.some((p) => /^0\d/.test(p))) throw fail(i, `"${pointer}" has an array index with a leading zero`)
  return parts
}

export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be a list of operations', 'EPATCH')
  let cur = bare(doc)
  ops.forEach((raw, i) => {
    if (!isObject(raw) || typeof raw.path !== 'string') throw badRequest(`JSON patch operation ${i} needs "op" and "path"`, 'EPATCH')
    if (typeof raw.op !== 'string' || !OPS.has(raw.op)) throw badRequest(`JSON patch operation ${i}: unknown operation "${String(raw.op)}"`, 'EPATCH')
    const op: Record<string, unknown> = { op: raw.op, path: raw.path }
    const path = checkPointer(i, raw.path)
    if (raw.op === 'move' || raw.op === 'copy') {
      if (typeof raw.from !== 'string') throw badRequest(`JSON patch operation ${i}: "${raw.op}" needs "from"`, 'EPATCH')
      if (lookup(cur, checkPointer(i, raw.from)) === MISSING) throw fail(i, `"from" path "${raw.from}" does not exist`)
      op.from = raw.from
    }
    if (Object.hasOwn(raw, 'value')) op.value = bare(raw.value)
    if (raw.op === 'test') {
      // fast-json-patch's equality calls hasOwnProperty on the document's (prototype-less) objects.
      if (!Object.hasOwn(raw, 'value')) throw fail(i, '"test" needs "value"')
      const have = lookup(cur, path)
      if (have === MISSING) throw fail(i, `path "${raw.path}" does not exist`)
      if (!jsonEqual(have, raw.value)) throw fail(i, `testing value ${raw.path} failed`)
      return
    }
    try {
      cur = fjp.applyOperation(cur, op as unknown as Operation, true, true, true, i).newDocument
      // fast-json-patch copies with JSON.parse, which gives ordinary objects back.
      if (raw.op === 'copy') cur = bare(cur)
    } catch (e) {
      if (e instanceof fjp.JsonPatchError) {
        throw fail(i, `${e.message.split('\n')[0]} (${e.name}, path "${raw.path}")`)
      }
      throw e
    }
  })
  // Back to ordinary objects: nothing in it can be "__proto__" by now.
  return JSON.parse(JSON.stringify(cur ?? null))
}
