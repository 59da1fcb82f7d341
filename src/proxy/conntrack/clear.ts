// Deletes stale conntrack flows with `conntrack -D`, one call per filter, with
// argument arrays. A sync makes at most `maxCalls` calls: past that the
// endpoint filters are widened to their frontends (deleting a few live UDP
// flows costs their clients one re-DNAT, which is safe), and what is still over
// the cap is skipped and reported, so a mass change cannot stall the sync loop
// behind thousands of processes. The calls run one after another, asynchronously.
import { execFile } from 'node:child_process'
import { filterKey, type FlowFilter } from './stale.ts'

export class ConntrackError extends Error {
  readonly code = 'ECONNTRACK'
  constructor(readonly filter: FlowFilter, readonly status: number | null, readonly stderr: string) {
    super(`conntrack -D ${argsFor(filter).slice(1).join(' ')} failed (${status ?? 'no exit status'}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`)
    this.name = 'ConntrackError'
  }
}

export interface ExecResult { status: number | null; stdout: string; stderr: string }
export type Exec = (cmd: string, args: string[]) => Promise<ExecResult>

export interface ClearOptions {
  /** the command and any prefix (e.g. nsenter); default ['conntrack'] */
  command?: readonly [string, ...string[]]
  /** conntrack calls per `clear` at most; default 64 */
  maxCalls?: number
  exec?: Exec
}

export interface ClearResult {
  calls: number
  /** flow entries conntrack reported deleted */
  deleted: number
  /** endpoint filters widened to their frontend because of the cap */
  widened: number
  /** filters not run because of the cap */
  skipped: FlowFilter[]
  errors: ConntrackError[]
}

export const DEFAULT_MAX_CALLS = 64
const OUTPUT_LIMIT = 64 * 1024
const TIMEOUT_MS = 10_000
const DELETED = /(\d+) flow entries have been deleted/

export function argsFor(f: FlowFilter): string[] {
  const a = ['-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', '-p', f.protocol]
  if (f.origDst !== undefined) a.push('--orig-dst', f.origDst)
  a.push('--orig-port-dst', String(f.origDstPort))
  if (f.replySrc !== undefined) a.push('--reply-src', f.replySrc)
  if (f.replySrcPort !== undefined) a.push('--reply-port-src', String(f.replySrcPort))
  return a
}

const execFileResult: Exec = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: OUTPUT_LIMIT, timeout: TIMEOUT_MS }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null
      const status = e === null ? 0 : typeof e.code === 'number' ? e.code : null
      resolve({ status, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') + (e !== null && status === null ? e.message : '') })
    })
  })

/** Cut the list to `max` calls: widen endpoint filters first, then skip the rest. */
export function capFilters(filters: readonly FlowFilter[], max: number): { run: FlowFilter[]; widened: number; skipped: FlowFilter[] } {
  if (filters.length <= max) return { run: [...filters], widened: 0, skipped: [] }
  const wide = new Map<string, FlowFilter>()
  let widened = 0
  for (const f of filters) {
    let g = f
    if (f.replySrc !== undefined) {
      widened++
      g = { family: f.family, protocol: f.protocol, origDstPort: f.origDstPort, reason: `${f.reason} (widened: over ${max} calls)` }
      if (f.origDst !== undefined) g.origDst = f.origDst
    }
    if (!wide.has(filterKey(g))) wide.set(filterKey(g), g)
  }
  const all = [...wide.values()]
  return { run: all.slice(0, max), widened, skipped: all.slice(max) }
}

export async function clearStaleFlows(filters: readonly FlowFilter[], opts: ClearOptions = {}): Promise<ClearResult> {
  const [cmd, ...prefix] = opts.command ?? ['conntrack']
  const exec = opts.exec ?? execFileResult
  const { run, widened, skipped } = capFilters(filters, opts.maxCalls ?? DEFAULT_MAX_CALLS)
  const result: ClearResult = { calls: 0, deleted: 0, widened, skipped, errors: [] }
  for (const f of run) {
    result.calls++
    const r = await exec(cmd, [...prefix, ...argsFor(f)])
    const m = DELETED.exec(r.stderr) ?? DELETED.exec(r.stdout)
    // conntrack exits 1 when nothing matched: "0 flow entries have been deleted."
    if (r.status === 0 || (r.status === 1 && m?.[1] === '0')) {
      result.deleted += m ? Number(m[1]) : 0
    } else {
      result.errors.push(new ConntrackError(f, r.status, r.stderr))
    }
  }
  return result
}
