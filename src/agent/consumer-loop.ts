// One consumer's own sync loop: its cursor, its bounded-frequency runner (so its
// own backoff after a failure), its metrics and its health. Nothing here waits on
// another consumer: a slow sync delays only its own next run.
import type { Logger } from 'pino'
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'
import type { AgentMetrics } from '../metrics/agent-metrics.ts'
import { BoundedFrequencyRunner, type BoundedRunnerOptions } from './bounded-runner.ts'
import { ChangeCursor } from './change-cursor.ts'
import type { Clock, Timer } from './clock.ts'
import type { DriftWatch, SyncConsumer } from './consumer.ts'
import type { ConsumerHealth } from './health.ts'

export interface ConsumerLoopDeps {
  /** false until every resource has listed: nothing is programmed from a partial view */
  synced(): boolean
  /** move the client's new changes into every cursor (so this run's changes match its snapshot) */
  pull(): void
  snapshot(): ClusterSnapshot
  clock: Clock
  wallNow: () => number
  metrics: AgentMetrics
  log: Logger
  runner: Omit<BoundedRunnerOptions, 'clock' | 'onError'>
}

export class ConsumerLoop {
  private readonly cursor = new ChangeCursor()
  private readonly runner: BoundedFrequencyRunner
  private waitingSince: number | null = null
  private lastSuccess: number | null = null
  private syncing = false
  private stopped = true
  private driftTimer: Timer | null = null

  constructor(private readonly consumer: SyncConsumer, private readonly deps: ConsumerLoopDeps) {
    this.runner = new BoundedFrequencyRunner(() => this.syncOnce(), {
      ...deps.runner,
      clock: deps.clock,
      onError: () => { /* counted and logged in syncOnce; the runner backs off */ },
    })
  }

  get name(): string {
    return this.consumer.name
  }

  start(): void {
    this.stopped = false
    this.runner.start()
    this.armDrift()
  }

  stop(): void {
    this.stopped = true
    this.runner.stop()
    this.driftTimer?.cancel()
    this.driftTimer = null
  }

  /** New changes from the client. */
  offer(changes: ChangeSet): void {
    this.cursor.add(changes)
    this.deps.metrics.consumerPendingChanges.set({ consumer: this.name }, this.cursor.size)
    if (this.cursor.size > 0) {
      this.markWaiting()
      this.runner.run()
    } else if (!this.cursor.fullResync) {
      this.waitingSince = null // what waited has been undone since: nothing is late
    }
  }

  /** The cache has synced (or the caller wants a run): sync soon, even with no changes. */
  wake(): void {
    if (this.cursor.fullResync || this.cursor.size > 0) this.markWaiting()
    this.runner.run()
  }

  health(): ConsumerHealth {
    return { name: this.name, lastSuccess: this.lastSuccess, waitingSince: this.waitingSince }
  }

  // The wait counts from when the consumer could have run: a long initial list is
  // the cache's delay (healthz says "not synced"), not a stuck consumer.
  private markWaiting(): void {
    if (this.waitingSince === null && this.deps.synced()) this.waitingSince = this.deps.clock.now()
  }

  private armDrift(): void {
    const watch = this.consumer.drift
    if (!watch || this.stopped || this.driftTimer) return
    this.driftTimer = this.deps.clock.setTimer(() => { void this.checkDrift(watch) }, watch.everyMs)
  }

  // Not while a sync runs (it asks its own canary), nor before the cache has
  // synced (nothing is ours yet). A check that fails wakes the consumer too: its
  // sync meets the same failure and reports it, with the runner's backoff.
  private async checkDrift(watch: DriftWatch): Promise<void> {
    this.driftTimer = null
    try {
      if (!this.syncing && this.deps.synced() && await watch.check()) this.runner.run()
    } catch {
      this.runner.run()
    } finally {
      this.armDrift()
    }
  }

  private async syncOnce(): Promise<void> {
    if (!this.deps.synced()) return
    this.deps.pull()
    const fullResync = this.cursor.fullResync
    this.cursor.fullResync = false
    const changes = this.cursor.take()
    const label = { consumer: this.name }
    this.deps.metrics.consumerPendingChanges.set(label, 0)
    const start = this.deps.clock.now()
    // Changes that arrive during this run start their own wait.
    const waitedSince = this.waitingSince ?? start
    this.waitingSince = null
    this.syncing = true
    try {
      await this.consumer.sync(this.deps.snapshot(), changes, { fullResync, pendingSince: waitedSince })
    } catch (err) {
      this.cursor.giveBack(changes)
      this.waitingSince = Math.min(waitedSince, this.waitingSince ?? waitedSince)
      this.deps.metrics.consumerPendingChanges.set(label, this.cursor.size)
      this.deps.metrics.consumerSyncErrors.inc(label)
      this.deps.metrics.syncs.inc({ result: 'error' })
      this.deps.log.warn({ consumer: this.name, err: (err as Error)?.message ?? String(err), failures: this.runner.consecutiveFailures + 1 },
        'consumer sync failed; its changes are kept and retried with backoff')
      throw err
    } finally {
      this.syncing = false
      this.deps.metrics.consumerSyncDuration.observe(label, (this.deps.clock.now() - start) / 1000)
    }
    this.lastSuccess = this.deps.wallNow()
    this.deps.metrics.consumerLastSuccess.set(label, this.lastSuccess / 1000)
    this.deps.metrics.lastSyncTimestamp.set(this.lastSuccess / 1000)
    this.deps.metrics.syncs.inc({ result: 'ok' })
  }
}
