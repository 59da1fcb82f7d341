// Runs a helper binary with an argument array (never a shell string). On the CNI
// plugin's path we use node:child_process directly: execa costs start-up time
// there, and this path needs nothing beyond stdin, stdout and the exit code.
import { createRequire } from 'node:module'

// Loaded on first use: most ADDs never exec anything, and the module costs start-up time.
let child: typeof import('node:child_process') | undefined
function childProcess(): typeof import('node:child_process') {
  child ??= createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process')
  return child
}

export class ExecError extends Error {
  readonly code = 'EEXEC'
  constructor(readonly cmd: string, readonly status: number | null, readonly stderr: string, started = true) {
    super(started
      ? `${cmd} exited with ${status ?? 'a signal'}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`
      : `could not run ${cmd}: ${stderr}`)
    this.name = 'ExecError'
  }
}

export interface RunResult { status: number; stdout: string; stderr: string }

export function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const r = childProcess().spawnSync(cmd, args, { input: opts.input, env: opts.env, encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error) throw new ExecError(cmd, null, r.error.message, false)
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export function runOk(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, opts)
  if (r.status !== 0) throw new ExecError(`${cmd} ${args.join(' ')}`, r.status, r.stderr)
  return r.stdout
}
