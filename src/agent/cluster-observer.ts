// What the agent does with the client's news: count it, and log what a person
// reading the logs needs (lists, failures with their retry time, skipped objects).
import type { Logger } from 'pino'
import type { ClusterObserver } from '../cluster/client.ts'
import type { AgentMetrics } from '../metrics/agent-metrics.ts'

export function clusterObserver(log: Logger, metrics: AgentMetrics, onSynced: () => void): ClusterObserver {
  return {
    listed(resource, reason, count) {
      metrics.relists.inc({ resource, reason })
      log.info({ resource, reason, count }, 'listed')
    },
    watchEvent(resource, type) {
      metrics.watchEvents.inc({ resource, type })
    },
    failed(resource, err, retryInMs) {
      metrics.watchFailures.inc({ resource })
      log.warn({ resource, err: errorText(err), retryInMs }, 'list/watch failed; keeping the cache and retrying')
    },
    malformed(resource, key, reason) {
      metrics.malformedObjects.inc({ resource })
      log.warn({ resource, key, reason }, 'skipped a malformed object')
    },
    stored(resource, outcome) {
      if (outcome === 'unchanged') metrics.droppedNoopUpdates.inc({ resource })
    },
    synced() {
      metrics.synced.set(1)
      log.info('cache synced: services, endpointslices and nodes have listed')
      onSynced()
    },
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message
  }
  return String(err)
}
