// Events expire an hour after their last write, as kube-apiserver's
// --event-ttl (an etcd lease renewed on every write) makes them. Write times
// are kept in a Map in write order (a rewrite moves the key to the end), so a
// sweep looks only at the oldest entries. Events loaded at start count as
// written at their latest timestamp, never later than now.
import type { Api } from '../core.ts'
import { byName } from '../resources.ts'
import { keyOf } from '../store/event.ts'
import type { KObject } from '../types.ts'

export const EVENT_TTL_MS = 60 * 60 * 1000

export interface EventTtlOptions {
  ttlMs?: number
  /** the clock (ms since the epoch); injectable for tests */
  now?: () => number
  /** how often to sweep (ms); 0 starts no timer (tests call sweep()) */
  everyMs?: number
  log: { warn(o: object, msg: string): void }
}

/** The latest time an event says it was written, clamped to `now`. */
export function writtenAt(ev: KObject, now: number): number {
  const stamps = [ev.metadata.creationTimestamp, ev.lastTimestamp, ev.eventTime, (ev.series as { lastObservedTime?: unknown } | undefined)?.lastObservedTime]
  let best = Number.NEGATIVE_INFINITY
  for (const s of stamps) {
    const t = typeof s === 'string' ? Date.parse(s) : NaN
    if (t > best) best = t
  }
  return Number.isFinite(best) ? Math.min(best, now) : now
}

export function startEventTtl(api: Api, o: EventTtlOptions): { sweep(): number; stop(): void } {
  const ttl = o.ttlMs ?? EVENT_TTL_MS
  const now = o.now ?? Date.now
  const events = byName('events')
  const written = new Map<string, { at: number; ns: string; name: string }>()
  const note = (obj: KObject, at: number) => {
    const ns = obj.metadata.namespace ?? ''
    const name = obj.metadata.name ?? ''
    const k = keyOf(ns, name)
    written.delete(k)
    written.set(k, { at, ns, name })
  }
  const loaded = [...api.store.list('events')].map((e) => ({ obj: e.obj, at: writtenAt(e.obj, now()) })).sort((a, b) => a.at - b.at)
  for (const e of loaded) note(e.obj, e.at)
  const unsubscribe = api.store.subscribe('events', (ev) => {
    if (ev.type === 'DELETED') written.delete(keyOf(ev.obj.metadata.namespace ?? '', ev.obj.metadata.name ?? ''))
    else note(ev.obj, now())
  })

  /** Remove every event written longer than the TTL ago; returns how many went. */
  const sweep = (): number => {
    const cutoff = now() - ttl
    let removed = 0
    for (const [k, w] of written) {
      if (w.at > cutoff) break
      written.delete(k)
      try {
        api.delete(events, w.ns, w.name)
        removed++
      } catch (e) {
        // Gone already (a namespace delete took it): nothing to expire.
        if ((e as { code?: string }).code !== 'ENOTFOUND') o.log.warn({ event: k, err: e }, 'expiring an event failed')
      }
    }
    // A failed write is undone by the store (no watcher sees it); the next sweep tries again.
    if (removed) api.store.persist().catch(() => {})
    return removed
  }
  const every = o.everyMs ?? 60_000
  const timer = every > 0 ? setInterval(sweep, every).unref() : undefined
  return {
    sweep,
    stop() {
      unsubscribe()
      if (timer) clearInterval(timer)
    },
  }
}
