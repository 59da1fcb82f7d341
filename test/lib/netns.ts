// Throwaway network namespaces for integration tests. Every name carries the
// run's prefix (PONTOON_RUN, set by test/run.sh) so a later run can sweep
// whatever a killed run left behind. Nothing here touches the root namespace.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export const RUN = process.env.PONTOON_RUN ?? `pt${randomBytes(2).toString('hex')}`
let seq = 0

export interface Netns {
  name: string
  path: string
  /** run a command inside the namespace; returns stdout, throws on non-zero exit */
  run(cmd: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): string
  /** like run, but returns {status, stdout, stderr} instead of throwing */
  try(cmd: string, args: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv }): { status: number; stdout: string; stderr: string }
  /** start a long-running process inside the namespace; it is killed by PID on destroy */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess
  destroy(): void
}

export function makeNetns(tag: string): Netns {
  const name = `${RUN}-${process.pid}-${tag}${++seq}`
  execFileSync('ip', ['netns', 'add', name])
  const path = `/run/netns/${name}`
  const children: ChildProcess[] = []
  const wrap = (cmd: string, args: string[]) => ['--net=' + path, '--', cmd, ...args]
  const ns: Netns = {
    name,
    path,
    run(cmd, args, opts = {}) {
      return execFileSync('nsenter', wrap(cmd, args), {
        input: opts.input,
        env: opts.env ?? process.env,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
        // a ruleset dump of 10,000 Services is ~10 MB
        maxBuffer: 256 << 20,
      })
    },
    try(cmd, args, opts = {}) {
      try {
        const stdout = ns.run(cmd, args, opts)
        return { status: 0, stdout, stderr: '' }
      } catch (e) {
        const err = e as { status?: number; stdout?: string; stderr?: string }
        return { status: err.status ?? -1, stdout: String(err.stdout ?? ''), stderr: String(err.stderr ?? '') }
      }
    },
    spawn(cmd, args, opts = {}) {
      const child = spawn('nsenter', wrap(cmd, args), { stdio: 'pipe', ...opts })
      children.push(child)
      return child
    },
    destroy() {
      for (const c of children) if (c.pid && c.exitCode === null) {
        try { process.kill(c.pid, 'SIGKILL') } catch { /* already gone */ }
      }
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch { /* already gone */ }
    },
  }
  ns.run('ip', ['link', 'set', 'lo', 'up'])
  return ns
}

/** Connect two namespaces with a veth pair and give each end an address (CIDR form). */
export function linkNamespaces(a: Netns, aAddr: string, b: Netns, bAddr: string, tag = 'v'): { aIf: string; bIf: string } {
  const aIf = `${tag}${seq}a`, bIf = `${tag}${seq}b`
  a.run('ip', ['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.path])
  a.run('ip', ['addr', 'add', aAddr, 'dev', aIf])
  a.run('ip', ['link', 'set', aIf, 'up'])
  b.run('ip', ['addr', 'add', bAddr, 'dev', bIf])
  b.run('ip', ['link', 'set', bIf, 'up'])
  return { aIf, bIf }
}
