// LIST, streamed: the stored JSON of each object is written as it is, in
// chunks, honouring backpressure; no object is parsed or copied.
import type { ServerResponse } from 'node:http'
import { badRequest } from '../errors.ts'
import type { Resource } from '../resources.ts'
import { apiVersionOf } from '../resources.ts'
import type { Entry } from '../store/event.ts'
import type { Store } from '../store/store.ts'
import { isSelective, matches, type Filter } from './query.ts'

const CHUNK = 64 * 1024

const keyOf = (e: Entry) => `${e.obj.metadata.namespace ?? ''}/${e.obj.metadata.name}`

export function selectEntries(store: Store, r: Resource, f: Filter): Entry[] {
  const out: Entry[] = []
  for (const e of store.list(r.name, f.namespace)) if (!isSelective(f) || matches(f, e.obj)) out.push(e)
  // Stable order: by namespace, then name, as etcd's key order gives.
  out.sort((a, b) => {
    const ka = keyOf(a)
    const kb = keyOf(b)
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  return out
}

export interface Page {
  entries: Entry[]
  continue?: string
  remaining?: number
}

/**
 * `limit` and `continue`: a page of the sorted entries, and a token naming the
 * last key served. Unlike etcd, later pages show the current state rather than
 * a snapshot at the first page's resourceVersion.
 */
export function paginate(all: Entry[], limit: number | undefined, token: string | undefined): Page {
  let start = 0
  if (token) {
    let after: unknown
    try {
      after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).after
    } catch {
      after = undefined
    }
    if (typeof after !== 'string') throw badRequest(`invalid continue token "${token}"`, 'ECONTINUE')
    while (start < all.length && keyOf(all[start]!) <= after) start++
  }
  if (!limit || start + limit >= all.length) return { entries: start ? all.slice(start) : all }
  const entries = all.slice(start, start + limit)
  const last = keyOf(entries[entries.length - 1]!)
  return { entries, continue: Buffer.from(JSON.stringify({ after: last })).toString('base64url'), remaining: all.length - start - limit }
}

export async function streamList(res: ServerResponse, r: Resource, page: Page, rv: number): Promise<void> {
  const entries = page.entries
  res.writeHead(200, { 'Content-Type': 'application/json' })
  const more = page.continue ? `,"continue":"${page.continue}","remainingItemCount":${page.remaining}` : ''
  let buf = `{"kind":"${r.kind}List","apiVersion":"${apiVersionOf(r)}","metadata":{"resourceVersion":"${rv}"${more}},"items":[`
  for (let i = 0; i < entries.length; i++) {
    buf += (i ? ',' : '') + entries[i]!.json
    if (buf.length >= CHUNK) {
      const ok = res.write(buf)
      buf = ''
      if (!ok) await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
      if (res.destroyed) return
    }
  }
  res.end(buf + ']}')
}
