// The guest's control listener: the host's `lab up --vm` follows the guest's `lab up`
// through it and fetches the kubeconfig; `lab status`, `exec` and `restart` run in the guest
// through it. HTTP on the forwarded port, every request with the bearer token; bodies and
// outputs bounded.
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { guestLabArgs } from './plan.ts'
import { authorized } from './control-auth.ts'
import { LabVmError } from './errors.ts'

export const MAX_BODY = 64 << 10
export const MAX_OUTPUT = 16 << 20
export const MAX_LOG_LINES = 5000
const RUN_TIMEOUT_MS = 900_000

/** What the guest's `lab up` has said and whether it ended. */
export interface UpProgress {
  done: boolean
  passed?: boolean
  error?: { code: string; message: string }
  /** lines from index `next - lines.length` on */
  lines: string[]
  next: number
}

/** The guest's log of its `lab up`: bounded, read from an index on. */
export class UpLog {
  private lines: string[] = []
  private base = 0
  done = false
  passed?: boolean
  error?: { code: string; message: string }
  push(line: string): void {
    this.lines.push(line)
    if (this.lines.length > MAX_LOG_LINES) {
      const drop = this.lines.length - MAX_LOG_LINES
      this.lines.splice(0, drop)
      this.base += drop
    }
  }
  since(from: number): UpProgress {
    const start = Math.max(0, from - this.base)
    const lines = this.lines.slice(start)
    return { done: this.done, ...(this.passed === undefined ? {} : { passed: this.passed }), ...(this.error ? { error: this.error } : {}), lines, next: this.base + this.lines.length }
  }
}

export interface ControlOptions {
  token: string
  host: string
  port: number
  log: UpLog
  /** the guest lab's kubeconfig text, once there is one */
  kubeconfig: () => string | undefined
  /** the launcher that runs forwarded `pontoon lab` commands */
  pontoon: string
  env: NodeJS.ProcessEnv
}

export interface RunResult { code: number; stdout: string; stderr: string }

export function startControl(o: ControlOptions): Promise<Server> {
  const server = createServer((req, res) => {
    handle(o, req, res).catch((e: Error & { code?: string }) => send(res, e instanceof LabVmError ? 400 : 500, { code: e.code ?? 'ERROR', message: e.message }))
  })
  server.requestTimeout = 0 // a forwarded exec may run long; its own timeout bounds it
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve(server))
  })
}

async function handle(o: ControlOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!authorized(req.headers.authorization, o.token)) return send(res, 401, { code: 'EVMAUTH', message: 'no valid bearer token' })
  const url = new URL(req.url ?? '/', 'http://guest')
  if (req.method === 'GET' && url.pathname === '/v1/up') {
    const from = Number(url.searchParams.get('from') ?? '0')
    return send(res, 200, o.log.since(Number.isInteger(from) && from >= 0 ? from : 0))
  }
  if (req.method === 'GET' && url.pathname === '/v1/kubeconfig') {
    const k = o.kubeconfig()
    if (k === undefined) return send(res, 409, { code: 'EVMNOTREADY', message: 'the guest lab has no kubeconfig yet' })
    res.writeHead(200, { 'content-type': 'application/json' }).end(k)
    return
  }
  if (req.method === 'POST' && url.pathname === '/v1/run') {
    const body = await readBody(req)
    let doc: unknown
    try { doc = JSON.parse(body) } catch { throw new LabVmError('EVMARGS', 'the body is not JSON') }
    const args = guestLabArgs((doc as { args?: unknown })?.args)
    const r = await runBounded(o.pontoon, args, o.env)
    return send(res, 200, { code: r.code, stdout: Buffer.from(r.stdout, 'binary').toString('base64'), stderr: Buffer.from(r.stderr, 'binary').toString('base64') })
  }
  send(res, 404, { code: 'EVMNOTFOUND', message: `no ${req.method} ${url.pathname}` })
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) { res.destroy(); return }
  const close = status >= 400 ? { connection: 'close' } : {}
  res.writeHead(status, { 'content-type': 'application/json', ...close }).end(JSON.stringify(body))
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (d: Buffer) => {
      size += d.length
      if (size <= MAX_BODY) { chunks.push(d); return }
      // answer, then drop the connection: the rest of the body is read and discarded, never kept
      req.off('data', onData)
      req.resume()
      chunks.length = 0
      reject(new LabVmError('EVMBODY', `the request body is larger than ${MAX_BODY} bytes`))
    }
    req.on('data', onData)
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Run the launcher with args; each output kept up to MAX_OUTPUT bytes (as latin1, so bytes survive), killed after a deadline. */
export function runBounded(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = RUN_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    const keep = () => {
      let s = ''
      return { add: (d: Buffer) => { if (s.length < MAX_OUTPUT) s += d.subarray(0, MAX_OUTPUT - s.length).toString('binary') }, get: () => s }
    }
    const out = keep(), err = keep()
    child.stdout.on('data', out.add)
    child.stderr.on('data', err.add)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', (e) => { clearTimeout(timer); resolve({ code: 127, stdout: '', stderr: `${cmd}: ${e.message}\n` }) })
    child.once('close', (code, sig) => { clearTimeout(timer); resolve({ code: code ?? (sig ? 137 : 1), stdout: out.get(), stderr: err.get() }) })
  })
}
