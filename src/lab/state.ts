// The lab's state file, STATE_DIR/lab.json: what `up` made, written after each
// step (atomically), so that `down`, `status`, `exec` and a later `up` after a
// crash know the prefix, the API's loopback port and every process started.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { writeFileAtomic } from '../sys/atomic-write.ts'
import type { ProcRecord } from './procs.ts'

export const STATE_FILE = 'lab.json'
const MAX_STATE_BYTES = 1 << 20

export class LabStateError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabStateError'
    this.code = code
  }
}

const procSchema = z.object({
  role: z.string(),
  node: z.string().optional(),
  pid: z.number().int().positive(),
  startTime: z.string(),
  log: z.string(),
})

const stateSchema = z.object({
  version: z.literal(1),
  prefix: z.string(),
  nodes: z.number().int().positive(),
  proxyMode: z.string(),
  overlay: z.string(),
  /** the API's listener in the root namespace, for kubectl */
  apiPort: z.number().int().positive().optional(),
  processes: z.array(procSchema),
  /** a lab inside a qemu guest (up --vm): the VM is the process with role vm; the control listener's host port */
  vm: z.object({ controlPort: z.number().int().positive(), mem: z.number().int().positive() }).optional(),
  /** up finished: topology, processes and the demo are in place */
  complete: z.boolean(),
})

export type LabState = z.infer<typeof stateSchema>

export function statePath(dir: string): string {
  return join(dir, STATE_FILE)
}

export function readState(dir: string): LabState | undefined {
  const p = statePath(dir)
  let text: string
  try {
    text = readFileSync(p, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new LabStateError('ESTATE_READ', `cannot read ${p}: ${(e as Error).message}`, { cause: e })
  }
  if (text.length > MAX_STATE_BYTES) throw new LabStateError('ESTATE_BAD', `${p} is larger than ${MAX_STATE_BYTES} bytes`)
  let doc: unknown
  try { doc = JSON.parse(text) } catch (e) {
    throw new LabStateError('ESTATE_BAD', `${p} is not JSON: ${(e as Error).message}`, { cause: e })
  }
  const r = stateSchema.safeParse(doc)
  if (!r.success) throw new LabStateError('ESTATE_BAD', `${p} is not a lab state file: ${r.error.issues[0]?.message ?? 'bad shape'}`)
  return r.data
}

export function writeState(dir: string, s: LabState): void {
  writeFileAtomic(statePath(dir), JSON.stringify(s, null, 2) + '\n', 0o600)
}

export function addProcess(dir: string, s: LabState, p: ProcRecord): void {
  s.processes.push(p)
  writeState(dir, s)
}

/**
 * `down` removes the whole state directory, so it must be one the lab owns:
 * absent, empty, or holding a lab state file. Anything else (a typo such as
 * --state-dir /etc) is refused before anything is written or removed.
 */
export function checkStateDir(dir: string): void {
  if (!dir.startsWith('/')) throw new LabStateError('ESTATE_DIR', `--state-dir must be an absolute path (got "${dir}")`)
  if (!existsSync(dir)) return
  let entries: string[]
  try { entries = readdirSync(dir) } catch (e) {
    throw new LabStateError('ESTATE_DIR', `--state-dir ${dir} cannot be read: ${(e as Error).message}`, { cause: e })
  }
  if (entries.length && !entries.includes(STATE_FILE)) {
    throw new LabStateError('ESTATE_DIR', `--state-dir ${dir} is not empty and holds no ${STATE_FILE}: not a lab's directory, refusing to use it`)
  }
}
