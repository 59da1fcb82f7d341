// The lab's few API calls (create, get, list, merge-patch) over HTTPS with the
// kubeconfig's CA and token. The agent's HttpTransport only lists and watches;
// the lab writes objects, so it has this small client. Answers are bounded.
import { Agent, request } from 'node:https'
import type { ClusterAccess } from '../cluster/kubeconfig.ts'

const MAX_ANSWER = 32 << 20

export class LabApiError extends Error {
  readonly code: string
  constructor(code: string, message: string, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabApiError'
    this.code = code
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = Record<string, any>

export class LabApi {
  private readonly url: URL
  private readonly agent: Agent

  constructor(private readonly access: ClusterAccess, private readonly timeoutMs = 10_000) {
    this.url = new URL(access.server)
    if (this.url.protocol !== 'https:') throw new LabApiError('EAPI_URL', `the lab API must be https, not ${access.server}`)
    this.agent = new Agent({ keepAlive: true, ...(access.ca ? { ca: access.ca } : {}), rejectUnauthorized: !access.insecureSkipTLSVerify })
  }

  close(): void {
    this.agent.destroy()
  }

  /** One request; resolves with the status and the decoded body (undefined when empty). */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Obj | undefined }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise((resolve, reject) => {
      const req = request({
        host: this.url.hostname, port: this.url.port || 443, path, method, agent: this.agent, timeout: this.timeoutMs,
        headers: {
          accept: 'application/json',
          ...(this.access.token ? { authorization: `Bearer ${this.access.token}` } : {}),
          ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}),
        },
      }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > MAX_ANSWER) return void req.destroy(new LabApiError('EAPI_TOO_LARGE', `${method} ${path}: answer larger than ${MAX_ANSWER} bytes`))
          chunks.push(c)
        })
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          // health endpoints answer plain text ("ok"); everything else is JSON
          const json = /\bjson\b/.test(String(res.headers['content-type'] ?? ''))
          let parsed: Obj | undefined
          try { parsed = json && text ? JSON.parse(text) as Obj : undefined } catch (e) {
            return reject(new LabApiError('EAPI_BAD_ANSWER', `${method} ${path}: answer is not JSON`, res.statusCode, { cause: e }))
          }
          resolve({ status: res.statusCode ?? 0, body: parsed })
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new LabApiError('EAPI_TIMEOUT', `${method} ${path}: no answer in ${this.timeoutMs} ms`)))
      req.on('error', (e) => reject(e instanceof LabApiError ? e : new LabApiError('EAPI_CONNECT', `${method} ${path}: ${(e as Error).message}`, undefined, { cause: e })))
      req.end(data)
    })
  }

  /** A call that must answer one of `ok`; otherwise a LabApiError with the API's message. */
  async must(method: string, path: string, body?: unknown, ok: number[] = [200, 201], contentType?: string): Promise<Obj | undefined> {
    const r = await this.call(method, path, body, contentType)
    if (!ok.includes(r.status)) {
      const msg = typeof r.body?.message === 'string' ? r.body.message : JSON.stringify(r.body ?? '').slice(0, 300)
      throw new LabApiError('EAPI_STATUS', `${method} ${path}: HTTP ${r.status}: ${msg}`, r.status)
    }
    return r.body
  }

  /** Create, or keep the existing object of that name (a second `up` over a kept data dir). */
  async ensure(collection: string, obj: Obj): Promise<Obj> {
    const r = await this.call('POST', collection, obj)
    if (r.status === 201 || r.status === 200) return r.body!
    if (r.status === 409) return (await this.must('GET', `${collection}/${obj.metadata.name}`))!
    throw new LabApiError('EAPI_STATUS', `create ${collection}/${obj.metadata?.name}: HTTP ${r.status}: ${r.body?.message ?? ''}`, r.status)
  }

  async list(collection: string): Promise<Obj[]> {
    const body = await this.must('GET', collection)
    return Array.isArray(body?.items) ? body.items as Obj[] : []
  }

  async mergePatch(path: string, patch: unknown): Promise<Obj> {
    return (await this.must('PATCH', path, patch, [200], 'application/merge-patch+json'))!
  }
}
