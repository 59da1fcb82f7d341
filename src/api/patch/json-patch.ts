// RFC 6902 JSON patch: add, remove, replace, move, copy, test.
import { badRequest, ApiError } from '../errors.ts'
import { isObject } from '../types.ts'

interface Op {
  op: string
  path: string
  from?: string
  value?: unknown
}

const fail = (msg: string) => new ApiError('EPATCH', 422, 'Invalid', msg)

function parsePointer(p: string): string[] {
  if (p === '') return []
  if (!p.startsWith('/')) throw badRequest(`invalid JSON pointer "${p}"`, 'EPATCH')
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parentOf(doc: unknown, parts: string[]): [Record<string, unknown> | unknown[], string] {
  let cur = doc
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)]
    else if (isObject(cur)) cur = cur[part]
    else cur = undefined
    if (cur === undefined) throw fail(`doc is missing path: "/${parts.join('/')}"`)
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw fail(`doc is missing path: "/${parts.join('/')}"`)
  return [cur, parts[parts.length - 1]!]
}

function get(doc: unknown, path: string): unknown {
  let cur = doc
  for (const part of parsePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(part)] : isObject(cur) ? cur[part] : undefined
    if (cur === undefined) throw fail(`doc is missing path: "${path}"`)
  }
  return cur
}

function remove(doc: unknown, path: string): unknown {
  const [parent, key] = parentOf(doc, parsePointer(path))
  if (Array.isArray(parent)) {
    const i = Number(key)
    if (!(i >= 0 && i < parent.length)) throw fail(`unable to remove nonexistent key: ${key}: missing value`)
    return parent.splice(i, 1)[0]
  }
  if (!(key in parent)) throw fail(`unable to remove nonexistent key: ${key}: missing value`)
  const v = parent[key]
  delete parent[key]
  return v
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): unknown {
  const parts = parsePointer(path)
  if (parts.length === 0) return value
  const [parent, key] = parentOf(doc, parts)
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key)
    if (!(i >= 0 && i <= parent.length) || (replace && i >= parent.length)) throw fail(`array index out of bounds: ${key}`)
    if (replace) parent[i] = value
    else parent.splice(i, 0, value)
  } else {
    if (replace && !(key in parent)) throw fail(`doc is missing key: ${path}`)
    parent[key] = value
  }
  return doc
}

export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be a list of operations', 'EPATCH')
  let cur: unknown = structuredClone(doc)
  for (const raw of ops as Op[]) {
    if (!isObject(raw) || typeof raw.path !== 'string') throw badRequest('each JSON patch operation needs "op" and "path"', 'EPATCH')
    switch (raw.op) {
      case 'add':
        cur = add(cur, raw.path, structuredClone(raw.value), false)
        break
      case 'replace':
        cur = add(cur, raw.path, structuredClone(raw.value), true)
        break
      case 'remove':
        remove(cur, raw.path)
        break
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw badRequest(`"${raw.op}" needs "from"`, 'EPATCH')
        const v = raw.op === 'move' ? remove(cur, raw.from) : structuredClone(get(cur, raw.from))
        cur = add(cur, raw.path, v, false)
        break
      }
      case 'test':
        if (JSON.stringify(get(cur, raw.path)) !== JSON.stringify(raw.value)) throw fail(`testing value ${raw.path} failed`)
        break
      default:
        throw badRequest(`unknown JSON patch operation "${String(raw.op)}"`, 'EPATCH')
    }
  }
  return cur
}
