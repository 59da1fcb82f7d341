// The service proxy's metrics, under kube-proxy's names so its dashboards and
// alerts work unchanged against pontoon.
import { Counter, Gauge, Histogram, exponentialBuckets, type Registry } from 'prom-client'

export interface ProxyMetrics {
  syncDuration: Histogram
  fullSyncDuration: Histogram
  partialSyncDuration: Histogram
  networkProgramming: Histogram
  lastSync: Gauge
  lastQueued: Gauge
  serviceChanges: Counter
  endpointChanges: Counter
  ruleCounts: Gauge<'table'>
  noLocalEndpoints: Gauge<'traffic_policy'>
  syncFailures: Counter
}

export function createProxyMetrics(registry: Registry): ProxyMetrics {
  const registers = [registry]
  // kube-proxy's buckets: 1 ms doubling to ~16 s
  const buckets = exponentialBuckets(0.001, 2, 15)
  return {
    syncDuration: new Histogram({ name: 'kubeproxy_sync_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds', buckets, registers }),
    fullSyncDuration: new Histogram({ name: 'kubeproxy_sync_full_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for full resyncs', buckets, registers }),
    partialSyncDuration: new Histogram({ name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds', help: 'SyncProxyRules latency in seconds for partial resyncs', buckets, registers }),
    // kube-proxy counts from the EndpointSlice's last-change-trigger-time; pontoon from when the agent saw the change.
    networkProgramming: new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In-cluster network programming latency in seconds (from the agent receiving a change to the kernel holding it)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
    lastSync: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers }),
    lastQueued: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', registers }),
    serviceChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers }),
    endpointChanges: new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules EndpointSlice changes', registers }),
    ruleCounts: new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_rule_count', help: 'Rules (or map elements) the proxy holds after its last sync, by table or kind', labelNames: ['table'], registers }),
    noLocalEndpoints: new Gauge({ name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', help: 'Services with a Local traffic policy and no local endpoints', labelNames: ['traffic_policy'], registers }),
    syncFailures: new Counter({ name: 'pontoon_proxy_sync_failures_total', help: 'Proxy syncs the kernel refused (each forces a full resync)', registers }),
  }
}
