// The real Transport: @kubernetes/client-node does the auth (kubeconfig or the
// in-cluster service account, TLS, token refresh) and the watch streaming.
// Lists bypass the generated API classes, whose per-object deserialisation
// into class instances would cost more than the whole cold sync budget.
// Load this module lazily: client-node needs Node >= 22 (undici 8).
import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, Watch, type KubeConfig } from '@kubernetes/client-node'
import { ApiStatusError, type ListPage, type Query, type Transport, type WatchEvent, type WatchHandle } from './transport.ts'

export class KubeTransport implements Transport {
  private readonly http = new IsomorphicFetchHttpLibrary()
  private readonly watcher: Watch

  constructor(private readonly kc: KubeConfig) {
    this.watcher = new Watch(kc)
  }

  async list(path: string, query: Query): Promise<ListPage> {
    const cluster = this.kc.getCurrentCluster()
    if (!cluster) throw new ApiStatusError(0, 'kubeconfig has no current cluster')
    const url = new URL(cluster.server.replace(/\/+$/, '') + path)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
    const ctx = new RequestContext(url.toString(), HttpMethod.GET)
    ctx.setHeaderParam('Accept', 'application/json')
    await this.kc.applySecurityAuthentication(ctx)
    const resp = await this.http.send(ctx).toPromise()
    const text = await resp.body.text()
    if (resp.httpStatusCode < 200 || resp.httpStatusCode > 299) {
      throw new ApiStatusError(resp.httpStatusCode, `GET ${path}: ${statusMessage(text) ?? `HTTP ${resp.httpStatusCode}`}`)
    }
    const body = JSON.parse(text) as { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } }
    if (!Array.isArray(body.items)) throw new ApiStatusError(resp.httpStatusCode, `GET ${path}: the answer has no items list`)
    return {
      items: body.items,
      resourceVersion: typeof body.metadata?.resourceVersion === 'string' ? body.metadata.resourceVersion : '',
      continue: typeof body.metadata?.continue === 'string' && body.metadata.continue ? body.metadata.continue : null,
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
