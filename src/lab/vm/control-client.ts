// The host's side of the control channel: requests to the guest's listener through the
// forwarded loopback port, with the token from the host's state dir; answers bounded.
import { request } from 'node:http'
import { readFileSync } from 'node:fs'
import { LabVmError } from './errors.ts'
import type { RunResult, UpProgress } from './control-server.ts'

// base64 of two outputs of up to 16 MiB each, and the JSON around them
const MAX_ANSWER = 48 << 20

export class ControlClient {
  constructor(readonly port: number, private readonly token: string) {}

  static fromTokenFile(port: number, tokenFile: string): ControlClient {
    let token: string
    try { token = readFileSync(tokenFile, 'utf8').trim() } catch (e) {
      throw new LabVmError('EVMTOKEN', `cannot read the VM's control token ${tokenFile}: ${(e as Error).message}`)
    }
    return new ControlClient(port, token)
  }

  async up(from: number, timeoutMs = 10_000): Promise<UpProgress> {
    return JSON.parse((await this.call('GET', `/v1/up?from=${from}`, undefined, timeoutMs)).body) as UpProgress
  }

  async kubeconfig(): Promise<string> {
    return (await this.call('GET', '/v1/kubeconfig')).body
  }

  async run(args: string[]): Promise<RunResult> {
    const r = JSON.parse((await this.call('POST', '/v1/run', JSON.stringify({ args }), 0)).body) as { code: number; stdout: string; stderr: string }
    return { code: r.code, stdout: Buffer.from(r.stdout, 'base64').toString('binary'), stderr: Buffer.from(r.stderr, 'base64').toString('binary') }
  }

  /** One request; a non-200 answer is the guest's coded error. timeoutMs 0: no deadline (a forwarded exec). */
  call(method: string, path: string, body?: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path, headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (d: Buffer) => {
          size += d.length
          if (size > MAX_ANSWER) { req.destroy(new LabVmError('EVMANSWER', `the guest's answer is larger than ${MAX_ANSWER} bytes`)); return }
          chunks.push(d)
        })
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          if (res.statusCode === 200) return resolve({ status: 200, body: text })
          let e: { code?: string; message?: string } = {}
          try { e = JSON.parse(text) } catch { /* not ours */ }
          reject(new LabVmError(e.code ?? 'EVMCONTROL', `the guest answered ${method} ${path} with HTTP ${res.statusCode}: ${e.message ?? text.slice(0, 200)}`))
        })
        res.on('error', reject)
      })
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new LabVmError('EVMCONTROL', `no answer from the guest to ${method} ${path} within ${timeoutMs} ms`)))
      req.on('error', (e: Error & { code?: string }) => reject(e instanceof LabVmError ? e
        : new LabVmError('EVMDOWN', `the lab's VM does not answer on 127.0.0.1:${this.port} (${e.code ?? e.message}): is it still running? pontoon lab up --vm starts it again`, { cause: e })))
      req.end(body)
    })
  }
}
