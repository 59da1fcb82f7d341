// A throwaway containerd (Debian's 1.6 + runc) running inside a node netns, and
// a `ctr` that talks to it, for testing the CNI plugin under a real runtime.
//
// Everything lives under one tmp dir: containerd's root, state and sockets, a
// busybox rootfs, the IPAM data dir. containerd runs in its own mount namespace
// with a tmpfs on /run/containerd (where 1.6 puts shim sockets whatever the
// config says), so nothing of it shows outside. `ctr run --cni` only reads
// /etc/cni/net.d and /opt/cni/bin, so each ctr call runs in a private mount
// namespace where overlays put our conflist and plugins there: the real dirs
// are never written, and the overlays vanish when ctr exits.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Netns } from './netns.ts'
import { waitFor } from './wait.ts'

export interface CtrOutcome { status: number; stdout: string; stderr: string }

export interface Containerd {
  dir: string
  /** the gRPC socket ctr uses */
  address: string
  /** where the conflist's IPAM keeps its reservations */
  dataDir: string
  /** a fresh busybox rootfs dir for one `ctr run --rootfs` container */
  rootfs(name: string): string
  /** where ctr and the shims meet for container stdio (inside dir, seen by both mount namespaces) */
  fifoDir: string
  /** run ctr against this containerd, inside the node netns, with the CNI dirs overlaid */
  ctr(args: string[], opts?: { timeoutMs?: number }): CtrOutcome
  /** start ctr in the background (e.g. a foreground `ctr run --rm`); resolves with its exit code and output */
  ctrSpawn(args: string[]): { done: Promise<CtrOutcome> }
  /** containerd's own log, for failure messages */
  log(): string
  /** kill containers, shims and containerd by PID, unmount what is left under dir, remove dir; idempotent */
  stop(): void
}

const BUSYBOX = '/usr/bin/busybox'
const APPLETS = ['sh', 'ping', 'nc', 'ip', 'sleep', 'httpd', 'cat', 'echo', 'hostname']

/** A minimal rootfs: busybox and the applets the tests use, as symlinks. */
export function busyboxRootfs(dir: string): string {
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'www']) mkdirSync(join(dir, d), { recursive: true })
  execFileSync('cp', [BUSYBOX, join(dir, 'bin/busybox')])
  for (const a of APPLETS) symlinkSync('busybox', join(dir, 'bin', a))
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n')
  return dir
}

function configToml(dir: string, address: string): string {
  // CRI is off: ctr drives CNI itself through go-cni, the way `ctr run --cni` does in production labs.
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]',
    `  address = "${address}"`,
    '[ttrpc]',
    `  address = "${address}.ttrpc"`,
    '[debug]',
    '  address = ""',
    '  level = "info"',
    '[metrics]',
    '  address = ""',
    '',
  ].join('\n')
}

