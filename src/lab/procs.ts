// The lab's processes: started detached (own session, logs to files, the lab
// CLI may exit), recorded by PID and start time, and stopped only after
// /proc says the PID still is the process we started: a PID reused by some
// other program after a crash or a reboot is never signalled.
import { spawn } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'

export interface ProcRecord {
  /** api, agent, kubelet */
  role: string
  node?: string
  pid: number
  /** /proc/PID/stat field 22 (clock ticks since boot): a PID reused later has another */
  startTime: string
  log: string
}

export class LabProcessError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'LabProcessError'
    this.code = code
  }
}

interface ProcStat { state: string; startTime: string }

/** State and start time from /proc/PID/stat, or undefined when there is no such process. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  // comm (field 2) is in parentheses and may hold spaces or ')': fields resume after the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19]
  return { state: rest[0] ?? '?', startTime: rest[19] ?? '' }
}

export function procCmdline(pid: number): string[] {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) } catch { return [] }
}

/** Alive (a zombie is not) and still the process the record describes: same start time, and its command line names the marker. */
export function isOurs(rec: Pick<ProcRecord, 'pid' | 'startTime'>, marker: string): boolean {
  const st = procStat(rec.pid)
  if (!st || st.state === 'Z' || st.startTime !== rec.startTime) return false
  return procCmdline(rec.pid).some((a) => a.includes(marker))
}

export function alive(pid: number): boolean {
  const st = procStat(pid)
  return st !== undefined && st.state !== 'Z'
}

/** Start cmd in its own session with stdout and stderr appended to logFile; the caller records the result. */
export function spawnDetached(role: string, cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv, node?: string): ProcRecord {
  const fd = openSync(logFile, 'a', 0o600)
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env })
    if (!child.pid) throw new LabProcessError('ESPAWN', `could not start ${cmd} for ${role}`)
    const pid = child.pid
    child.unref()
    // an exit before we read /proc shows as no start time; the health wait then reports the log
    const st = procStat(pid)
    return { role, ...(node ? { node } : {}), pid, startTime: st?.startTime ?? '', log: logFile }
  } finally {
    closeSync(fd)
  }
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const end = Date.now() + ms
  let left = pids.filter(alive)
  while (left.length && Date.now() < end) {
    await pause(20)
    left = left.filter(alive)
  }
  return left
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig) } catch { /* gone meanwhile */ }
}

/**
 * SIGTERM each recorded process that still is ours, SIGKILL what is left after
 * graceMs. Returns the PIDs that were signalled.
 */
export async function stopRecorded(recs: ProcRecord[], marker: string, graceMs: number): Promise<number[]> {
  const ours = recs.filter((r) => isOurs(r, marker)).map((r) => r.pid)
  for (const pid of ours) signal(pid, 'SIGTERM')
  const left = await waitGone(ours, graceMs)
  for (const pid of left) signal(pid, 'SIGKILL')
  await waitGone(left, 5_000)
  return ours
}

/**
 * PIDs of every process whose network namespace is one of the given
 * namespace files (what `ip netns pids` reports). Inside a lab's own
 * namespaces only the lab's processes run: the agents, the kubelets and the
 * pods' containers, also those a killed kubelet left behind.
 */
export function pidsInNetns(nsFiles: string[]): number[] {
  const inodes = new Set<string>()
  for (const f of nsFiles) {
    try { inodes.add(`net:[${statSync(f).ino}]`) } catch { /* already gone */ }
  }
  if (!inodes.size) return []
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue
    let link: string
    try { link = readlinkSync(`/proc/${d}/ns/net`) } catch { continue }
    if (inodes.has(link) && alive(Number(d))) out.push(Number(d))
  }
  return out
}

/** SIGKILL each PID (found by pidsInNetns) and wait for it to go. */
export async function killPids(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGKILL')
  await waitGone(pids, 5_000)
}
