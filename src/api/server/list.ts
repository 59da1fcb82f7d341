// LIST, streamed: the stored JSON of each object is written as it is, in
// chunks, honouring backpressure; no object is parsed or copied.
import type { ServerResponse } from 'node:http'
import type { Resource } from '../resources.ts'
import { apiVersionOf } from '../resources.ts'
import type { Entry } from '../store/event.ts'
import type { Store } from '../store/store.ts'
import { isSelective, matches, type Filter } from './query.ts'

const CHUNK = 64 * 1024

export function selectEntries(store: Store, r: Resource, f: Filter): Entry[] {
  const out: Entry[] = []
  for (const e of store.list(r.name, f.namespace)) if (!isSelective(f) || matches(f, e.obj)) out.push(e)
  // Stable order: by namespace, then name, as etcd's key order gives.
  out.sort((a, b) => {
    const ka = `${a.obj.metadata.namespace ?? ''}/${a.obj.metadata.name}`
    const kb = `${b.obj.metadata.namespace ?? ''}/${b.obj.metadata.name}`
    return ka < kb ? -1 : ka > kb ? 1 : 0
  })
  return out
}

export async function streamList(res: ServerResponse, r: Resource, entries: Entry[], rv: number): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/json' })
  let buf = `{"kind":"${r.kind}List","apiVersion":"${apiVersionOf(r)}","metadata":{"resourceVersion":"${rv}"},"items":[`
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
