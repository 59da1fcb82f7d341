// List, then watch from the list's resourceVersion, forever. On 410 Gone (the
// watch fell behind the server's history) it lists again; on any other failure
// it keeps what it has and retries with backoff: from the same resourceVersion,
// so a restarted API server that kept its history loses nothing. A watch that
// stays silent (no event, no bookmark) for twice the server's bookmark interval
// is presumed dead (a half-open connection, a stuck proxy) and is resumed.
import { Backoff } from './backoff.ts'
import type { ResourceName } from './model.ts'
import { ApiStatusError, isGone, type Query, type Transport, type WatchEvent, type WatchHandle } from './transport.ts'

export type RelistReason = 'initial' | 'expired'

/** Where a reflector delivers what it reads, in order. */
export interface ReflectorSink {
  beginList(): void
  listPage(items: unknown[]): void
  endList(): void
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown): void
}

export interface ReflectorObserver {
  listed(resource: ResourceName, reason: RelistReason, count: number): void
  watchEvent(resource: ResourceName, type: string): void
  failed(resource: ResourceName, err: unknown, retryInMs: number): void
}

export interface ReflectorOptions {
  resource: ResourceName
  path: string
  labelSelector?: string
  /** e.g. spec.nodeName=node-1: a kubelet follows only the Pods bound to it */
  fieldSelector?: string
  pageSize?: number
  /** the server closes each watch after this long (client-go picks 5-10 min) */
  watchTimeoutSeconds?: number
  /** how often the server sends bookmarks (kube-apiserver: about once a minute) */
  bookmarkIntervalMs?: number
  backoff?: Backoff
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

/** A watch that sent neither an event nor a bookmark for too long. */
export class WatchSilentError extends Error {
  readonly code = 'WATCH_SILENT'
  constructor(resource: string, silentMs: number, resourceVersion: string) {
    super(`${resource}: the watch sent no event and no bookmark for ${silentMs} ms; resuming from resourceVersion ${resourceVersion}`)
    this.name = 'WatchSilentError'
  }
}

type WatchEnd = { kind: 'closed'; sawEvent: boolean } | { kind: 'expired' } | { kind: 'failed'; err: unknown } | { kind: 'silent'; ms: number }

export class Reflector {
  private resourceVersion = ''
  private stopped = false
  private handle: WatchHandle | null = null
  private finishWatch: ((end: WatchEnd) => void) | null = null
  private readonly abort = new AbortController()
  private readonly backoff: Backoff
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  private loop: Promise<void> | null = null

  constructor(
    private readonly opts: ReflectorOptions,
    private readonly transport: Transport,
    private readonly sink: ReflectorSink,
    private readonly observer: ReflectorObserver,
  ) {
    this.backoff = opts.backoff ?? new Backoff({ initialMs: 250, maxMs: 30_000, jitter: 0.2 })
    this.sleep = opts.sleep ?? abortableSleep
  }

  start(): void {
    this.loop ??= this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    this.handle?.stop()
    this.finishWatch?.({ kind: 'closed', sawEvent: true })
    await this.loop
  }

  private async run(): Promise<void> {
    let reason: RelistReason = 'initial'
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) {
          await this.list(reason)
          this.backoff.reset()
        }
        const end = await this.watchOnce()
        if (this.stopped) break
        if (end.kind === 'expired') {
          this.resourceVersion = ''
          reason = 'expired'
        } else if (end.kind === 'failed') {
          throw end.err
        } else if (end.kind === 'silent') {
          // Resume at once from the last resourceVersion: a dead stream is no reason to back off.
          this.observer.failed(this.opts.resource, new WatchSilentError(this.opts.resource, end.ms, this.resourceVersion), 0)
        } else if (!end.sawEvent) {
          // A server that closes watches at once must not make us spin.
          await this.sleep(this.backoff.next(), this.abort.signal)
        }
      } catch (err) {
        if (this.stopped) break
        if (isGone(err)) {
          this.resourceVersion = ''
          reason = 'expired'
          continue
        }
        const delay = this.backoff.next()
        this.observer.failed(this.opts.resource, err, delay)
        await this.sleep(delay, this.abort.signal)
      }
    }
  }

  private baseQuery(): Query {
    const q: Query = {}
    if (this.opts.labelSelector) q.labelSelector = this.opts.labelSelector
    if (this.opts.fieldSelector) q.fieldSelector = this.opts.fieldSelector
    return q
  }

  private async list(reason: RelistReason): Promise<void> {
    let cont: string | null = null
    let count = 0
    let rv = ''
    let begun = false
    do {
      const query = this.baseQuery()
      if (this.opts.pageSize) query.limit = String(this.opts.pageSize)
      if (cont) query.continue = cont
      const meta = await this.transport.list(this.opts.path, query, (items) => {
        if (this.stopped) return
        if (!begun) {
          this.sink.beginList()
          begun = true
        }
        this.sink.listPage(items)
        count += items.length
      })
      if (this.stopped) return
      rv = meta.resourceVersion
      cont = meta.continue
    } while (cont)
    if (!begun) this.sink.beginList()
    this.sink.endList()
    this.resourceVersion = rv
    this.observer.listed(this.opts.resource, reason, count)
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let settled = false
      let sawEvent = false
      const silentMs = 2 * (this.opts.bookmarkIntervalMs ?? 60_000)
      const silence = setTimeout(() => finish({ kind: 'silent', ms: silentMs }), silentMs)
      const finish = (end: WatchEnd) => {
        if (settled) return
        settled = true
        clearTimeout(silence)
        this.finishWatch = null
        this.handle?.stop()
        this.handle = null
        resolve(end)
      }
      this.finishWatch = finish
      const query: Query = {
        ...this.baseQuery(),
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300)),
      }
      const onEvent = (ev: WatchEvent) => {
        if (settled) return
        silence.refresh()
        if (!sawEvent) {
          sawEvent = true
          this.backoff.reset()
        }
        this.observer.watchEvent(this.opts.resource, ev.type)
        if (ev.type === 'ERROR') {
          const status = ev.object as { code?: unknown; message?: unknown } | null
          if (isGone(status)) finish({ kind: 'expired' })
          else finish({ kind: 'failed', err: new ApiStatusError(Number(status?.code) || 500, String(status?.message ?? 'watch error')) })
          return
        }
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') this.sink.event(ev.type, ev.object)
        const rv = (ev.object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion
        if (typeof rv === 'string' && rv) this.resourceVersion = rv
      }
      const onDone = (err: unknown) => {
        if (!err) finish({ kind: 'closed', sawEvent })
        else if (isGone(err)) finish({ kind: 'expired' })
        else finish({ kind: 'failed', err })
      }
      this.transport.watch(this.opts.path, query, onEvent, onDone).then(
        (h) => {
          if (settled) h.stop()
          else this.handle = h
        },
        (err) => finish(isGone(err) ? { kind: 'expired' } : { kind: 'failed', err }),
      )
    })
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
