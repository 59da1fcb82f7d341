// The resident server's worker thread: runs forwarded invocations through the
// plugin's dispatcher, one at a time, off the agent's main thread. The plugin's
// steps are synchronous where they must not interleave (the IPAM flock, setns
// into the pod's netns); here they block only this thread, and setns is per
// thread, so the main thread stays in the node's namespace and keeps serving
// /healthz, /metrics and the watch streams.
import { parentPort } from 'node:worker_threads'
import { runBridge } from '../main.ts'

export interface WorkerJob { id: number; env: Record<string, string>; stdin: Uint8Array }
export interface WorkerDone { id: number; code: number; stdout: string }

const port = parentPort
if (!port) throw new Error('cni worker: not started as a worker thread')

let queue: Promise<unknown> = Promise.resolve()
port.on('message', (job: WorkerJob) => {
  queue = queue.then(async () => {
    let stdout = ''
    const code = await runBridge({ env: job.env, stdin: Buffer.from(job.stdin), write: (s) => { stdout += s } })
    port.postMessage({ id: job.id, code, stdout } satisfies WorkerDone)
  }).catch((e: unknown) => {
    // runBridge turns every plugin error into CNI error JSON; reaching here is a bug in the dispatcher.
    port.postMessage({ id: job.id, code: -1, stdout: String(e) })
  })
})
