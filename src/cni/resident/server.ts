// The resident side: runs forwarded invocations through the same dispatcher as
// the plugin process, one at a time. Not for correctness (the steps that must not
// interleave, the IPAM's flock and setns, are synchronous calls already, and the
// plugin is safe to run as N processes at once); one pod at a time is what the
// kernel-bound steps can use anyway, and a slow call then delays, never corrupts.
import { chmodSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { dirname } from 'node:path'
import { runBridge } from '../main.ts'
import { netnsId } from './netns-id.ts'
import { decodeRequest, encodeResponse, type ResidentRequest, type ResidentResponse } from './protocol.ts'

export interface CniServer { close(): Promise<void>; served(): number }

export async function startCniServer(socket: string, log: (msg: string, extra?: object) => void = () => {}): Promise<CniServer> {
  const own = netnsId()
  let queue: Promise<unknown> = Promise.resolve()
  let count = 0

  async function handle(wire: Buffer): Promise<ResidentResponse> {
    let req: ResidentRequest
    try { req = decodeRequest(wire) } catch (e) { return { kind: 'fallback', reason: (e as Error).message } }
    if (req.netns !== own) return { kind: 'fallback', reason: `caller netns ${req.netns} is not ours (${own})` }
    let stdout = ''
    const code = await runBridge({ env: req.env, stdin: req.stdin, write: (s) => { stdout += s } })
    count++
    return { kind: 'done', code, stdout }
  }

  // allowHalfOpen: the plugin ends its side after the request; the answer still has to go back.
  const server: Server = createServer({ allowHalfOpen: true }, (conn) => {
    // The client half-closes after its request: the whole request is what arrived before 'end'.
    const chunks: Buffer[] = []
    conn.on('data', (d: Buffer) => { chunks.push(d) })
    conn.on('end', () => {
      const job = queue.then(() => handle(Buffer.concat(chunks)))
      queue = job.catch(() => undefined)
      job.then(
        (res) => conn.end(encodeResponse(res)),
        (e) => { log('resident CNI request failed', { err: String(e) }); conn.destroy() },
      )
    })
    conn.on('error', () => { /* the plugin went away; its request still completes */ })
  })

  mkdirSync(dirname(socket), { recursive: true })
  rmSync(socket, { force: true }) // a stale socket from a killed server
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socket, () => resolve())
  })
  chmodSync(socket, 0o600)
  log('resident CNI server listening', { socket })
  return {
    served: () => count,
    close: () => new Promise((resolve) => {
      server.close(() => { rmSync(socket, { force: true }); resolve() })
    }),
  }
}
