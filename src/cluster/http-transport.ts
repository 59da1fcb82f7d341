// The real Transport: plain node:http/node:https with the credentials of a
// ClusterAccess (kubeconfig or in-cluster service account). It replaces
// @kubernetes/client-node, whose import alone cost the agent ~0.7 s and ~90 MB
// (issue 7): the agent needs two GETs, a streamed list and a streamed watch.
// Lists are split item by item (ListSplitter) and never held whole; watch
// lines and error bodies are bounded.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { readFileSync } from 'node:fs'
import type { ClusterAccess } from './kubeconfig.ts'
import { ListSplitter } from './list-splitter.ts'
import { ApiStatusError, type ListMeta, type MergePatcher, type Query, type Transport, type WatchEvent, type WatchHandle } from './transport.ts'

export class TransportError extends Error {
  constructor(readonly code: 'TRANSPORT_TOO_LARGE' | 'TRANSPORT_BAD_ANSWER' | 'TRANSPORT_TIMEOUT' | 'TRANSPORT_TOKEN', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TransportError'
  }
}

export interface HttpTransportOptions {
  /** a list answer that sends nothing for this long is abandoned */
  idleTimeoutMs?: number
  /** one list item, one watch event line */
  maxObjectBytes?: number
  /** how long a token read from a file is reused before it is read again */
  tokenRefreshMs?: number
  now?: () => number
}

const MAX_ERROR_BODY = 64 << 10
/** a write the agent or the lab kubelet sends (annotations, a pod status) is a few KiB: refuse a runaway one before it is sent */
const MAX_WRITE_BODY = 1 << 20

export class HttpTransport implements Transport, MergePatcher {
  private readonly url: URL
  private readonly agent: HttpAgent
  private readonly request: typeof httpRequest
  private readonly idleTimeoutMs: number
  private readonly maxObjectBytes: number
  private readonly tokenRefreshMs: number
  private readonly now: () => number
  private token: { value: string; readAt: number } | null = null

  constructor(private readonly access: ClusterAccess, opts: HttpTransportOptions = {}) {
    this.url = new URL(access.server)
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000
    this.maxObjectBytes = opts.maxObjectBytes ?? 16 << 20
    this.tokenRefreshMs = opts.tokenRefreshMs ?? 60_000
    this.now = opts.now ?? Date.now
    if (this.url.protocol === 'https:') {
      this.agent = new HttpsAgent({
        keepAlive: true,
        ...(access.ca ? { ca: access.ca } : {}),
        ...(access.clientCert ? { cert: access.clientCert, key: access.clientKey } : {}),
        ...(access.tlsServerName ? { servername: access.tlsServerName } : {}),
        rejectUnauthorized: !access.insecureSkipTLSVerify,
      })
      this.request = httpsRequest as unknown as typeof httpRequest
    } else {
      this.agent = new HttpAgent({ keepAlive: true })
      this.request = httpRequest
    }
  }

  close(): void {
    this.agent.destroy()
  }

  async list(path: string, query: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    const { req, res } = await this.get(path, query, true)
    try {
      if (res.statusCode !== 200) throw await statusError(res, path)
      let batch: unknown[] = []
      const tooLarge = () => new TransportError('TRANSPORT_TOO_LARGE', `GET ${path}: one item is larger than ${this.maxObjectBytes} bytes`)
      const splitter = new ListSplitter((text) => {
        if (text.length > this.maxObjectBytes) throw tooLarge()
        batch.push(JSON.parse(text))
      })
      res.setEncoding('utf8')
      for await (const chunk of res as AsyncIterable<string>) {
        splitter.push(chunk)
        // an item still arriving counts too: its text is held until it closes
        if (splitter.buffered > this.maxObjectBytes) throw tooLarge()
        if (batch.length) {
          onItems(batch)
          batch = []
        }
      }
      if (batch.length) onItems(batch)
      if (!splitter.complete) throw new TransportError('TRANSPORT_BAD_ANSWER', `GET ${path}: the answer ended early`)
      const meta = splitter.top.metadata as { resourceVersion?: unknown; continue?: unknown } | undefined
      return {
        resourceVersion: typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : '',
        continue: typeof meta?.continue === 'string' && meta.continue ? meta.continue : null,
      }
    } catch (e) {
      // An answer read only in part leaves its connection unusable.
      req.destroy()
      if (e instanceof SyntaxError) throw new TransportError('TRANSPORT_BAD_ANSWER', `GET ${path}: an item is not JSON: ${e.message}`, { cause: e })
      throw e
    }
  }

