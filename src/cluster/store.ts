// The typed cache of one resource. Raw API objects go in; only normalised values
// are kept. Updates that change nothing pontoon uses are dropped here, real
// changes are handed to the change tracker, and a malformed object is reported
// and skipped: the cache keeps the last good version, and nothing throws.
import { ChangeTracker } from './change-tracker.ts'
import { deepEqual } from './equal.ts'
import type { Normalized } from './normalized.ts'
import { rawObjectKey } from './object-key.ts'

export type StoreOutcome = 'added' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'malformed'

export interface StoreObserver<T = unknown> {
  malformed(key: string | null, reason: string): void
  /** every change to the cache, as the change tracker sees it (the snapshot index follows them) */
  changed?(key: string, previous: T | undefined, current: T | undefined): void
}

export class ObjectStore<T> {
  private items = new Map<string, T>()
  private staging: Map<string, T> | null = null
  readonly tracker = new ChangeTracker<T>()

  constructor(
    private readonly normalize: (obj: unknown) => Normalized<T>,
    private readonly observer: StoreObserver<T>,
  ) {}

  /** An ADDED or MODIFIED event, or one item of a list. */
  upsert(obj: unknown): StoreOutcome {
    const n = this.normalizeSafe(obj)
    if (n.kind === 'malformed') {
      this.observer.malformed(n.key, n.reason)
      return 'malformed'
    }
    if (n.kind === 'ignored') return this.removeKey(n.key)
    const prev = this.items.get(n.key)
    if (prev !== undefined && deepEqual(prev, n.value)) return 'unchanged'
    this.items.set(n.key, n.value)
    this.record(n.key, prev, n.value)
    return prev === undefined ? 'added' : 'updated'
  }

  /** A DELETED event: only the object's name is trusted. */
  remove(obj: unknown): StoreOutcome {
    const key = rawObjectKey(obj)
    if (key === null) {
      this.observer.malformed(null, 'metadata.name: missing in a DELETED event')
      return 'malformed'
    }
    return this.removeKey(key)
  }

  /**
   * A full list, page by page, staged beside the cache and swapped in whole at
   * its end: until then readers see the old state, never half of a relist.
   * Everything not in the list is gone once it ends; malformed items keep
   * their last good version.
   */
  beginReplace(): void {
    this.staging = new Map()
  }

  replacePage(objs: readonly unknown[]): void {
    const staging = this.staging
    if (!staging) throw new Error('replacePage outside beginReplace/endReplace')
    for (const obj of objs) {
      const n = this.normalizeSafe(obj)
      if (n.kind === 'malformed') {
        this.observer.malformed(n.key, n.reason)
        const last = n.key === null ? undefined : this.items.get(n.key)
        if (n.key !== null && last !== undefined) staging.set(n.key, last)
        continue
      }
      if (n.kind === 'ignored') {
        staging.delete(n.key)
        continue
      }
      // An unchanged object keeps its cached instance: no change, no new garbage kept.
      const prev = this.items.get(n.key)
      staging.set(n.key, prev !== undefined && deepEqual(prev, n.value) ? prev : n.value)
    }
  }

  /** Swaps the staged list in and records what it changed. Returns how many objects the list removed. */
  endReplace(): number {
    const next = this.staging
    this.staging = null
    if (!next) return 0
    let removed = 0
    for (const [key, prev] of this.items) {
      if (!next.has(key)) {
        this.record(key, prev, undefined)
        removed++
      }
    }
    for (const [key, value] of next) {
      const prev = this.items.get(key)
      if (prev !== value) this.record(key, prev, value)
    }
    this.items = next
    return removed
  }

  replace(objs: readonly unknown[]): number {
    this.beginReplace()
    this.replacePage(objs)
    return this.endReplace()
  }

  get(key: string): T | undefined {
    return this.items.get(key)
  }

  get size(): number {
    return this.items.size
  }

  values(): IterableIterator<T> {
    return this.items.values()
  }

  entries(): IterableIterator<[string, T]> {
    return this.items.entries()
  }

  private normalizeSafe(obj: unknown): Normalized<T> {
    try {
      return this.normalize(obj)
    } catch (e) {
      // A normaliser bug must not take the agent down either.
      return { kind: 'malformed', key: rawObjectKey(obj), reason: `normaliser failed: ${(e as Error).message}` }
    }
  }

  private record(key: string, previous: T | undefined, current: T | undefined): void {
    this.tracker.record(key, previous, current)
    this.observer.changed?.(key, previous, current)
  }

  private removeKey(key: string): StoreOutcome {
    const prev = this.items.get(key)
    if (prev === undefined) return 'absent'
    this.items.delete(key)
    this.record(key, prev, undefined)
    return 'removed'
  }
}