/** Start containerd in `node`'s netns; `conflist` is written (with dataDir filled in) as the only CNI config ctr sees. */
export async function startContainerd(node: Netns, opts: { conflist: Record<string, any>; binDir: string; refBinDir: string; refPlugins: string[] }): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-ctrd-'))
  const address = join(dir, 'containerd.sock')
  const dataDir = join(dir, 'ipam')
  const fifoDir = join(dir, 'fifo')
  mkdirSync(dataDir)
  mkdirSync(fifoDir)
  const rootfs = (name: string) => busyboxRootfs(join(dir, 'rootfs', name))

  // Upper layers of the overlays ctr sees on /etc and /opt.
  const etcUp = join(dir, 'etc-up'), optUp = join(dir, 'opt-up')
  mkdirSync(join(etcUp, 'cni/net.d'), { recursive: true })
  mkdirSync(join(optUp, 'cni/bin'), { recursive: true })
  for (const w of ['etc-work', 'opt-work']) mkdirSync(join(dir, w))
  const conflist = structuredClone(opts.conflist)
  for (const p of conflist.plugins ?? []) if (p.ipam) p.ipam.dataDir = dataDir
  writeFileSync(join(etcUp, 'cni/net.d/10-pontoon.conflist'), JSON.stringify(conflist, null, 2))
  // Our launchers find their Node next to themselves, so pontoon.d goes beside them.
  for (const name of ['pontoon-cni', 'pontoon-ipam', 'pontoon.d']) symlinkSync(join(opts.binDir, name), join(optUp, 'cni/bin', name))
  for (const name of opts.refPlugins) symlinkSync(join(opts.refBinDir, name), join(optUp, 'cni/bin', name))

  const cfg = join(dir, 'config.toml')
  writeFileSync(cfg, configToml(dir, address))
  const logPath = join(dir, 'containerd.log')
  writeFileSync(logPath, '')
  // containerd 1.6 puts shim sockets under /run/containerd whatever the config says.
  // In its private mount namespace that path is a dir of ours: bound over the
  // real one if it exists, else made inside an overlay of /run.
  const script = [
    'set -e',
    'if [ -d /run/containerd ]; then mount --bind "$1/run-own" /run/containerd',
    'else mount -t overlay overlay -o lowerdir=/run,upperdir="$1/run-up",workdir="$1/run-work" /run; fi',
    'exec containerd --config "$2" >>"$3" 2>&1',
  ].join('\n')
  for (const d of ['run-own', 'run-up', 'run-work']) mkdirSync(join(dir, d))
  const child: ChildProcess = spawn('nsenter', ['--net=' + node.path, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', dir, cfg, logPath], { stdio: 'ignore' })

  const log = () => { try { return readFileSync(logPath, 'utf8') } catch { return '' } }
  const overlay = [
    'set -e',
    'mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/etc-up",workdir="$1/etc-work" /etc',
    'mount -t overlay overlay -o lowerdir=/opt,upperdir="$1/opt-up",workdir="$1/opt-work" /opt',
    'shift',
    'exec ctr "$@"',
  ].join('\n')
  const ctrArgv = (args: string[]) => ['--net=' + node.path, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', overlay, 'sh', dir, '--address', address, ...args]
  const ctr = (args: string[], o: { timeoutMs?: number } = {}): CtrOutcome => {
    const r = spawnSync('nsenter', ctrArgv(args), { encoding: 'utf8', timeout: o.timeoutMs ?? 30_000 })
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') }
  }
  const background: ChildProcess[] = []
  const ctrSpawn = (args: string[]) => {
    const p = spawn('nsenter', ctrArgv(args), { stdio: ['ignore', 'pipe', 'pipe'] })
    background.push(p)
    let stdout = '', stderr = ''
    p.stdout!.on('data', (d) => { stdout += d })
    p.stderr!.on('data', (d) => { stderr += d })
    const done = new Promise<CtrOutcome>((res) => p.on('close', (code) => res({ status: code ?? -1, stdout, stderr })))
    return { done }
  }

  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    // Container processes outlive a killed shim, and shims outlive containerd:
    // kill all three by PID, the containers first (from ctr's own task list).
    const tasks = child.exitCode === null ? ctr(['task', 'ls'], { timeoutMs: 5000 }).stdout : ''
    const taskPids = [...tasks.matchAll(/^\S+\s+(\d+)\s+\S+$/gm)].map((m) => Number(m[1])).filter((p) => p > 0)
    const shims = pidsMentioning(address)
    for (const pid of [...taskPids, ...background.map((b) => b.pid), ...shims, child.pid]) if (pid) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m])
    rmSync(dir, { recursive: true, force: true })
  }

  // up to 30 s: a loaded CI box starts containerd slowly
  const up = await waitFor('containerd to answer', () => existsSync(address) && ctr(['version']).status === 0, { timeoutMs: 30_000, everyMs: 50, abandon: () => child.exitCode !== null }).catch(() => false)
  if (up) return { dir, address, dataDir, rootfs, fifoDir, ctr, ctrSpawn, log, stop }
  const text = log()
  stop()
  throw new Error(`containerd did not start:\n${text.slice(-3000)}`)
}

/** PIDs whose command line mentions `needle` (our containerd's socket), read from /proc. */
function pidsMentioning(needle: string): number[] {
  const out: number[] = []
  for (const entry of spawnSync('ls', ['/proc'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry))
    } catch { /* exited */ }
  }
  return out
}

/** Mount points at or below `dir` in our mount namespace. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(dir + '/'))
}
