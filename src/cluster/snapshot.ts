// The one input of the planners: every proxied Service, its EndpointSlices, and
// every Node. A snapshot is immutable: a consumer may hold it across awaits while
// the cache moves on. It is kept up to date change by change (SnapshotIndex), so
// at 10,000 Services one endpoint change costs that slice's Service and a few
// trie nodes, not a rebuild and re-sort of every map: the proxy's budget from API
// write to kernel is 10 ms at p99. Maps iterate in no particular order; a
// planner that needs one sorts what it reads.
import type { Change } from './change-tracker.ts'
import { objectKey, serviceKeyOf, type EndpointSlice, type Node, type Service } from './model.ts'
import { PersistentMap } from './persistent-map.ts'

/** What the index needs of a slice: its name and its owning Service. */
export type SliceIdentity = Pick<EndpointSlice, 'namespace' | 'name' | 'serviceName'>

/**
 * S and E are the proxy's Service and EndpointSlice unless a client was built
 * with other normalisers (cluster DNS keeps headless and ExternalName Services).
 */
export interface ClusterSnapshot<S = Service, E extends SliceIdentity = EndpointSlice> {
  /** by "namespace/name" */
  services: ReadonlyMap<string, S>
  /** by the owning Service's "namespace/name"; each list sorted by slice name, never empty */
  endpointSlicesByService: ReadonlyMap<string, readonly E[]>
  /** by node name */
  nodes: ReadonlyMap<string, Node>
}

export interface ChangeSet<S = Service, E = EndpointSlice> {
  services: Change<S>[]
  endpointSlices: Change<E>[]
  nodes: Change<Node>[]
}

const byName = (a: SliceIdentity, b: SliceIdentity) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/**
 * The snapshot, maintained from the stores' changes. Its maps are persistent
 * (set returns a new map sharing all untouched structure), so snapshot() is O(1)
 * and no snapshot handed out ever sees a later change.
 */
export class SnapshotIndex<S = Service, E extends SliceIdentity = EndpointSlice> {
  private services = PersistentMap.of<S>()
  private nodes = PersistentMap.of<Node>()
  private slicesByService = PersistentMap.of<readonly E[]>()
  private last: ClusterSnapshot<S, E> | null = null

  service(key: string, _previous: S | undefined, current: S | undefined): void {
    this.services = current === undefined ? this.services.delete(key) : this.services.set(key, current)
    this.last = null
  }

  node(key: string, _previous: Node | undefined, current: Node | undefined): void {
    this.nodes = current === undefined ? this.nodes.delete(key) : this.nodes.set(key, current)
    this.last = null
  }

  endpointSlice(key: string, previous: E | undefined, current: E | undefined): void {
    // A relabelled slice moves from one Service to another: both lists change.
    const from = previous && serviceKeyOf(previous)
    const to = current && serviceKeyOf(current)
    if (from !== undefined && from !== to) this.republish(from, key, undefined)
    if (to !== undefined) this.republish(to, key, current)
    this.last = null
  }

  snapshot(): ClusterSnapshot<S, E> {
    this.last ??= { services: this.services, endpointSlicesByService: this.slicesByService, nodes: this.nodes }
    return this.last
  }

  /**
   * A fresh list for one Service, built from its last one (a Service has a few
   * slices): lists already handed out are never changed.
   */
  private republish(svc: string, key: string, slice: E | undefined): void {
    const list = (this.slicesByService.get(svc) ?? []).filter((s) => objectKey(s.namespace, s.name) !== key)
    if (slice) list.push(slice)
    this.slicesByService = list.length === 0
      ? this.slicesByService.delete(svc)
      : this.slicesByService.set(svc, Object.freeze(list.sort(byName)))
  }
}

/** A snapshot of whole collections at once (test fixtures, tools): the same index, fed every object. */
export function buildSnapshot<S = Service, E extends SliceIdentity = EndpointSlice>(
  services: Iterable<[string, S]>,
  slices: Iterable<E>,
  nodes: Iterable<[string, Node]>,
): ClusterSnapshot<S, E> {
  const index = new SnapshotIndex<S, E>()
  for (const [k, s] of services) index.service(k, undefined, s)
  for (const s of slices) index.endpointSlice(objectKey(s.namespace, s.name), undefined, s)
  for (const [k, n] of nodes) index.node(k, undefined, n)
  return index.snapshot()
}
