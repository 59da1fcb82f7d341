// The job a guest runs, as the files the guest's init reads: argv and env as NUL-separated
// words (the guest never re-parses a shell string), and the working directory.
import { VmInputError } from './errors.ts'

export interface Job { argv: string[]; env: Record<string, string | undefined>; cwd: string }
export interface JobFiles { argv: Buffer; env: Buffer; cwd: string }

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
/** Bound on the encoded job: it is read whole into bash arrays in the guest. */
export const MAX_JOB_BYTES = 1 << 20

export function encodeJob(job: Job): JobFiles {
  if (job.argv.length === 0) throw new VmInputError('no command to run in the guest')
  for (const a of job.argv) {
    if (a.includes('\0')) throw new VmInputError(`argument ${JSON.stringify(a)} contains a NUL byte`)
  }
  if (!job.cwd.startsWith('/') || job.cwd.includes('\0') || job.cwd.includes('\n')) {
    throw new VmInputError(`working directory ${JSON.stringify(job.cwd)} is not an absolute path`)
  }
  const env: string[] = []
  for (const [k, v] of Object.entries(job.env)) {
    if (v === undefined) continue
    if (!ENV_NAME.test(k)) throw new VmInputError(`environment name ${JSON.stringify(k)} is not a valid name`)
    if (v.includes('\0')) throw new VmInputError(`environment value of ${k} contains a NUL byte`)
    env.push(`${k}=${v}`)
  }
  const files = { argv: nulJoin(job.argv), env: nulJoin(env), cwd: job.cwd }
  const size = files.argv.length + files.env.length + Buffer.byteLength(files.cwd)
  if (size > MAX_JOB_BYTES) throw new VmInputError(`the command and environment take ${size} bytes, more than ${MAX_JOB_BYTES}`)
  return files
}

// Each word NUL-terminated, as bash's `mapfile -d ''` reads them.
function nulJoin(words: string[]): Buffer {
  return Buffer.from(words.map((w) => `${w}\0`).join(''), 'utf8')
}
