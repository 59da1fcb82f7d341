// The object store: one global resourceVersion counter, a map per resource,
// the history of durable events, and fan-out to subscribers.
//
// A change goes through three states. Accepted: written to the log with one
// write(2) (a failing write refuses it before memory changes) and applied in
// memory, so the next request's checks see it; controllers hear of it at once
// (`subscribe`). Durable: a group fdatasync covers it; only then does it enter
// the history, do watchers hear of it (`watch`), and does the client get its
// answer (`persist`). Or undone: the fdatasync failed, so the change is taken
// back in memory (controllers get the inverse event), cut off the log, and its
// client gets a 500. What clients read (`durableGet`, `listAt`) is durable
// state only, so no resourceVersion a client has seen can be lost in a crash.
// Stored objects are never mutated: an update stores a new object.
import type { KObject } from '../types.ts'
import { DiskWriteError, type DiskStore } from './disk.ts'
import { keyOf, type Entry, type EventType, type StoreEvent } from './event.ts'
import { History } from './history.ts'

export type Listener = (ev: StoreEvent) => void

export interface StoreOptions {
  historySize: number
  disk?: DiskStore
}

interface Pending {
  ev: StoreEvent
  key: string
  /** the durable entry this change replaced */
  before: Entry | undefined
}

interface Waiter {
  rv: number
  resolve(): void
  reject(e: Error): void
}

/** The log is in an unknown state (a failed fdatasync could not be cut off): no more writes until a restart. */
export class StoreBrokenError extends Error {
  readonly code = 'ESTOREBROKEN'
  constructor(cause: unknown) {
    super(`the store refuses writes until the server restarts: the event log could not be put back in order after a failed write (${(cause as Error)?.message ?? String(cause)})`, { cause })
    this.name = 'StoreBrokenError'
  }
}

const entryOf = (obj: KObject): Entry => ({ obj, json: JSON.stringify(obj) })

export class Store {
  /** the last accepted resourceVersion, and the last durable one (what clients may see) */
  private rv = 0
  private durableRv = 0
  private readonly maps = new Map<string, Map<string, Entry>>()
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly watchers = new Map<string, Set<Listener>>()
  readonly history: History
  private readonly disk: DiskStore | undefined
  private readonly compactAt: number
  private nextCompact: number
  /** events before this version carry no reliable `prev` (they came from before the loaded snapshot) */
  private rebuildFloor = 0
  private unsynced: Pending[] = []
  private waiters: Waiter[] = []
  private syncing = false
  private syncScheduled = false
  private closed = false
  private broken: StoreBrokenError | undefined

  constructor(opts: StoreOptions) {
    this.history = new History(opts.historySize)
    this.disk = opts.disk
    this.compactAt = Math.max(2 * opts.historySize, 20_000)
    this.nextCompact = this.compactAt
  }

  /** Load what the disk holds; resourceVersions carry on from the highest seen. */
  load(): void {
    if (!this.disk) return
    const loaded = this.disk.load()
    this.rv = loaded.snapshotRv
    for (const o of loaded.objects) this.mapOf(o.resource).set(keyOf(o.obj.metadata.namespace, o.obj.metadata.name ?? ''), { obj: o.obj, json: o.json })
    this.history.clear(loaded.events.length ? Math.min(loaded.events[0]!.rv - 1, loaded.snapshotRv) : loaded.snapshotRv)
    this.rebuildFloor = loaded.snapshotRv
    // The state before an event at or before the snapshot is the previous log event of its key, when the log has one.
    const seen = new Map<string, KObject | undefined>()
    for (const ev of loaded.events) {
      const map = this.mapOf(ev.resource)
      const key = keyOf(ev.obj.metadata.namespace, ev.obj.metadata.name ?? '')
      const rk = `${ev.resource}\0${key}`
      let prev: KObject | undefined
      if (ev.rv > loaded.snapshotRv) {
        prev = map.get(key)?.obj
        if (ev.type === 'DELETED') map.delete(key)
        else map.set(key, { obj: ev.obj, json: ev.json })
        this.rv = Math.max(this.rv, ev.rv)
      } else prev = seen.get(rk)
      seen.set(rk, ev.type === 'DELETED' ? undefined : ev.obj)
      this.history.push(prev ? { ...ev, prev } : ev)
    }
    this.durableRv = this.rv
    this.disk.open()
    if (this.disk.logLines > this.compactAt) this.compact()
  }

  /** The latest durable resourceVersion: what lists report and watches start from. */
  resourceVersion(): number {
    return this.durableRv
  }

  private mapOf(resource: string): Map<string, Entry> {
    let m = this.maps.get(resource)
    if (!m) this.maps.set(resource, (m = new Map()))
    return m
  }

