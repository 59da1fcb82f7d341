// Driving `pontoon lab` (from dist/) in tests: the CLI as a user runs it, its
// state file, kubectl against its kubeconfig, and what a lab may have left
// behind (namespaces, processes, files). Prefixes carry the run's prefix.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN } from './cni.ts'
import { RUN } from './netns.ts'

export const PONTOON = join(BIN, 'pontoon')
let seq = 0

export interface LabHandle {
  prefix: string
  stateDir: string
  kubeconfig: string
}

/** A fresh prefix (starting with the run's) and state dir (not yet created: `up` makes it). */
export function newLab(tag = 'l'): LabHandle {
  const prefix = `${RUN}-${tag}${++seq}`
  const stateDir = join(mkdtempSync(join(tmpdir(), `${prefix}-`)), 'state')
  return { prefix, stateDir, kubeconfig: join(stateDir, 'api', 'kubeconfig') }
}

export interface CliResult { status: number | null; stdout: string; stderr: string }

export function lab(l: LabHandle, args: string[], timeoutMs = 240_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = labSpawn(l, args)
    let stdout = '', stderr = ''
    p.stdout!.on('data', (d: Buffer) => { if (stdout.length < 4 << 20) stdout += d })
    p.stderr!.on('data', (d: Buffer) => { if (stderr.length < 4 << 20) stderr += d })
    const timer = setTimeout(() => { try { process.kill(p.pid!, 'SIGKILL') } catch { /* gone */ } }, timeoutMs)
    p.once('exit', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}

/** The subcommand's own flags: --prefix only where the command takes it. */
export function labSpawn(l: LabHandle, args: string[]): ChildProcess {
  const withPrefix = args[0] === 'up' || args[0] === 'down'
  const full = ['lab', args[0]!, '--state-dir', l.stateDir, ...(withPrefix ? ['--prefix', l.prefix] : []), ...args.slice(1)]
  return spawn(PONTOON, full, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env })
}

export function kubectl(l: LabHandle, args: string[], input?: string): CliResult {
  const r = spawnSync('kubectl', ['--kubeconfig', l.kubeconfig, ...args], { encoding: 'utf8', input, timeout: 60_000 })
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' }
}

/**
 * kubectl without blocking the event loop: for tests that keep traffic flowing
 * in-process while they drive the cluster (a blocked loop turns answers into timeouts).
 */
export function kubectlAsync(l: LabHandle, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', l.kubeconfig, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: stdout ?? '', stderr: stderr ?? '' })
    })
  })
}

export async function kubectlJsonAsync(l: LabHandle, args: string[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await kubectlAsync(l, [...args, '-o', 'json'])
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

export function kubectlJson(l: LabHandle, args: string[]): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = kubectl(l, [...args, '-o', 'json'])
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

export interface LabStateFile { prefix: string; processes: Array<{ role: string; node?: string; pid: number; startTime: string }> }

export function readLabState(l: LabHandle): LabStateFile | undefined {
  try { return JSON.parse(readFileSync(join(l.stateDir, 'lab.json'), 'utf8')) as LabStateFile } catch { return undefined }
}

export function netnsWithPrefix(prefix: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  return out.split('\n').map((x) => x.split(' ')[0]!).filter((n) => n.startsWith(`${prefix}-`))
}

/** A live process (a zombie is not). */
export function alivePid(pid: number): boolean {
  let stat: string
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8') } catch { return false }
  return stat[stat.lastIndexOf(')') + 2] !== 'Z'
}

/** PIDs of processes in the namespace file's network namespace. */
export function pidsIn(nsName: string): number[] {
  let ino: number
  try { ino = statSync(`/run/netns/${nsName}`).ino } catch { return [] }
  const want = `net:[${ino}]`
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try { return readlinkSync(`/proc/${pid}/ns/net`) === want && alivePid(pid) } catch { return false }
  })
}

/** Processes anywhere whose command line names the state dir (the lab's API, agents, kubelets). */
export function pidsNaming(dir: string): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    if (pid === process.pid) return false
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) && alivePid(pid) } catch { return false }
  })
}

/** What a lab left: namespaces with its prefix, processes naming its state dir, the state dir itself. */
export function leftovers(l: LabHandle): string[] {
  return [
    ...netnsWithPrefix(l.prefix).map((n) => `netns ${n}`),
    ...pidsNaming(l.stateDir).map((p) => `process ${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200)}`),
    ...(existsSync(l.stateDir) ? [`dir ${l.stateDir}`] : []),
  ]
}

/** The environment of a process, as the kernel holds it. */
export function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {}
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=')
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return env
}

/** The root namespace's addresses and routes (read only), to prove the lab added none. */
export function rootNetworkView(): string {
  const addrs = spawnSync('ip', ['-br', 'addr'], { encoding: 'utf8' }).stdout
  const routes = spawnSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout
  return `${addrs}\n${routes}`
}

/** kubectl apply of objects given as JS (JSON is YAML). */
export function apply(l: LabHandle, ...objs: unknown[]): void {
  // a YAML stream of JSON documents (a v1 List is looked up in the OpenAPI document, which the lab API does not serve)
  const r = kubectl(l, ['apply', '-f', '-'], objs.map((o) => JSON.stringify(o)).join('\n---\n'))
  if (r.status !== 0) throw new Error(`kubectl apply: ${r.stderr}`)
}

/** A pod pinned to a node running `pontoon echo --port port`, Ready once it listens. */
export function echoPodManifest(name: string, node: string | undefined, labels: Record<string, string>, port = 8080): unknown {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
    spec: {
      ...(node ? { nodeName: node } : {}), terminationGracePeriodSeconds: 2,
      containers: [{ name: 'echo', image: 'pontoon/echo', command: ['pontoon', 'echo', '--port', String(port)], readinessProbe: { tcpSocket: { port }, periodSeconds: 1 } }],
    },
  }
}

export function podReady(p: any): boolean { // eslint-disable-line @typescript-eslint/no-explicit-any
  return Boolean(p?.status?.podIP) && Boolean(p?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
}

/** Run a command in a lab namespace by name (read-only inspection: ip, nft, bridge). */
export function inNs(ns: string, cmd: string, args: string[]): string {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, '--', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 })
  return (r.stdout ?? '') + (r.status === 0 ? '' : `\n[exit ${r.status}] ${r.stderr}`)
}
