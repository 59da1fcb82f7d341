// Probes from inside a lab namespace without a process per probe: the socket
// is made with socket(2) while the thread is in the namespace (as `pontoon
// api` makes its in-namespace listener) and handed to Node as an fd; connect
// and I/O then happen in that namespace. Answers are bounded.
import http from 'node:http'
import net from 'node:net'
import { inNetns } from '../netns/index.ts'
import { rawLibc } from '../sys/libc.ts'

const AF_INET = 2
const AF_INET6 = 10
const SOCK_STREAM = 1
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const MAX_LINE = 512
const MAX_HTTP = 1 << 20

export type LineOutcome = { ok: true; line: string } | { ok: false; error: string }

export function connectInNetns(nsPath: string, host: string, port: number): net.Socket {
  const s = rawLibc()
  const fd = inNetns(nsPath, () => s.socket(host.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0))
  if (fd < 0) throw Object.assign(new Error(`socket() in ${nsPath} failed: errno ${s.errno()}`), { code: 'ESOCKET' })
  const sock = new net.Socket({ fd, readable: true, writable: true })
  sock.connect(port, host)
  return sock
}

/** Connect from the namespace, read the first line the server sends (the echo server's answer). */
export function tcpFirstLine(nsPath: string, host: string, port: number, timeoutMs: number): Promise<LineOutcome> {
  return new Promise((resolve) => {
    let sock: net.Socket
    try { sock = connectInNetns(nsPath, host, port) } catch (e) {
      return resolve({ ok: false, error: (e as { code?: string }).code ?? 'ESOCKET' })
    }
    let buf = ''
    let done = false
    const finish = (o: LineOutcome) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(o)
    }
    const timer = setTimeout(() => finish({ ok: false, error: 'ETIMEDOUT' }), timeoutMs)
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => {
      buf += d
      const i = buf.indexOf('\n')
      if (i >= 0) finish({ ok: true, line: buf.slice(0, i) })
      else if (buf.length > MAX_LINE) finish({ ok: false, error: 'ELINE_TOO_LONG' })
    })
    sock.on('end', () => finish(buf ? { ok: true, line: buf } : { ok: false, error: 'ECLOSED' }))
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: e.code ?? 'EIO' }))
  })
}

/** GET http://host:port/path from inside the namespace: the status, or undefined when nothing answered. */
export function httpGetInNetns(nsPath: string, host: string, port: number, path: string, timeoutMs: number): Promise<{ status: number; text: string } | undefined> {
  return new Promise((resolve) => {
    let settled = false
    const settle = (v: { status: number; text: string } | undefined) => { if (!settled) { settled = true; resolve(v) } }
    const req = http.get({ host, port, path, timeout: timeoutMs, createConnection: () => connectInNetns(nsPath, host, port) }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { if (text.length < MAX_HTTP) text += d })
      res.on('end', () => settle({ status: res.statusCode ?? 0, text }))
      res.on('error', () => settle(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => settle(undefined))
  })
}
