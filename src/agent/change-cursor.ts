// One consumer's pending changes. Every consumer gets its own cursor, fed from the
// one drain of the cluster client, so a consumer that fails or lags keeps its
// changes without holding back the others. A failed sync gives its changes back
// (merged under whatever arrived meanwhile) and asks for a full resync, since part
// of the batch may have been applied.
import type { Change } from '../cluster/change-tracker.ts'
import { deepEqual } from '../cluster/equal.ts'
import type { ChangeSet } from '../cluster/snapshot.ts'

type Kind = keyof ChangeSet

const KINDS: readonly Kind[] = ['services', 'endpointSlices', 'nodes']

export class ChangeCursor {
  private pending: { [K in Kind]: Map<string, Change<ChangeSet[K][number]['current']>> } = emptyMaps()
  /** set at birth and after a failure: the next sync must look at the whole snapshot */
  fullResync = true

  get size(): number {
    return this.pending.services.size + this.pending.endpointSlices.size + this.pending.nodes.size
  }

  /** Newer changes on top of the pending ones: the oldest `previous` and the newest `current` stay. */
  add(changes: ChangeSet): void {
    for (const kind of KINDS) {
      const map = this.pending[kind] as Map<string, Change<unknown>>
      for (const c of changes[kind] as Change<unknown>[]) {
        const had = map.get(c.key)
        put(map, { key: c.key, previous: had ? had.previous : c.previous, current: c.current })
      }
    }
  }

  /** Hand over every pending change and start afresh. */
  take(): ChangeSet {
    const out = {
      services: [...this.pending.services.values()],
      endpointSlices: [...this.pending.endpointSlices.values()],
      nodes: [...this.pending.nodes.values()],
    } as ChangeSet
    this.pending = emptyMaps()
    return out
  }

  /** A batch whose sync failed goes back under the changes that arrived since it was taken. */
  giveBack(changes: ChangeSet): void {
    this.fullResync = true
    for (const kind of KINDS) {
      const map = this.pending[kind] as Map<string, Change<unknown>>
      for (const c of changes[kind] as Change<unknown>[]) {
        const newer = map.get(c.key)
        put(map, { key: c.key, previous: c.previous, current: newer ? newer.current : c.current })
      }
    }
  }
}

function put(map: Map<string, Change<unknown>>, c: Change<unknown>): void {
  if (deepEqual(c.previous, c.current)) map.delete(c.key)
  else map.set(c.key, c)
}

function emptyMaps() {
  return { services: new Map(), endpointSlices: new Map(), nodes: new Map() }
}
