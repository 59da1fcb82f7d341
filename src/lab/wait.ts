// Waiting on conditions with a deadline (never a fixed sleep). A wait tied to a
// process gives up as soon as that process is gone and says why, with the tail
// of its log, instead of waiting out the deadline.
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { alive, type ProcRecord } from './procs.ts'

export class LabUpError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabUpError'
    this.code = code
  }
}

/** The last `bytes` of a file (a log), or '' when it cannot be read. */
export function tailFile(path: string, bytes = 2048): string {
  try {
    const size = statSync(path).size
    const fd = openSync(path, 'r')
    try {
      const n = Math.min(size, bytes)
      const b = Buffer.alloc(n)
      readSync(fd, b, 0, n, size - n)
      return b.toString('utf8')
    } finally {
      closeSync(fd)
    }
  } catch {
    return ''
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// The lab's deadlines are sized for a host; a lab inside a TCG guest (`up --vm`) runs each
// step several times slower and stretches them all by this factor.
let patience = 1
export function setLabPatience(factor: number): void {
  if (!Number.isFinite(factor) || factor < 1) throw new LabUpError('EPATIENCE', `patience ${factor} must be a number >= 1`)
  patience = factor
}

export async function waitUntil<T>(what: string, probe: () => T | false | undefined | Promise<T | false | undefined>, proc: ProcRecord | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  timeoutMs *= patience
  const end = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== false && v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (proc && !alive(proc.pid)) {
      throw new LabUpError('EPROC_EXITED', `${proc.role}${proc.node ? ` on ${proc.node}` : ''} (pid ${proc.pid}) exited while waiting for ${what}; the end of ${proc.log}:\n${tailFile(proc.log).trimEnd()}`)
    }
    if (Date.now() >= end) {
      const why = last instanceof Error ? `: ${last.message}` : ''
      const logTail = proc ? `\nthe end of ${proc.log}:\n${tailFile(proc.log).trimEnd()}` : ''
      throw new LabUpError('ETIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${why}${logTail}`)
    }
    await pause(everyMs)
  }
}
