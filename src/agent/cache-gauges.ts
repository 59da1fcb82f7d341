// The built-in consumer: the cache's object counts as gauges, from the same
// snapshot the other consumers see. It also gives /healthz a sync to report
// on an agent that runs no dataplane consumer.
import type { AgentMetrics } from '../metrics/agent-metrics.ts'
import type { SyncConsumer } from './consumer.ts'

export function cacheGauges(metrics: AgentMetrics): SyncConsumer {
  return {
    name: 'cache',
    sync(snapshot) {
      let slices = 0
      for (const list of snapshot.endpointSlicesByService.values()) slices += list.length
      metrics.cacheObjects.set({ resource: 'services' }, snapshot.services.size)
      metrics.cacheObjects.set({ resource: 'endpointslices' }, slices)
      metrics.cacheObjects.set({ resource: 'nodes' }, snapshot.nodes.size)
    },
  }
}