  /** The accepted state of one object (what the API's checks and controllers work on). */
  get(resource: string, namespace: string | undefined, name: string): Entry | undefined {
    return this.maps.get(resource)?.get(keyOf(namespace, name))
  }

  /** The durable state of one object (what a client may read). */
  durableGet(resource: string, namespace: string | undefined, name: string): Entry | undefined {
    const key = keyOf(namespace, name)
    for (const p of this.unsynced) if (p.ev.resource === resource && p.key === key) return p.before
    return this.get(resource, namespace, name)
  }

  /** All accepted entries of a resource, optionally in one namespace. */
  *list(resource: string, namespace?: string): Iterable<Entry> {
    const m = this.maps.get(resource)
    if (!m) return
    if (!namespace) {
      yield* m.values()
      return
    }
    const prefix = `${namespace}/`
    for (const [k, e] of m) if (k.startsWith(prefix)) yield e
  }

  /** The oldest resourceVersion `listAt` can rebuild. */
  oldestListable(): number {
    return Math.max(this.history.floor(), this.rebuildFloor)
  }

  /**
   * The entries of a resource as they were at durable resourceVersion `rv`,
   * or undefined when that version is too old to rebuild (410). Built from the
   * current state by undoing, per key, every change after rv.
   */
  listAt(resource: string, namespace: string | undefined, rv: number): Entry[] | undefined {
    if (rv < this.oldestListable() || rv > this.durableRv) return undefined
    const after = this.history.since(rv)
    if (!after) return undefined
    const then = new Map<string, Entry | undefined>()
    const undo = (ev: StoreEvent, before: () => Entry | undefined) => {
      if (ev.resource !== resource) return
      const key = keyOf(ev.obj.metadata.namespace, ev.obj.metadata.name ?? '')
      if (!then.has(key)) then.set(key, before())
    }
    for (const ev of after) undo(ev, () => (ev.type === 'ADDED' || !ev.prev ? undefined : entryOf(ev.prev)))
    for (const p of this.unsynced) undo(p.ev, () => p.before)
    const prefix = namespace ? `${namespace}/` : ''
    const out: Entry[] = []
    for (const [k, e] of this.maps.get(resource) ?? []) if (k.startsWith(prefix) && !then.has(k)) out.push(e)
    for (const [k, e] of then) if (e && k.startsWith(prefix)) out.push(e)
    return out
  }

  count(resource: string): number {
    return this.maps.get(resource)?.size ?? 0
  }

