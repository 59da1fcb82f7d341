// What a consumer of the sync loop is: the proxy, the overlay, the conflist
// writer, later DNS. It gets the whole snapshot and its own pending changes; a
// thrown error (or rejected promise) means "not applied": the changes come back
// at the retry, with fullResync set.
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'

export interface SyncContext {
  /** the first sync, or the first after a failure: do not trust what was applied before */
  fullResync: boolean
  /** clock ms (the agent's monotonic clock) since the oldest of these changes has waited: network programming latency counts from here */
  pendingSince: number
}

export interface SyncConsumer {
  /** the label of its metrics and logs: lower case, [a-z0-9-] */
  readonly name: string
  sync(snapshot: ClusterSnapshot, changes: ChangeSet, ctx: SyncContext): unknown
  /**
   * A cheap check, asked every `everyMs` while no sync runs, of whether someone
   * removed what the consumer wrote; true wakes the consumer at once, so a
   * deleted table comes back in about `everyMs`, not at the next sync period.
   */
  readonly drift?: DriftWatch
}

export interface DriftWatch {
  everyMs: number
  check(): Promise<boolean>
}
