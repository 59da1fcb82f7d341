// WATCH: newline-delimited JSON events on one long response.
// - no resourceVersion, or "0", or sendInitialEvents=true: the current durable
//   objects as ADDED first (then a bookmark marking their end when asked);
// - from a resourceVersion: the events after it, from the history, or one
//   ERROR event carrying a 410 Expired Status when the history no longer
//   reaches back that far, or a 504 "Too large resource version" Status when
//   the server has not reached it (what kube-apiserver's watch cache does);
// - bookmarks every `bookmarkMs` when allowWatchBookmarks=true.
// Only durable events are sent. Each event's line is built once and shared by
// every watcher that needs it. A watcher that does not read is dropped once
// its unsent output passes `maxBuffered`, and watchers beyond `WatchSlots`'
// limit get 429 before any stream starts.
import type { ServerResponse } from 'node:http'
import { ApiError } from '../errors.ts'
import { apiVersionOf, type Resource } from '../resources.ts'
import type { EventType, StoreEvent } from '../store/event.ts'
import type { KObject } from '../types.ts'
import type { Store } from '../store/store.ts'
import { selectAt } from './list.ts'
import { matches, isSelective, type Filter } from './query.ts'
import { tooLargeResourceVersion, tooOldResourceVersion } from './version-errors.ts'

export interface WatchParams {
  rv: number | undefined
  bookmarks: boolean
  sendInitialEvents: boolean
  timeoutSeconds: number
  bookmarkMs: number
  /** drop a watcher whose unsent output grows beyond this many bytes */
  maxBuffered: number
  /** render each object differently (kubectl's Tables); the shared JSON is used when absent */
  render?: (o: KObject) => string
  /** told when a watcher is dropped for not reading */
  onDrop?: (bytes: number) => void
}

/** The bound on concurrent watches: beyond it a watch gets 429 TooManyRequests. */
export class WatchSlots {
  active = 0
  constructor(readonly max: number) {}

  take(): void {
    if (this.active >= this.max)
      throw new ApiError('ETOOMANYWATCHES', 429, 'TooManyRequests', `too many concurrent watches: the limit of ${this.max} is reached; retry later`, { retryAfterSeconds: 1 })
    this.active++
  }

  give(): void {
    this.active--
  }
}

type CachedEvent = StoreEvent & { lines?: Partial<Record<EventType, string>> }

function lineOf(ev: CachedEvent, type: EventType): string {
  const cache = (ev.lines ??= {})
  return (cache[type] ??= `{"type":"${type}","object":${ev.json}}\n`)
}

/** The type a filtered watcher sees: objects entering or leaving the selection look like ADDED/DELETED. */
function typeFor(f: Filter, ev: StoreEvent): EventType | undefined {
  const now = matches(f, ev.obj)
  if (ev.type !== 'MODIFIED') return now ? ev.type : undefined
  const before = ev.prev ? matches(f, ev.prev) : now
  if (now && before) return 'MODIFIED'
  if (now) return 'ADDED'
  if (before) return 'DELETED'
  return undefined
}

export function serveWatch(store: Store, res: ServerResponse, r: Resource, f: Filter, p: WatchParams, slots: WatchSlots): void {
  slots.take()
  let released = false
  const release = () => {
    if (!released) slots.give()
    released = true
  }
  res.on('close', release)
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
  res.flushHeaders()
  const selective = isSelective(f) || f.namespace !== undefined
  const current = store.resourceVersion()
  const send = (line: string) => {
    if (res.destroyed) return
    res.write(line)
    if (res.writableLength > p.maxBuffered) {
      p.onDrop?.(res.writableLength)
      res.destroy()
    }
  }
  const bookmark = (extra = '') =>
    send(`{"type":"BOOKMARK","object":{"kind":"${r.kind}","apiVersion":"${apiVersionOf(r)}","metadata":{"resourceVersion":"${store.resourceVersion()}"${extra}}}}\n`)
  const fail = (err: ApiError): void => {
    res.end(`{"type":"ERROR","object":${JSON.stringify(err.toStatus())}}\n`)
  }

  const fromStart = p.rv === undefined || p.rv === 0 || p.sendInitialEvents
  let replay: StoreEvent[] = []
  let initial: ReturnType<typeof selectAt> = []
  if (!fromStart) {
    if (p.rv! > current) return fail(tooLargeResourceVersion(p.rv!, current))
    const since = store.history.since(p.rv!)
    if (!since) return fail(tooOldResourceVersion(p.rv!, store.history.floor()))
    replay = since
  } else initial = selectAt(store, r, f, current)

  const line = (ev: StoreEvent, type: EventType) => (p.render ? `{"type":"${type}","object":${p.render(ev.obj)}}\n` : lineOf(ev, type))
  const deliver = (ev: StoreEvent) => {
    if (!selective) return send(line(ev, ev.type))
    const type = typeFor(f, ev)
    if (type) send(line(ev, type))
  }
  // Subscribing and sending what came before happen in one tick, so no event falls between them.
  const unsubscribe = store.watch(r.name, deliver)
  if (fromStart) {
    for (const e of initial ?? []) send(`{"type":"ADDED","object":${p.render ? p.render(e.obj) : e.json}}\n`)
    if (p.sendInitialEvents && p.bookmarks) bookmark(',"annotations":{"k8s.io/initial-events-end":"true"}')
  } else for (const ev of replay) if (ev.resource === r.name) deliver(ev)

  const timers: NodeJS.Timeout[] = []
  if (p.bookmarks) timers.push(setInterval(() => bookmark(), p.bookmarkMs))
  timers.push(setTimeout(() => res.end(), p.timeoutSeconds * 1000))
  res.on('close', () => {
    unsubscribe()
    for (const t of timers) clearTimeout(t)
  })
}
