// Runs one command in a fresh qemu guest and returns its exit status and output. The
// guest's init reads the job from a host directory through the read-only host-root share
// and reports on its console; the command's stdout and stderr come back on two more serial
// ports, through UNIX sockets this process listens on.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { consoleTail, readConsole } from './console.ts'
import { VmBootError, VmError, VmTimeoutError } from './errors.ts'
import { findImage, type VmImage } from './image.ts'
import { encodeJob } from './job.ts'
import { DEFAULT_MODULES, qemuArgs, socketPath } from './qemu-args.ts'

export interface VmRunOptions {
  argv: string[]
  /** default: this process's environment */
  env?: Record<string, string | undefined>
  /** default: this process's working directory (the guest sees the host's tree) */
  cwd?: string
  /** MiB, default 1024 */
  mem?: number
  /** kernel modules loaded before the command; default ip_vs */
  modules?: string[]
  /** seconds from qemu's start to the guest's power-off, default 300 */
  timeout?: number
  /** bytes of stdout and of stderr kept in the result, each; default 16 MiB */
  maxOutput?: number
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  image?: VmImage
  qemu?: string
}

export interface VmResult {
  status: number
  stdout: string
  stderr: string
  /** bytes of stdout or stderr beyond maxOutput, dropped from the result (never from the callbacks) */
  truncated: number
  /** guest uptime when the command started: the boot's cost */
  bootSeconds?: number
  elapsedMs: number
}

export { DEFAULT_MODULES } from './qemu-args.ts'
// qemu's own complaints (a bad option, a missing file) are short; the console is kept whole
// only up to this, as its tail is all an error quotes.
const MAX_CONSOLE = 1 << 20

export async function runInVm(opts: VmRunOptions): Promise<VmResult> {
  const image = opts.image ?? findImage()
  const timeout = opts.timeout ?? 300
  const maxOutput = opts.maxOutput ?? 16 << 20
  const job = encodeJob({ argv: opts.argv, env: opts.env ?? process.env, cwd: opts.cwd ?? process.cwd() })
  const jobDir = mkdtempSync(join(tmpdir(), 'pontoon-vm-'))
  const servers: Server[] = []
  try {
    const args = qemuArgs({ ...image, mem: opts.mem ?? 1024, jobDir, modules: opts.modules ?? DEFAULT_MODULES })
    writeFileSync(join(jobDir, 'argv'), job.argv)
    writeFileSync(join(jobDir, 'env'), job.env)
    writeFileSync(join(jobDir, 'cwd'), job.cwd)
    const out = new Capture(maxOutput, opts.onStdout)
    const err = new Capture(maxOutput, opts.onStderr)
    const streams = [listen(socketPath(jobDir, 'stdout'), out), listen(socketPath(jobDir, 'stderr'), err)]
    servers.push(...streams.map((s) => s.server))
    await Promise.all(streams.map((s) => s.ready))

    const t0 = performance.now()
    const child = spawn(opts.qemu ?? 'qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const consoleOut = new Capture(MAX_CONSOLE)
    child.stdout.on('data', (d: Buffer) => consoleOut.push(d))
    child.stderr.on('data', (d: Buffer) => consoleOut.push(d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      if (child.pid !== undefined) child.kill('SIGKILL')
    }, timeout * 1000)
    const exit = await new Promise<{ code: number | null; spawnError?: Error }>((res) => {
      child.once('error', (e) => res({ code: null, spawnError: e }))
      child.once('close', (code) => res({ code }))
    }).finally(() => clearTimeout(timer))
    // qemu has closed its ends; what the sockets still hold is already read.
    await Promise.all(streams.map((s) => s.finish()))
    const elapsedMs = performance.now() - t0
    const consoleText = consoleOut.text()
    if (exit.spawnError) throw new VmError('EVMQEMU', `could not run qemu: ${exit.spawnError.message} (scripts/setup.sh installs qemu-system-x86)`)
    if (timedOut) throw new VmTimeoutError(timeout, consoleTail(consoleText))
    const report = readConsole(consoleText)
    if (report.error !== undefined) throw new VmBootError(`the guest could not run the command: ${report.error}`, consoleTail(consoleText))
    if (report.rc === undefined) {
      throw new VmBootError(`the guest stopped without reporting an exit status (qemu exited with ${exit.code}): ${consoleTail(consoleText, 5)}`, consoleTail(consoleText))
    }
    return {
      status: report.rc,
      stdout: out.text(),
      stderr: err.text(),
      truncated: out.dropped + err.dropped,
      bootSeconds: report.startedAt,
      elapsedMs,
    }
  } finally {
    for (const s of servers) if (s.listening) s.close()
    rmSync(jobDir, { recursive: true, force: true })
  }
}

/** Keeps the first `limit` bytes of a stream and counts the rest. */
class Capture {
  private chunks: Buffer[] = []
  private size = 0
  dropped = 0
  constructor(private readonly limit: number, private readonly tap?: (chunk: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.tap?.(chunk)
    const room = this.limit - this.size
    if (room <= 0) { this.dropped += chunk.length; return }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.chunks.push(kept)
    this.size += kept.length
    this.dropped += chunk.length - kept.length
  }
  text(): string { return Buffer.concat(this.chunks).toString('utf8') }
}

// One connection is expected, qemu's. `finish` stops listening and settles once that
// connection has ended, so every byte the guest wrote has been read.
function listen(path: string, sink: Capture): { server: Server; ready: Promise<void>; finish: () => Promise<void> } {
  let conn: Socket | undefined
  const server = createServer((s) => {
    if (conn) { s.destroy(); return }
    conn = s
    s.on('data', (d: Buffer) => sink.push(d))
    s.on('error', () => s.destroy())
  })
  const ready = new Promise<void>((res, rej) => {
    server.once('error', rej)
    server.listen(path, () => res())
  })
  const finish = () => new Promise<void>((res) => { server.close(() => res()) })
  return { server, ready, finish }
}
