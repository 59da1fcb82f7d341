// The I/O half of install/uninstall: observe what is on disk, hash the source
// runtime, and carry out the planned steps. Each step is idempotent and never
// leaves a torn file or directory at a name a reader uses: everything is made
// under a temp name beside its target and renamed into place.
import { createHash } from 'node:crypto'
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, type Stats } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { writeFileAtomic } from '../sys/atomic-write.ts'
import { run } from '../sys/run.ts'
import { InstallError, InstallSourceError } from './errors.ts'
import { CONFLIST, LAUNCHERS, RUNTIME, UNIT_MARKER, type Observation, type Observed, type Step } from './plan.ts'

function lstatOrUndefined(p: string): Stats | undefined {
  try { return lstatSync(p) } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw e
  }
}

/** Is this regular file one of pontoon's? Launchers (sh or the C front door) name pontoon.d/; units carry the marker; the agent's conflist names pontoon-cni. */
function ours(p: string): boolean {
  const name = basename(p)
  let text: string
  try { text = readFileSync(p, 'latin1') } catch { return false }
  if ((LAUNCHERS as readonly string[]).includes(name)) return text.includes(`${RUNTIME}/`)
  if (name.endsWith('.service')) return text.startsWith(UNIT_MARKER)
  if (name === CONFLIST) return text.includes('"pontoon-cni"')
  return false
}

export function observe(path: string): Observed {
  const st = lstatOrUndefined(path)
  if (!st) return { type: 'absent' }
  if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(path) }
  if (st.isDirectory()) return { type: 'dir' }
  return { type: 'file', ours: st.isFile() && ours(path) }
}

export function observeHost(cniBinDir: string): Observation {
  let entries: string[] = []
  try { entries = readdirSync(cniBinDir) } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  return { at: observe, cniBinEntries: entries }
}

/** Files of a tree in a fixed order, relative paths; the V8 compile cache is run-time state, not content. */
function treeFiles(root: string, rel = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(root, rel)).sort()) {
    if (name === '.compile-cache') continue
    const r = rel ? `${rel}/${name}` : name
    const st = lstatSync(join(root, r))
    if (st.isDirectory()) out.push(...treeFiles(root, r))
    else out.push(r)
  }
  return out
}

/**
 * Checks that `source` holds what an install needs and returns the runtime's version:
 * the first 12 hex digits of a sha256 over its files' names, modes and bytes.
 */
export function sourceVersion(source: string): { version: string; runtime: string } {
  for (const n of LAUNCHERS) {
    const p = join(source, n)
    if (!existsSync(p) || !statSync(p).isFile()) throw new InstallSourceError(`${p} is missing: run \`npm run build\` (or point --from at a dist/bin)`)
  }
  let runtime: string
  try { runtime = realpathSync(join(source, RUNTIME)) } catch {
    throw new InstallSourceError(`${join(source, RUNTIME)} is missing: run \`npm run build\``)
  }
  if (!existsSync(join(runtime, 'node')) || !existsSync(join(runtime, 'pontoon.mjs'))) throw new InstallSourceError(`${runtime} has no node or pontoon.mjs: an incomplete build`)
  const h = createHash('sha256')
  for (const f of treeFiles(runtime)) {
    const p = join(runtime, f)
    const st = lstatSync(p)
    h.update(`${f}\0${st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : (st.mode & 0o777).toString(8)}\0`)
    if (st.isFile()) h.update(readFileSync(p))
    h.update('\0')
  }
  return { version: h.digest('hex').slice(0, 12), runtime }
}

const tmpBeside = (p: string, tag: string) => join(dirname(p), `.${basename(p)}${tag}.${process.pid}`)

function sameBytes(a: string, b: string): boolean {
  try {
    const sa = statSync(a), sb = statSync(b)
    if (sa.size !== sb.size || (sa.mode & 0o777) !== (sb.mode & 0o777)) return false
    return readFileSync(a).equals(readFileSync(b))
  } catch { return false }
}

export interface StepResult { step: Step; changed: boolean }

function applyStep(s: Step, systemctl: (args: string[]) => void): boolean {
  switch (s.op) {
    case 'mkdir':
      if (existsSync(s.path)) return false
      mkdirSync(s.path, { recursive: true, mode: 0o755 })
      return true
    case 'copy-file': {
      if (sameBytes(s.src, s.dst)) return false
      // a running binary cannot be written (ETXTBSY), but a name can be renamed over it
      const tmp = tmpBeside(s.dst, '.new')
      try {
        cpSync(s.src, tmp, { dereference: true, preserveTimestamps: true })
        renameSync(tmp, s.dst)
      } finally { rmSync(tmp, { force: true }) }
      return true
    }
    case 'copy-dir': {
      if (existsSync(s.dst)) return false
      const tmp = tmpBeside(s.dst, '.tmp')
      try {
        cpSync(s.src, tmp, { recursive: true, dereference: true, preserveTimestamps: true, filter: (p) => basename(p) !== '.compile-cache' })
        renameSync(tmp, s.dst)
      } finally { rmSync(tmp, { recursive: true, force: true }) }
      return true
    }
    case 'symlink': {
      const o = observe(s.path)
      if (o.type === 'symlink' && o.target === s.target) return false
      // a non-empty directory cannot be renamed over, so the runtime is a link, swapped by rename
      const tmp = tmpBeside(s.path, '.link')
      rmSync(tmp, { force: true })
      symlinkSync(s.target, tmp)
      try { renameSync(tmp, s.path) } catch (e) { rmSync(tmp, { force: true }); throw e }
      return true
    }
    case 'write-file':
      return writeFileAtomic(s.path, s.text)
    case 'remove':
      if (!lstatOrUndefined(s.path)) return false
      rmSync(s.path, { recursive: true, force: true })
      return true
    case 'systemctl':
      systemctl(s.args)
      return true
  }
}

export function systemctl(args: string[]): void {
  const r = run('systemctl', args)
  if (r.status !== 0) throw new InstallError('EINSTALLSYSTEMCTL', `systemctl ${args.join(' ')} exited with ${r.status}: ${r.stderr.trim()}`)
}

/** Runs the steps in order; a failing step stops the run with its error (steps already done are each complete). */
export function applySteps(steps: Step[], opts: { systemctl?: (args: string[]) => void } = {}): StepResult[] {
  const out: StepResult[] = []
  for (const step of steps) {
    try {
      out.push({ step, changed: applyStep(step, opts.systemctl ?? systemctl) })
    } catch (e) {
      if (e instanceof InstallError) throw e
      const err = e as NodeJS.ErrnoException
      throw new InstallError('EINSTALLIO', `${step.op} ${'path' in step ? step.path : 'dst' in step ? step.dst : step.args.join(' ')}: ${err.code ?? ''} ${err.message}`.trim())
    }
  }
  return out
}

/** One line per step for the command's output. */
export function describeStep(r: StepResult): string {
  const s = r.step
  const what = s.op === 'copy-file' || s.op === 'copy-dir' ? `${s.op} ${s.dst}`
    : s.op === 'symlink' ? `symlink ${s.path} -> ${s.target}`
      : s.op === 'systemctl' ? `systemctl ${s.args.join(' ')}`
        : `${s.op} ${s.path}`
  return `${r.changed ? 'done' : 'unchanged'}: ${what}`
}
