// The typed cache of one resource. Raw API objects go in; only normalised values
// are kept. Updates that change nothing pontoon uses are dropped here, real
// changes are handed to the change tracker, and a malformed object is reported
// and skipped: the cache keeps the last good version, and nothing throws.
import { ChangeTracker } from './change-tracker.ts'
import { deepEqual } from './equal.ts'
import type { Normalized } from './normalized.ts'
import { rawObjectKey } from './object-key.ts'

export type StoreOutcome = 'added' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'malformed'

export interface StoreObserver {
  malformed(key: string | null, reason: string): void
}

export class ObjectStore<T> {
  private items = new Map<string, T>()
  private listing: Set<string> | null = null
  readonly tracker = new ChangeTracker<T>()

  constructor(
    private readonly normalize: (obj: unknown) => Normalized<T>,
    private readonly observer: StoreObserver,
  ) {}

  /** An ADDED or MODIFIED event, or one item of a list. */
  upsert(obj: unknown): StoreOutcome {
    let n: Normalized<T>
    try {
      n = this.normalize(obj)
    } catch (e) {
      // A normaliser bug must not take the agent down either.
      n = { kind: 'malformed', key: rawObjectKey(obj), reason: `normaliser failed: ${(e as Error).message}` }
    }
    if (n.kind === 'malformed') {
      this.observer.malformed(n.key, n.reason)
      return 'malformed'
    }
    if (n.kind === 'ignored') return this.removeKey(n.key)
    const prev = this.items.get(n.key)
    if (prev !== undefined && deepEqual(prev, n.value)) return 'unchanged'
    this.items.set(n.key, n.value)
    this.tracker.record(n.key, prev, n.value)
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
   * A full list, page by page: everything not in it is gone once it ends.
   * Malformed items keep their last good version.
   */
  beginReplace(): void {
    this.listing = new Set()
  }

  replacePage(objs: readonly unknown[]): void {
    for (const obj of objs) {
      const key = rawObjectKey(obj)
      if (key !== null) this.listing?.add(key)
      this.upsert(obj)
    }
  }

  /** Returns how many objects the list removed. */
  endReplace(): number {
    const seen = this.listing
    this.listing = null
    if (!seen) return 0
    let removed = 0
    for (const key of [...this.items.keys()]) {
      if (!seen.has(key) && this.removeKey(key) === 'removed') removed++
    }
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

  private removeKey(key: string): StoreOutcome {
    const prev = this.items.get(key)
    if (prev === undefined) return 'absent'
    this.items.delete(key)
    this.tracker.record(key, prev, undefined)
    return 'removed'
  }
}
