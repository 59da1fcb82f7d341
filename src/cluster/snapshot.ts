// The one input of the planners: every proxied Service, its EndpointSlices, and
// every Node, in a fixed order so that plans built from it are deterministic.
import type { Change } from './change-tracker.ts'
import { serviceKeyOf, type EndpointSlice, type Node, type Service } from './model.ts'

export interface ClusterSnapshot {
  /** by "namespace/name", sorted by key */
  services: ReadonlyMap<string, Service>
  /** by the owning Service's "namespace/name"; each list sorted by slice name */
  endpointSlicesByService: ReadonlyMap<string, readonly EndpointSlice[]>
  /** by node name, sorted */
  nodes: ReadonlyMap<string, Node>
}

export interface ChangeSet {
  services: Change<Service>[]
  endpointSlices: Change<EndpointSlice>[]
  nodes: Change<Node>[]
}

const byKey = <T>([a]: [string, T], [b]: [string, T]) => (a < b ? -1 : a > b ? 1 : 0)

export function buildSnapshot(
  services: Iterable<[string, Service]>,
  slices: Iterable<EndpointSlice>,
  nodes: Iterable<[string, Node]>,
): ClusterSnapshot {
  const grouped = new Map<string, EndpointSlice[]>()
  for (const s of slices) {
    const key = serviceKeyOf(s)
    const list = grouped.get(key)
    if (list) list.push(s)
    else grouped.set(key, [s])
  }
  for (const list of grouped.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return {
    services: new Map([...services].sort(byKey)),
    endpointSlicesByService: new Map([...grouped].sort(byKey)),
    nodes: new Map([...nodes].sort(byKey)),
  }
}

