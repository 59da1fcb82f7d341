// Container processes: started detached (their own session and process group,
// so a kubelet restart or crash leaves them running) inside the pod's netns with
// `nsenter --net=` (it execs the command in place: the pid we get is the
// container's), stdout and stderr appended to a log file. A process is known by
// its pid and its start time in /proc, so a restarted kubelet can tell its own
// process from a stranger that got the same pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, copyFileSync, openSync, readFileSync, statSync, truncateSync } from 'node:fs'

export interface Launched {
  child: ChildProcess
  pid: number
  procStart: string
}

export class ProcessError extends Error {
  constructor(readonly code: 'ESPAWN', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProcessError'
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when the pid is gone or a zombie. */
export function procStartTime(pid: number): string | undefined {
  let stat: string
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return undefined }
  // the command name (field 2) may hold spaces and parentheses: fields after the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined
  return rest[19]
}

export function isOurs(pid: number | undefined, procStart: string | undefined): boolean {
  return pid !== undefined && procStart !== undefined && procStartTime(pid) === procStart
}

/** Signal the whole process group; a group already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal) } catch { /* ESRCH: nothing left */ }
}

/**
 * With a resolv.conf, the container gets a mount namespace of its own (private
 * propagation: nothing leaks back to the host) with that file bound over
 * /etc/resolv.conf. unshare and sh both exec, so the pid is still the
 * container's; the script is fixed and the file and argv are its arguments.
 */
const BIND_RESOLV_CONF = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"'

export function launch(netnsPath: string, argv: string[], env: Record<string, string>, logPath: string, resolvConf?: string): Launched {
  const fd = openSync(logPath, 'a', 0o600)
  let child: ChildProcess
  const inner = resolvConf === undefined ? argv : ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', BIND_RESOLV_CONF, 'pontoon-resolv-conf', resolvConf, ...argv]
  try {
    child = spawn('nsenter', [`--net=${netnsPath}`, '--', ...inner], { detached: true, stdio: ['ignore', fd, fd], env, cwd: '/' })
  } finally {
    closeSync(fd)
  }
  if (child.pid === undefined) throw new ProcessError('ESPAWN', `could not start nsenter for ${argv[0]}`)
  child.unref()
  const procStart = procStartTime(child.pid) ?? ''
  return { child, pid: child.pid, procStart }
}

/**
 * Keep a log file under `cap` bytes: copy it to <file>.1 and truncate it. The
 * process writes with O_APPEND, so its next write lands at the new end; the file
 * can pass the cap by what is written between two checks.
 */
export function capLog(path: string, cap: number): boolean {
  let size: number
  try { size = statSync(path).size } catch { return false }
  if (size <= cap) return false
  try {
    copyFileSync(path, `${path}.1`)
    truncateSync(path, 0)
    return true
  } catch {
    return false
  }
}