  async watch(path: string, query: Query, onEvent: (ev: WatchEvent) => void, onDone: (err: unknown) => void): Promise<WatchHandle> {
    const { req, res } = await this.get(path, { ...query, watch: 'true' }, false)
    let done = false
    const finish = (err: unknown) => {
      if (done) return
      done = true
      req.destroy()
      onDone(err)
    }
    if (res.statusCode !== 200) {
      statusError(res, path).then(finish, finish)
      return { stop: () => { done = true; req.destroy() } }
    }
    let buf = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      if (done) return
      buf += chunk
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line.length > this.maxObjectBytes) {
          return finish(new TransportError('TRANSPORT_TOO_LARGE', `watch ${path}: one event is larger than ${this.maxObjectBytes} bytes`))
        }
        if (!line.trim()) continue
        let ev: { type?: unknown; object?: unknown }
        try {
          ev = JSON.parse(line) as { type?: unknown; object?: unknown }
        } catch (e) {
          return finish(new TransportError('TRANSPORT_BAD_ANSWER', `watch ${path}: an event is not JSON: ${(e as Error).message}`, { cause: e }))
        }
        if (typeof ev !== 'object' || ev === null || typeof ev.type !== 'string') {
          return finish(new TransportError('TRANSPORT_BAD_ANSWER', `watch ${path}: an event has no type`))
        }
        onEvent({ type: ev.type, object: ev.object })
        if (done) return
      }
      if (buf.length > this.maxObjectBytes) {
        finish(new TransportError('TRANSPORT_TOO_LARGE', `watch ${path}: one event is larger than ${this.maxObjectBytes} bytes`))
      }
    })
    res.on('end', () => finish(buf.trim() ? new TransportError('TRANSPORT_BAD_ANSWER', `watch ${path}: the stream ended inside an event`) : null))
    res.on('error', finish)
    // After 'end' this changes nothing; without it, the connection was cut mid-stream.
    res.on('close', () => finish(new TransportError('TRANSPORT_BAD_ANSWER', `watch ${path}: the stream was cut`)))
    req.on('error', finish)
    return { stop: () => { done = true; req.destroy() } }
  }

  /**
   * One write (POST, PUT, PATCH, DELETE) with a JSON body, for clients that act
   * (the lab kubelet's pods/status and deletes). The answer is read whole, at most
   * maxObjectBytes; a non-2xx answer is an ApiStatusError with the Status message.
   */
  send(method: string, path: string, body: unknown, contentType = 'application/json'): Promise<unknown> {
    const text = body === undefined ? '' : JSON.stringify(body)
    if (Buffer.byteLength(text) > MAX_WRITE_BODY) return Promise.reject(new TransportError('TRANSPORT_TOO_LARGE', `${method} ${path}: the body is larger than ${MAX_WRITE_BODY} bytes`))
    const url = new URL(this.url.pathname.replace(/\/+$/, '') + path, this.url)
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'pontoon', 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) }
    const auth = this.authorization()
    if (auth) headers.authorization = auth
    return new Promise((resolve, reject) => {
      let settled = false
      const fail = (e: unknown) => {
        if (settled) return
        settled = true
        reject(e)
      }
      const req = this.request(url, { method, agent: this.agent, headers }, (res) => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
          statusError(res, path, method).then(fail, fail)
          return
        }
        let answer = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if (settled) return
          answer += chunk
          if (answer.length > this.maxObjectBytes) {
            fail(new TransportError('TRANSPORT_TOO_LARGE', `${method} ${path}: the answer is larger than ${this.maxObjectBytes} bytes`))
            // destroyed without an error: the rejection above is the one answer
            req.destroy()
          }
        })
        res.on('end', () => {
          if (settled) return
          settled = true
          try { resolve(answer ? JSON.parse(answer) : undefined) } catch (e) {
            reject(new TransportError('TRANSPORT_BAD_ANSWER', `${method} ${path}: the answer is not JSON`, { cause: e }))
          }
        })
        res.on('error', fail)
      })
      req.on('error', fail)
      req.setTimeout(this.idleTimeoutMs, () => {
        fail(new TransportError('TRANSPORT_TIMEOUT', `${method} ${path}: no answer for ${this.idleTimeoutMs} ms`))
        req.destroy()
      })
      req.end(text)
    })
  }

  /** PATCH with application/merge-patch+json (the agent's own Node annotations); the answer is dropped. */
  async mergePatch(path: string, patch: Record<string, unknown>): Promise<void> {
    await this.send('PATCH', path, patch, 'application/merge-patch+json')
  }

  private get(path: string, query: Query, idleTimeout: boolean): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const url = new URL(this.url.pathname.replace(/\/+$/, '') + path, this.url)
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v)
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'pontoon-agent' }
    const auth = this.authorization()
    if (auth) headers.authorization = auth
    return new Promise((resolve, reject) => {
      const req = this.request(url, { method: 'GET', agent: this.agent, headers }, (res) => resolve({ req, res }))
      req.on('error', reject)
      // Lists must not hang on a dead server; a watch's silence is the reflector's to judge.
      req.setTimeout(idleTimeout ? this.idleTimeoutMs : 0, () => {
        req.destroy(new TransportError('TRANSPORT_TIMEOUT', `GET ${path}: no answer for ${this.idleTimeoutMs} ms`))
      })
      req.end()
    })
  }

  private authorization(): string | undefined {
    const a = this.access
    if (a.token) return `Bearer ${a.token}`
    if (a.tokenFile) return `Bearer ${this.fileToken(a.tokenFile)}`
    if (a.basicAuth) return `Basic ${Buffer.from(`${a.basicAuth.username}:${a.basicAuth.password}`).toString('base64')}`
    return undefined
  }

  /** client-go re-reads a token file every minute: projected service-account tokens rotate. */
  private fileToken(file: string): string {
    const now = this.now()
    if (this.token && now - this.token.readAt < this.tokenRefreshMs) return this.token.value
    let value: string
    try {
      value = readFileSync(file, 'utf8').trim()
    } catch (e) {
      if (this.token) return this.token.value // keep the last good one while the file is being replaced
      throw new TransportError('TRANSPORT_TOKEN', `cannot read the token file ${file}: ${(e as Error).message}`, { cause: e })
    }
    this.token = { value, readAt: now }
    return value
  }
}

async function statusError(res: IncomingMessage, path: string, method = 'GET'): Promise<ApiStatusError> {
  const status = res.statusCode ?? 0
  let text = ''
  res.setEncoding('utf8')
  try {
    for await (const chunk of res as AsyncIterable<string>) {
      text += chunk
      if (text.length > MAX_ERROR_BODY) break
    }
  } catch {
    // the status code alone says enough
  }
  return new ApiStatusError(status, `${method} ${path}: ${statusMessage(text) ?? `HTTP ${status}`}`)
}

function statusMessage(text: string): string | null {
  try {
    const s = JSON.parse(text) as { kind?: unknown; message?: unknown }
    return s.kind === 'Status' && typeof s.message === 'string' ? s.message : null
  } catch {
    return null
  }
}