  /**
   * Store `obj` (owned by the store from now on) under a new resourceVersion and
   * tell every subscriber. `type` is ADDED for a new key, MODIFIED otherwise.
   * Throws DiskWriteError (nothing changed) when the log refuses the change.
   */
  put(resource: string, obj: KObject): StoreEvent {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '')
    const map = this.mapOf(resource)
    const prev = map.get(key)
    return this.commit(resource, prev ? 'MODIFIED' : 'ADDED', obj, key, prev, (json) => map.set(key, { obj, json }))
  }

  /** Remove the object; the DELETED event carries its last state at a new resourceVersion. */
  remove(resource: string, obj: KObject): StoreEvent {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '')
    const map = this.mapOf(resource)
    return this.commit(resource, 'DELETED', obj, key, map.get(key), () => map.delete(key))
  }

  private commit(resource: string, type: EventType, obj: KObject, key: string, prev: Entry | undefined, apply: (json: string) => void): StoreEvent {
    if (this.broken) throw this.broken
    const rv = this.rv + 1
    obj.metadata.resourceVersion = String(rv)
    const json = JSON.stringify(obj)
    const ev: StoreEvent = prev ? { type, rv, resource, obj, json, prev: prev.obj } : { type, rv, resource, obj, json }
    this.disk?.append(ev)
    this.rv = rv
    apply(json)
    if (this.disk) {
      this.unsynced.push({ ev, key, before: prev })
      this.scheduleSync()
    }
    this.emit(this.listeners, ev)
    if (!this.disk) this.made(ev)
    return ev
  }

  private emit(to: Map<string, Set<Listener>>, ev: StoreEvent): void {
    const ls = to.get(ev.resource)
    if (ls) for (const l of [...ls]) l(ev)
  }

  /** The event is durable: into the history, and out to watchers. */
  private made(ev: StoreEvent): void {
    this.durableRv = ev.rv
    this.history.push(ev)
    this.emit(this.watchers, ev)
  }

  private scheduleSync(): void {
    if (this.syncing || this.syncScheduled) return
    this.syncScheduled = true
    // The next turn of the event loop: every write of this turn shares one fdatasync.
    setImmediate(() => this.runSync())
  }

  private runSync(): void {
    this.syncScheduled = false
    if (this.closed || !this.disk || this.unsynced.length === 0) return
    this.syncing = true
    const upTo = this.rv
    this.disk.sync((err) => {
      this.syncing = false
      if (this.closed) return
      // A synchronous flush (compaction) may have covered these meanwhile.
      const covered = this.unsynced.length > 0 && this.unsynced[0]!.ev.rv <= upTo
      if (err && covered) return this.undoUnsynced(err)
      this.madeUpTo(upTo)
      if (this.unsynced.length) this.scheduleSync()
      else if (this.disk!.logLines > this.nextCompact) this.compact()
    })
  }

  private madeUpTo(rv: number): void {
    let n = 0
    while (n < this.unsynced.length && this.unsynced[n]!.ev.rv <= rv) n++
    for (const p of this.unsynced.splice(0, n)) this.made(p.ev)
    this.settle()
  }

  /** Make everything accepted so far durable now (at start, before clients come); throws when that fails. */
  flush(): void {
    if (this.broken) throw this.broken
    if (!this.flushNow()) throw new DiskWriteError('fdatasync', new Error('the unsynced changes were undone'))
  }

  /** fdatasync now, on the event loop; false when it failed and the unsynced changes were undone. */
  private flushNow(): boolean {
    if (!this.disk || this.unsynced.length === 0) return true
    const upTo = this.rv
    try {
      this.disk.syncNow()
    } catch (e) {
      this.undoUnsynced(e as DiskWriteError)
      return false
    }
    this.madeUpTo(upTo)
    return true
  }

  private settle(err?: Error): void {
    const keep: Waiter[] = []
    for (const w of this.waiters) {
      if (w.rv <= this.durableRv) w.resolve()
      else if (err) w.reject(err)
      else keep.push(w)
    }
    this.waiters = keep
  }

  /** A failed fdatasync: take back every change it does not cover, newest first. Their versions stay unused. */
  private undoUnsynced(err: DiskWriteError): void {
    const undone = this.unsynced.splice(0)
    try {
      this.disk!.discardUnsynced()
    } catch (e) {
      this.broken = new StoreBrokenError(e)
    }
    for (let i = undone.length - 1; i >= 0; i--) {
      const { ev, key, before } = undone[i]!
      const map = this.mapOf(ev.resource)
      if (before) map.set(key, before)
      else map.delete(key)
      const type: EventType = !before ? 'DELETED' : ev.type === 'DELETED' ? 'ADDED' : 'MODIFIED'
      const inverse: StoreEvent = { type, rv: ev.rv, resource: ev.resource, obj: before?.obj ?? ev.obj, json: before?.json ?? ev.json, undo: true }
      if (ev.type !== 'DELETED') inverse.prev = ev.obj
      this.emit(this.listeners, inverse)
    }
    this.settle(err)
  }

  /**
   * Resolves once every change accepted so far is durable; rejects with
   * DiskWriteError when some of them could not be made durable and were undone.
   */
  persist(): Promise<void> {
    if (this.rv <= this.durableRv) return Promise.resolve()
    if (this.broken && this.unsynced.length === 0) return Promise.reject(this.broken)
    return new Promise((resolve, reject) => this.waiters.push({ rv: this.rv, resolve, reject }))
  }

  /** Hear of every accepted change at once (controllers); `ev.undo` marks a change taken back. */
  subscribe(resource: string, l: Listener): () => void {
    return this.add(this.listeners, resource, l)
  }

  /** Hear of every durable change, in order (watches). */
  watch(resource: string, l: Listener): () => void {
    return this.add(this.watchers, resource, l)
  }

  private add(to: Map<string, Set<Listener>>, resource: string, l: Listener): () => void {
    let s = to.get(resource)
    if (!s) to.set(resource, (s = new Set()))
    s.add(l)
    return () => s.delete(l)
  }

  /** Snapshot plus the kept history; only with nothing unsynced. A failure keeps the old files and tries again later. */
  compact(): void {
    if (!this.disk || !this.flushNow()) return
    const all = function* (maps: Map<string, Map<string, Entry>>) {
      for (const [resource, m] of maps) for (const e of m.values()) yield { resource, json: e.json }
    }
    try {
      this.disk.compact(this.rv, all(this.maps), this.history.tail(this.history.capacity))
      this.nextCompact = this.compactAt
    } catch {
      this.nextCompact = this.disk.logLines + Math.ceil(this.compactAt / 10)
    }
  }

  close(): void {
    if (this.closed) return
    this.flushNow()
    this.closed = true
    this.disk?.close()
  }
}
