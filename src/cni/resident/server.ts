// The resident side: answers forwarded invocations on a unix socket and runs them
// in a worker thread (worker.ts), one at a time there. The main thread only reads
// requests and writes answers, so a pod operation that waits (on the IPAM lock, on
// the kernel) never stalls the agent's event loop. One pod at a time is what the
// kernel-bound steps can use anyway, and a slow call then delays, never corrupts.
import { chmodSync, mkdirSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import { netnsId } from './netns-id.ts'
import { decodeRequest, encodeResponse, type ResidentRequest } from './protocol.ts'
import type { WorkerDone, WorkerJob } from './worker.ts'

export interface CniServer { close(): Promise<void>; served(): number }

/** A request bigger than this is not a CNI config: refused without reading more. */
const MAX_REQUEST_BYTES = 4 << 20
/** Requests waiting for the worker beyond this are refused (the runtime retries). */
const MAX_QUEUED = 256

// The bundle ships the worker as cni-worker.mjs beside pontoon.mjs; from source it is worker.ts.
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('./worker.ts', import.meta.url) : new URL('./cni-worker.mjs', import.meta.url)
}

export async function startCniServer(socket: string, log: (msg: string, extra?: object) => void = () => {}): Promise<CniServer> {
  const own = netnsId()
  let count = 0
  let seq = 0
  const waiting = new Map<number, (done: WorkerDone | Error) => void>()
  // Started at the first call, not at start-up: a worker costs ~10 MB of RSS, and an
  // agent on a node without pods (or one only following the API) need not pay it.
  let worker: Worker | undefined
  let closing = false

  const spawnWorker = (): Worker => {
    const w = new Worker(workerUrl())
    worker = w
    w.unref()
    w.on('message', (done: WorkerDone) => {
      const cb = waiting.get(done.id)
      waiting.delete(done.id)
      cb?.(done)
    })
    w.on('error', (e) => log('resident CNI worker failed', { err: e.message }))
    w.on('exit', (code) => {
      // Whatever it was doing may be half done: those callers get an error, never a silent retry.
      worker = undefined
      const lost = [...waiting.values()]
      waiting.clear()
      for (const cb of lost) cb(new Error(`the CNI worker exited (code ${code})`))
    })
    return w
  }

  function answer(conn: Socket, wire: Buffer): void {
    let req: ResidentRequest
    try { req = decodeRequest(wire) } catch (e) { conn.end(encodeResponse({ kind: 'fallback', reason: (e as Error).message })); return }
    if (req.netns !== own) { conn.end(encodeResponse({ kind: 'fallback', reason: `caller netns ${req.netns} is not ours (${own})` })); return }
    if (waiting.size >= MAX_QUEUED) { conn.end(encodeResponse({ kind: 'fallback', reason: `${MAX_QUEUED} calls already queued` })); return }
    const id = ++seq
    if (closing) { conn.end(encodeResponse({ kind: 'fallback', reason: 'the resident server is stopping' })); return }
    const w = worker ?? spawnWorker()
    waiting.set(id, (done) => {
      if (done instanceof Error) { log('resident CNI request failed', { err: done.message }); conn.destroy(); return }
      count++
      conn.end(encodeResponse({ kind: 'done', code: done.code, stdout: done.stdout }))
    })
    w.postMessage({ id, env: req.env, stdin: req.stdin } satisfies WorkerJob)
  }

  // allowHalfOpen: the plugin ends its side after the request; the answer still has to go back.
  const server: Server = createServer({ allowHalfOpen: true }, (conn) => {
    // The client half-closes after its request: the whole request is what arrived before 'end'.
    const chunks: Buffer[] = []
    let size = 0
    conn.on('data', (d: Buffer) => {
      size += d.length
      if (size > MAX_REQUEST_BYTES) { conn.destroy(); return }
      chunks.push(d)
    })
    conn.on('end', () => answer(conn, Buffer.concat(chunks)))
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
      server.close(() => {
        rmSync(socket, { force: true })
        closing = true
        if (!worker) { resolve(); return }
        void worker.terminate().then(() => resolve(), () => resolve())
      })
    }),
  }
}
