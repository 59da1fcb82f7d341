// The agent's metrics. Names follow kube-proxy's where it has one; the cache,
// watch and per-consumer series are pontoon's own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client'

export interface AgentMetrics {
  registry: Registry
  watchEvents: Counter<'resource' | 'type'>
  relists: Counter<'resource' | 'reason'>
  watchFailures: Counter<'resource'>
  malformedObjects: Counter<'resource'>
  droppedNoopUpdates: Counter<'resource'>
  cacheObjects: Gauge<'resource'>
  synced: Gauge
  syncs: Counter<'result'>
  lastSyncTimestamp: Gauge
  consumerSyncDuration: Histogram<'consumer'>
  consumerSyncErrors: Counter<'consumer'>
  consumerLastSuccess: Gauge<'consumer'>
  consumerPendingChanges: Gauge<'consumer'>
}

export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    watchEvents: new Counter({ name: 'pontoon_watch_events_total', help: 'Watch events received, by resource and event type', labelNames: ['resource', 'type'], registers }),
    relists: new Counter({ name: 'pontoon_relists_total', help: 'Full lists of a resource: initial, or after 410 Gone', labelNames: ['resource', 'reason'], registers }),
    watchFailures: new Counter({ name: 'pontoon_watch_failures_total', help: 'List or watch failures that led to a backoff', labelNames: ['resource'], registers }),
    malformedObjects: new Counter({ name: 'pontoon_malformed_objects_total', help: 'API objects skipped because they failed validation', labelNames: ['resource'], registers }),
    droppedNoopUpdates: new Counter({ name: 'pontoon_noop_updates_total', help: 'Watch updates dropped because nothing pontoon uses changed', labelNames: ['resource'], registers }),
    cacheObjects: new Gauge({ name: 'pontoon_cache_objects', help: 'Objects in the agent cache', labelNames: ['resource'], registers }),
    synced: new Gauge({ name: 'pontoon_cache_synced', help: '1 once Services, EndpointSlices and Nodes have all listed', registers }),
    syncs: new Counter({ name: 'pontoon_syncs_total', help: 'Syncs of all consumers together, by result', labelNames: ['result'], registers }),
    lastSyncTimestamp: new Gauge({ name: 'pontoon_last_sync_timestamp_seconds', help: 'The last time any consumer completed a sync (unix seconds)', registers }),
    // kube-proxy's sync_proxy_rules_duration_seconds buckets: 1 ms doubling to ~16 s.
    consumerSyncDuration: new Histogram({ name: 'pontoon_consumer_sync_duration_seconds', help: 'Duration of one consumer sync, failed or not', labelNames: ['consumer'], buckets: exponentialBuckets(0.001, 2, 15), registers }),
    consumerSyncErrors: new Counter({ name: 'pontoon_consumer_sync_errors_total', help: 'Failed consumer syncs (each is retried with backoff)', labelNames: ['consumer'], registers }),
    consumerLastSuccess: new Gauge({ name: 'pontoon_consumer_last_success_timestamp_seconds', help: 'The last time a consumer synced successfully (unix seconds)', labelNames: ['consumer'], registers }),
    consumerPendingChanges: new Gauge({ name: 'pontoon_consumer_pending_changes', help: 'Changes waiting for a consumer\'s next successful sync', labelNames: ['consumer'], registers }),
  }
}
