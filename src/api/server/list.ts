// LIST, streamed: the stored JSON of each object is written as it is, in
// chunks, honouring backpressure; no object is parsed or copied.
// Every page of a paginated list is served at the first page's
// resourceVersion, carried in the continue token (as etcd-backed
// kube-apiserver does), so a client that pages through and then watches from
// the list's version misses nothing and keeps nothing stale. When that version
// is no longer held, the answer is 410 Expired.
import type { ServerResponse } from 'node:http'
import { badRequest } from '../errors.ts'
import type { Resource } from '../resources.ts'
import { apiVersionOf } from '../resources.ts'
import type { Entry } from '../store/event.ts'
import type { Store } from '../store/store.ts'
import { isSelective, matches, rvParam, type Filter } from './query.ts'
import { ContinueExpired, tooLargeResourceVersion, tooOldResourceVersion } from './version-errors.ts'

const CHUNK = 64 * 1024

const keyOf = (e: Entry) => `${e.obj.metadata.namespace ?? ''}/${e.obj.metadata.name}`

function select(entries: Iterable<Entry>, f: Filter): Entry[] {
  const out: Entry[] = []
  for (const e of entries) if (!isSelective(f) || matches(f, e.obj)) out.push(e)
  // Stable order: by namespace, then name, as etcd's key order gives.
  out.sort((a, b) => {
    const ka = keyOf(a)
    const kb = keyOf(b)
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  return out
}

/** The accepted entries that match, sorted (what deletecollection works on). */
export function selectEntries(store: Store, r: Resource, f: Filter): Entry[] {
  return select(store.list(r.name, f.namespace), f)
}

/** The entries that matched at durable resourceVersion `rv`, sorted; undefined when rv is too old. */
export function selectAt(store: Store, r: Resource, f: Filter, rv: number): Entry[] | undefined {
  const entries = store.listAt(r.name, f.namespace, rv)
  return entries && select(entries, f)
}

export interface Page {
  entries: Entry[]
  continue?: string
  remaining?: number
}

interface ContinueToken {
  rv: number
  after: string
}

const encodeContinue = (t: ContinueToken) => Buffer.from(JSON.stringify(t)).toString('base64url')

export function decodeContinue(token: string): ContinueToken {
  let t: Partial<ContinueToken> | undefined
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))
  } catch {
    t = undefined
  }
  if (!t || typeof t.after !== 'string' || !Number.isSafeInteger(t.rv) || t.rv! < 0) throw badRequest(`invalid continue token "${token}"`, 'ECONTINUE')
  return { rv: t.rv!, after: t.after }
}

/** `limit` and `continue`: a page of the sorted entries after key `after`, and a token naming the last key served and the version. */
export function paginate(all: Entry[], limit: number | undefined, after: string | undefined, rv: number): Page {
  let start = 0
  if (after !== undefined) while (start < all.length && keyOf(all[start]!) <= after) start++
  if (!limit || start + limit >= all.length) return { entries: start ? all.slice(start) : all }
  const entries = all.slice(start, start + limit)
  const last = keyOf(entries[entries.length - 1]!)
  return { entries, continue: encodeContinue({ rv, after: last }), remaining: all.length - start - limit }
}

/** The page a LIST asks for and the resourceVersion it is served at, from `resourceVersion`, `resourceVersionMatch`, `limit`, `continue`. */
export function listPage(store: Store, r: Resource, f: Filter, q: URLSearchParams): { page: Page; rv: number } {
  const current = store.resourceVersion()
  const want = rvParam(q)
  const limit = Number(q.get('limit') ?? '') || undefined
  const token = q.get('continue') || undefined
  if (token) {
    if (want !== undefined && want !== 0) throw badRequest('specifying resource version is not allowed when using continue', 'ECONTINUE')
    const c = decodeContinue(token)
    if (c.rv > current) throw badRequest(`invalid continue token "${token}": resourceVersion ${c.rv} is ahead of the server's ${current}`, 'ECONTINUE')
    const entries = selectAt(store, r, f, c.rv)
    if (!entries) throw new ContinueExpired(encodeContinue({ rv: current, after: c.after }))
    return { page: paginate(entries, limit, c.after, c.rv), rv: c.rv }
  }
  // Any version at or after the requested one will do (NotOlderThan), except for Exact; one not reached yet is an error.
  if (want !== undefined && want > current) throw tooLargeResourceVersion(want, current)
  const at = q.get('resourceVersionMatch') === 'Exact' && want !== undefined ? want : current
  const entries = selectAt(store, r, f, at)
  if (!entries) throw tooOldResourceVersion(at, store.oldestListable())
  return { page: paginate(entries, limit, undefined, at), rv: at }
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
