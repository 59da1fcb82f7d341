// The cache as JSON for /debug/snapshot: what the agent believes, for tests and people.
import type { ClusterClient } from '../cluster/client.ts'

export function cacheAsJSON(client: ClusterClient): unknown {
  return {
    synced: client.synced,
    services: Object.fromEntries(client.services.entries()),
    endpointSlices: Object.fromEntries(client.endpointSlices.entries()),
    nodes: Object.fromEntries(client.nodes.entries()),
  }
}
