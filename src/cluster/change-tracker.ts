// Pending changes between two syncs, per object, as kube-proxy's change trackers
// keep them: the state at the last sync and the state now. An object that went
// A -> B -> A in between is no change at all and is dropped.
import { deepEqual } from './equal.ts'

export interface Change<T> {
  key: string
  /** undefined: the object did not exist at the last sync */
  previous: T | undefined
  /** undefined: the object no longer exists */
  current: T | undefined
}

export class ChangeTracker<T> {
  private pending = new Map<string, Change<T>>()

  record(key: string, previous: T | undefined, current: T | undefined): void {
    const entry = this.pending.get(key) ?? { key, previous, current }
    entry.current = current
    if (deepEqual(entry.previous, entry.current)) this.pending.delete(key)
    else this.pending.set(key, entry)
  }

  get size(): number {
    return this.pending.size
  }

  /** Hand over every pending change and start afresh. */
  drain(): Change<T>[] {
    const out = [...this.pending.values()]
    this.pending = new Map()
    return out
  }
}
