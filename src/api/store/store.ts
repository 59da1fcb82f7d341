// The object store: one global resourceVersion counter, a map per resource,
// the event history, and synchronous fan-out to subscribers (watches and
// controllers). Stored objects are never mutated: an update stores a new object.
import type { KObject } from '../types.ts'
import type { DiskStore } from './disk.ts'
import { keyOf, type Entry, type EventType, type StoreEvent } from './event.ts'
import { History } from './history.ts'

export type Listener = (ev: StoreEvent) => void

export interface StoreOptions {
  historySize: number
  disk?: DiskStore
}

export class Store {
  private rv = 0
  private readonly maps = new Map<string, Map<string, Entry>>()
  private readonly listeners = new Map<string, Set<Listener>>()
  readonly history: History
  private readonly disk: DiskStore | undefined
  private readonly compactAt: number

  constructor(opts: StoreOptions) {
    this.history = new History(opts.historySize)
    this.disk = opts.disk
    this.compactAt = Math.max(2 * opts.historySize, 20_000)
  }

  /** Load what the disk holds; resourceVersions carry on from the highest seen. */
  load(): void {
    if (!this.disk) return
    const loaded = this.disk.load()
    this.rv = loaded.snapshotRv
    for (const o of loaded.objects) this.mapOf(o.resource).set(keyOf(o.obj.metadata.namespace, o.obj.metadata.name ?? ''), { obj: o.obj, json: o.json })
    for (const ev of loaded.events) {
      const map = this.mapOf(ev.resource)
      const key = keyOf(ev.obj.metadata.namespace, ev.obj.metadata.name ?? '')
      const prev = map.get(key)?.obj
      if (ev.rv > loaded.snapshotRv) {
        if (ev.type === 'DELETED') map.delete(key)
        else map.set(key, { obj: ev.obj, json: ev.json })
        this.rv = Math.max(this.rv, ev.rv)
      }
      this.history.push(prev ? { ...ev, prev } : ev)
    }
    this.disk.open()
    if (this.disk.logLines > this.compactAt) this.compact()
  }

  resourceVersion(): number {
    return this.rv
  }

  private mapOf(resource: string): Map<string, Entry> {
    let m = this.maps.get(resource)
    if (!m) this.maps.set(resource, (m = new Map()))
    return m
  }

  get(resource: string, namespace: string | undefined, name: string): Entry | undefined {
    return this.maps.get(resource)?.get(keyOf(namespace, name))
  }

  /** All entries of a resource, optionally in one namespace. */
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

  count(resource: string): number {
    return this.maps.get(resource)?.size ?? 0
  }

  /**
   * Store `obj` (owned by the store from now on) under a new resourceVersion and
   * tell every subscriber. `type` is ADDED for a new key, MODIFIED otherwise.
   */
  put(resource: string, obj: KObject): StoreEvent {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '')
    const map = this.mapOf(resource)
    const prev = map.get(key)?.obj
    return this.commit(resource, prev ? 'MODIFIED' : 'ADDED', obj, prev, (json) => map.set(key, { obj, json }))
  }

  /** Remove the object; the DELETED event carries its last state at a new resourceVersion. */
  remove(resource: string, obj: KObject): StoreEvent {
    const key = keyOf(obj.metadata.namespace, obj.metadata.name ?? '')
    const map = this.mapOf(resource)
    const prev = map.get(key)?.obj
    return this.commit(resource, 'DELETED', obj, prev, () => map.delete(key))
  }

  private commit(resource: string, type: EventType, obj: KObject, prev: KObject | undefined, apply: (json: string) => void): StoreEvent {
    const rv = ++this.rv
    obj.metadata.resourceVersion = String(rv)
    const json = JSON.stringify(obj)
    const ev: StoreEvent = prev ? { type, rv, resource, obj, json, prev } : { type, rv, resource, obj, json }
    apply(json)
    this.disk?.append(ev)
    this.history.push(ev)
    if (this.disk && this.disk.logLines > this.compactAt) this.compact()
    const ls = this.listeners.get(resource)
    if (ls) for (const l of ls) l(ev)
    return ev
  }

  /** Put every change so far into the log file before a client hears it happened. */
  persist(): void {
    this.disk?.write()
  }

  subscribe(resource: string, l: Listener): () => void {
    let s = this.listeners.get(resource)
    if (!s) this.listeners.set(resource, (s = new Set()))
    s.add(l)
    return () => s.delete(l)
  }

  compact(): void {
    if (!this.disk) return
    const all = function* (maps: Map<string, Map<string, Entry>>) {
      for (const [resource, m] of maps) for (const e of m.values()) yield { resource, json: e.json }
    }
    this.disk.compact(this.rv, all(this.maps), this.history.tail(this.history.capacity))
  }

  close(): void {
    this.disk?.close()
  }
}
