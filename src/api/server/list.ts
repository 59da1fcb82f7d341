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
  // Each key is built once, not twice per comparison (10,000 Services sort in a few ms).
  const keyed: Array<{ key: string; e: Entry }> = []
  for (const e of entries) if (!isSelective(f) || matches(f, e.obj)) keyed.push({ key: keyOf(e), e })
  // Stable order: by namespace, then name, as etcd's key order gives.
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return keyed.map((k) => k.e)
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
  // The first entry after `after`: all is sorted by key, so a binary search finds it.
  let start = 0
  if (after !== undefined) {
    let hi = all.length
    while (start < hi) {
      const mid = (start + hi) >>> 1
      if (keyOf(all[mid]!) <= after) start = mid + 1
      else hi = mid
    }
  }
  if (!limit || start + limit >= all.length) return { entries: start ? all.slice(start) : all }
  const entries = all.slice(start, start + limit)
  const last = keyOf(entries[entries.length - 1]!)
  return { entries, continue: encodeContinue({ rv, after: last }), remaining: all.length - start - limit }
}

/**
 * The sorted selections of paginated lists still being paged through, per store,
 * so that a client reading 20 pages does not make the server select and sort the
 * whole resource 20 times. A selection at a durable resourceVersion never
 * changes (stored objects are never mutated), so reusing it serves exactly what
 * selectAt would; only whether that version can still be served (410) is asked
 * again. A few lists at a time, the oldest dropped first.
 */
const MAX_CACHED_SELECTIONS = 4
const selections = new WeakMap<Store, Map<string, Entry[]>>()

/** The selection at rv for a page of a LIST, and `keep(page)`: remember it while more pages are to come. */
function selectAtForPages(store: Store, r: Resource, f: Filter, q: URLSearchParams, rv: number): { entries: Entry[] | undefined; keep: (page: Page) => Page } {
  const key = `${r.name}\0${f.namespace ?? ''}\0${q.get('labelSelector') ?? ''}\0${q.get('fieldSelector') ?? ''}\0${rv}`
  let cache = selections.get(store)
  if (!cache) selections.set(store, (cache = new Map()))
  const hit = cache.get(key)
  cache.delete(key)
  const entries = hit && rv >= store.oldestListable() ? hit : selectAt(store, r, f, rv)
  const keep = (page: Page) => {
    if (entries && page.continue) {
      cache.set(key, entries)
      while (cache.size > MAX_CACHED_SELECTIONS) cache.delete(cache.keys().next().value as string)
    }
    return page
  }
  return { entries, keep }
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
    const { entries, keep } = selectAtForPages(store, r, f, q, c.rv)
    if (!entries) throw new ContinueExpired(encodeContinue({ rv: current, after: c.after }))
    return { page: keep(paginate(entries, limit, c.after, c.rv)), rv: c.rv }
  }
  // Any version at or after the requested one will do (NotOlderThan), except for Exact; one not reached yet is an error.
  if (want !== undefined && want > current) throw tooLargeResourceVersion(want, current)
  const at = q.get('resourceVersionMatch') === 'Exact' && want !== undefined ? want : current
  const { entries, keep } = selectAtForPages(store, r, f, q, at)
  if (!entries) throw tooOldResourceVersion(at, store.oldestListable())
  return { page: keep(paginate(entries, limit, undefined, at)), rv: at }
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
