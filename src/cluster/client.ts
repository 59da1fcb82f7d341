// The agent's view of the cluster: one reflector and one typed cache per
// resource, a "synced" state that holds only once every resource has listed,
// and a wake-up for whoever syncs the dataplane. Watch handlers only record
// changes; the consumer reads a snapshot and the pending changes when it runs.
import type { Backoff } from './backoff.ts'
import type { EndpointSlice, Node, ResourceName, Service } from './model.ts'
import { normalizeEndpointSlice } from './normalize-endpointslice.ts'
import { normalizeNode } from './normalize-node.ts'
import { normalizeService } from './normalize-service.ts'
import { Reflector, type ReflectorObserver, type ReflectorSink } from './reflector.ts'
import { RESOURCE_NAMES, RESOURCES } from './resources.ts'
import type { Normalized } from './normalized.ts'
import { SnapshotIndex, type ChangeSet, type ClusterSnapshot, type SliceIdentity } from './snapshot.ts'
import { ObjectStore, type StoreOutcome } from './store.ts'
import type { Transport } from './transport.ts'

export interface ClusterObserver extends ReflectorObserver {
  malformed(resource: ResourceName, key: string | null, reason: string): void
  stored(resource: ResourceName, outcome: StoreOutcome): void
  synced(): void
}

export interface ClusterClientOptions {
  transport: Transport
  observer: ClusterObserver
  pageSize?: number
  /** send kube-proxy's label selectors; the normalisers filter the same objects anyway */
  serverSideSelectors?: boolean
  watchTimeoutSeconds?: number
  /** the server's bookmark interval; a watch silent for twice this long is resumed */
  bookmarkIntervalMs?: number
  backoff?: () => Backoff
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/** How raw Services and EndpointSlices become cache values; the proxy's by default. */
export interface ClusterNormalizers<S, E> {
  service(obj: unknown): Normalized<S>
  endpointSlice(obj: unknown): Normalized<E>
}

const PROXY_NORMALIZERS: ClusterNormalizers<Service, EndpointSlice> = { service: normalizeService, endpointSlice: normalizeEndpointSlice }

export class ClusterClient<S = Service, E extends SliceIdentity = EndpointSlice> {
  readonly services: ObjectStore<S>
  readonly endpointSlices: ObjectStore<E>
  readonly nodes: ObjectStore<Node>
  private readonly reflectors: Reflector[]
  private readonly index = new SnapshotIndex<S, E>()
  private readonly listed = new Set<ResourceName>()
  private readonly listeners: Array<() => void> = []
  private syncedWaiters: Array<() => void> = []

  constructor(private readonly opts: ClusterClientOptions, normalizers?: ClusterNormalizers<S, E>) {
    const obs = opts.observer
    const index = this.index
    // Without normalisers S and E are the proxy's types (their defaults).
    const norm = normalizers ?? (PROXY_NORMALIZERS as unknown as ClusterNormalizers<S, E>)
    this.services = new ObjectStore((o) => norm.service(o), {
      malformed: (k, r) => obs.malformed('services', k, r),
      changed: (k, prev, cur) => index.service(k, prev, cur),
    })
    this.endpointSlices = new ObjectStore((o) => norm.endpointSlice(o), {
      malformed: (k, r) => obs.malformed('endpointslices', k, r),
      changed: (k, prev, cur) => index.endpointSlice(k, prev, cur),
    })
    this.nodes = new ObjectStore(normalizeNode, {
      malformed: (k, r) => obs.malformed('nodes', k, r),
      changed: (k, prev, cur) => index.node(k, prev, cur),
    })
    this.reflectors = RESOURCE_NAMES.map((resource) => {
      const info = RESOURCES[resource]
      return new Reflector(
        {
          resource,
          path: info.path,
          labelSelector: opts.serverSideSelectors === false ? undefined : info.labelSelector,
          pageSize: opts.pageSize ?? 500,
          watchTimeoutSeconds: opts.watchTimeoutSeconds,
          bookmarkIntervalMs: opts.bookmarkIntervalMs,
          backoff: opts.backoff?.(),
          sleep: opts.sleep,
        },
        opts.transport,
        this.sinkFor(resource),
        this.reflectorObserver(),
      )
    })
  }

  get synced(): boolean {
    return this.listed.size === RESOURCE_NAMES.length
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve()
    return new Promise((resolve) => this.syncedWaiters.push(resolve))
  }

  /**
   * cb runs after every change that reached a cache (many times per burst:
   * debounce it), and once when the cache turns synced. Not before: a sync of a
   * partial view does nothing, and a wasted early run would only make a
   * rate-limited runner hold back the first real one.
   */
  onChange(cb: () => void): void {
    this.listeners.push(cb)
  }

  start(): void {
    for (const r of this.reflectors) r.start()
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()))
  }

  /** The cache as it is now, immutable: later events never change a snapshot already taken. O(1). */
  snapshot(): ClusterSnapshot<S, E> {
    return this.index.snapshot()
  }

  /** Every change since the last drain, with no-ops and flip-flops dropped. */
  drainChanges(): ChangeSet<S, E> {
    return {
      services: this.services.tracker.drain(),
      endpointSlices: this.endpointSlices.tracker.drain(),
      nodes: this.nodes.tracker.drain(),
    }
  }

  private store(resource: ResourceName): ObjectStore<unknown> {
    if (resource === 'services') return this.services as ObjectStore<unknown>
    if (resource === 'endpointslices') return this.endpointSlices as ObjectStore<unknown>
    return this.nodes as ObjectStore<unknown>
  }

  private sinkFor(resource: ResourceName): ReflectorSink {
    const store = this.store(resource)
    const obs = this.opts.observer
    return {
      beginList: () => store.beginReplace(),
      listPage: (items) => store.replacePage(items),
      endList: () => {
        store.endReplace()
        this.notify()
      },
      event: (type, object) => {
        const outcome = type === 'DELETED' ? store.remove(object) : store.upsert(object)
        obs.stored(resource, outcome)
        if (outcome === 'added' || outcome === 'updated' || outcome === 'removed') this.notify()
      },
    }
  }

  private reflectorObserver(): ReflectorObserver {
    const obs = this.opts.observer
    return {
      listed: (resource, reason, count) => {
        obs.listed(resource, reason, count)
        if (this.listed.has(resource)) return
        this.listed.add(resource)
        if (this.synced) {
          obs.synced()
          const waiters = this.syncedWaiters
          this.syncedWaiters = []
          for (const w of waiters) w()
          this.notify()
        }
      },
      watchEvent: (resource, type) => obs.watchEvent(resource, type),
      failed: (resource, err, retryInMs) => obs.failed(resource, err, retryInMs),
    }
  }

  private notify(): void {
    if (!this.synced) return
    for (const cb of this.listeners) cb()
  }
}
