// The seam between the cluster cache and the consumers: one drain of the client's
// change trackers, fanned out to every consumer's own cursor, and one snapshot per
// state of the cache shared by whichever consumers run on it.
import type { Logger } from 'pino'
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'
import type { AgentMetrics } from '../metrics/agent-metrics.ts'
import type { BoundedRunnerOptions } from './bounded-runner.ts'
import type { Clock } from './clock.ts'
import { ConsumerLoop } from './consumer-loop.ts'
import type { SyncConsumer } from './consumer.ts'
import type { ConsumerHealth } from './health.ts'

/** What the hub needs of the cluster client. */
export interface ChangeSource {
  readonly synced: boolean
  drainChanges(): ChangeSet
  snapshot(): ClusterSnapshot
}

export interface ConsumerHubOptions {
  source: ChangeSource
  consumers: readonly SyncConsumer[]
  clock: Clock
  wallNow?: () => number
  metrics: AgentMetrics
  log: Logger
  runner: Omit<BoundedRunnerOptions, 'clock' | 'onError'>
  /** sees every drained batch once (the agent logs it) */
  onChanges?: (changes: ChangeSet) => void
}

export class DuplicateConsumerError extends Error {
  readonly code = 'EDUPCONSUMER'
}

export class ConsumerHub {
  private readonly loops: ConsumerLoop[]
  private version = 0
  private cached: { version: number; snapshot: ClusterSnapshot } | null = null

  constructor(private readonly opts: ConsumerHubOptions) {
    const names = new Set<string>()
    for (const c of opts.consumers) {
      if (names.has(c.name)) throw new DuplicateConsumerError(`two sync consumers are named "${c.name}"`)
      names.add(c.name)
    }
    this.loops = opts.consumers.map((c) => new ConsumerLoop(c, {
      synced: () => opts.source.synced,
      pull: () => this.pull(),
      snapshot: () => this.snapshot(),
      clock: opts.clock,
      wallNow: opts.wallNow ?? Date.now,
      metrics: opts.metrics,
      log: opts.log,
      runner: opts.runner,
    }))
  }

  start(): void {
    for (const l of this.loops) l.start()
  }

  stop(): void {
    for (const l of this.loops) l.stop()
  }

  /** Move the client's pending changes into every consumer's cursor and wake those with work. */
  pull(): void {
    const changes = this.opts.source.drainChanges()
    if (changes.services.length + changes.endpointSlices.length + changes.nodes.length === 0) return
    this.version++
    this.opts.onChanges?.(changes)
    for (const l of this.loops) l.offer(changes)
  }

  /** Every consumer syncs soon (the cache has just synced). */
  wakeAll(): void {
    this.pull()
    for (const l of this.loops) l.wake()
  }

  health(): ConsumerHealth[] {
    return this.loops.map((l) => l.health())
  }

  private snapshot(): ClusterSnapshot {
    if (this.cached?.version !== this.version) this.cached = { version: this.version, snapshot: this.opts.source.snapshot() }
    return this.cached.snapshot
  }
}
