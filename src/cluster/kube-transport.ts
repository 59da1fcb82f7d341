// The real Transport: @kubernetes/client-node does the auth (kubeconfig or the
// in-cluster service account, TLS, token refresh) and the watch streaming.
// Lists bypass the generated API classes, whose per-object deserialisation
// into class instances would cost more than the whole cold sync budget.
// Load this module lazily: client-node needs Node >= 22 (undici 8).
import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, Watch, type KubeConfig } from '@kubernetes/client-node'
import { ListSplitter } from './list-splitter.ts'
import { ApiStatusError, type ListMeta, type Query, type Transport, type WatchEvent, type WatchHandle } from './transport.ts'

export class KubeTransport implements Transport {
  private readonly http = new IsomorphicFetchHttpLibrary()
  private readonly watcher: Watch

  constructor(private readonly kc: KubeConfig) {
    this.watcher = new Watch(kc)
  }

  async list(path: string, query: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    const cluster = this.kc.getCurrentCluster()
    if (!cluster) throw new ApiStatusError(0, 'kubeconfig has no current cluster')
    const url = new URL(cluster.server.replace(/\/+$/, '') + path)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
    const ctx = new RequestContext(url.toString(), HttpMethod.GET)
    ctx.setHeaderParam('Accept', 'application/json')
    await this.kc.applySecurityAuthentication(ctx)
    const resp = await this.http.send(ctx).toPromise()
    if (resp.httpStatusCode < 200 || resp.httpStatusCode > 299) {
      const text = await resp.body.text()
      throw new ApiStatusError(resp.httpStatusCode, `GET ${path}: ${statusMessage(text) ?? `HTTP ${resp.httpStatusCode}`}`)
    }
    // Streamed: items are parsed one by one and handed over per network chunk.
    let batch: unknown[] = []
    const splitter = new ListSplitter((text) => batch.push(JSON.parse(text)))
    const decoder = new TextDecoder()
    const stream = (await resp.body.stream()) as ReadableStream<Uint8Array> | undefined
    if (!stream) throw new ApiStatusError(resp.httpStatusCode, `GET ${path}: empty answer`)
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
      splitter.push(decoder.decode(chunk, { stream: true }))
      if (batch.length) {
        onItems(batch)
        batch = []
      }
    }
    splitter.push(decoder.decode())
    if (batch.length) onItems(batch)
    if (!splitter.complete) throw new ApiStatusError(resp.httpStatusCode, `GET ${path}: the answer ended early`)
    const meta = splitter.top.metadata as { resourceVersion?: unknown; continue?: unknown } | undefined
    return {
      resourceVersion: typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '',
      continue: typeof meta?.continue === 'string' && meta.continue ? meta.continue : null,
    }
  }

  async watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    const controller = await this.watcher.watch(
      path,
      query,
      (type: string, object: unknown) => onEvent({ type, object }),
      (err: unknown) => onDone(err ?? null),
    )
    return { stop: () => controller.abort() }
  }
}

function statusMessage(text: string): string | null {
  try {
    const s = JSON.parse(text) as { kind?: unknown; message?: unknown }
    return s.kind === 'Status' && typeof s.message === 'string' ? s.message : null
  } catch {
    return null
  }
}
