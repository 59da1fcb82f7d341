// A "kind node" on this machine: a node netns on the wire, and a private mount
// namespace (slave of the host's, so pod netns files made later still appear)
// in which containerd (Debian's 1.6 + runc) runs with the node's own /run, and
// overlays give it its own /etc/cni/net.d, /opt/cni/bin and /var/lib/cni, the
// dirs a kind node has. ctr, the CNI plugins of "CRI" calls and hostPath
// creation all run inside that mount namespace, as on a node; nothing of it
// shows outside, and everything lives under one tmp dir.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mountsUnder } from './containerd.ts'
import type { Netns } from './netns.ts'
import { waitFor } from './wait.ts'

/** What a kind node ships in /opt/cni/bin (kind images/base): no bridge, pontoon brings its own. */
export const KIND_PLUGINS = ['host-local', 'loopback', 'ptp', 'portmap']
const REF_DIR = '/usr/lib/cni'

export interface Outcome { status: number; stdout: string; stderr: string }

export interface KindNode {
  name: string
  ip: string
  ns: Netns
  dir: string
  /** run a command in the node's net + mount namespaces */
  exec(cmd: string, args: string[], o?: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Outcome
  /** ctr against this node's containerd, namespace k8s.io (the CRI's, where kind loads images) */
  ctr(args: string[], o?: { input?: string | Buffer; timeoutMs?: number }): Outcome
  fifoDir: string
  log(): string
  stop(): void
}

function configToml(dir: string, address: string): string {
  return [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
    '[grpc]', `  address = "${address}"`,
    '[ttrpc]', `  address = "${address}.ttrpc"`,
    '[debug]', '  address = ""', '  level = "info"',
    '[metrics]', '  address = ""', '',
  ].join('\n')
}

// The node's mounts, then containerd. The host's /run/netns is kept aside
// before the node's own /run covers it and bound back: netns files created on
// the host afterwards (pod sandboxes) propagate in, since every mount here is a slave.
const NODE_SCRIPT = [
  'set -e',
  'd=$1',
  'mount --rbind /run/netns "$d/netns-keep"',
  'mount --bind "$d/run" /run',
  'mkdir -p /run/netns',
  'mount --rbind "$d/netns-keep" /run/netns',
  'mkdir -p "$d/usr-up/lib/modules"',
  'for p in etc opt var/lib usr; do u=$(echo $p | tr / -); mount -t overlay overlay -o lowerdir=/$p,upperdir="$d/$u-up",workdir="$d/$u-work" /$p; done',
  'exec containerd --config "$2" >>"$3" 2>&1',
].join('\n')

export async function startKindNode(ns: Netns, name: string, ip: string): Promise<KindNode> {
  const dir = mkdtempSync(join(tmpdir(), `pontoon-kind-${name}-`))
  const address = join(dir, 'containerd.sock')
  const fifoDir = join(dir, 'fifo')
  for (const d of ['fifo', 'netns-keep', 'run', 'etc-up/cni/net.d', 'etc-work', 'opt-up/cni/bin', 'opt-work', 'var-lib-up/cni', 'var-lib-work', 'usr-up', 'usr-work']) mkdirSync(join(dir, d), { recursive: true })
  for (const p of KIND_PLUGINS) copyFileSync(join(REF_DIR, p), join(dir, 'opt-up/cni/bin', p))
  spawnSync('chmod', ['0755', ...KIND_PLUGINS.map((p) => join(dir, 'opt-up/cni/bin', p))])
  const cfg = join(dir, 'config.toml')
  writeFileSync(cfg, configToml(dir, address))
  const logPath = join(dir, 'containerd.log')
  writeFileSync(logPath, '')
  const child: ChildProcess = spawn('nsenter', ['--net=' + ns.path, '--', 'unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', NODE_SCRIPT, 'sh', dir, cfg, logPath], { stdio: 'ignore' })
  const log = () => { try { return readFileSync(logPath, 'utf8') } catch { return '' } }

  const exec: KindNode['exec'] = (cmd, args, o = {}) => {
    const r: SpawnSyncReturns<string> = spawnSync('nsenter', ['--net=' + ns.path, `--mount=/proc/${child.pid}/ns/mnt`, '--', cmd, ...args], {
      encoding: 'utf8', input: o.input, env: o.env ?? process.env, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 << 20,
    })
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') }
  }
  const ctr: KindNode['ctr'] = (args, o = {}) => exec('ctr', ['--address', address, '--namespace', 'k8s.io', ...args], o)

  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    // Containers outlive a killed shim and shims outlive containerd: kill all three by PID.
    const tasks = child.exitCode === null ? ctr(['task', 'ls'], { timeoutMs: 10_000 }).stdout : ''
    const taskPids = [...tasks.matchAll(/^\S+\s+(\d+)\s+\S+$/gm)].map((m) => Number(m[1])).filter((p) => p > 0)
    const shims = pidsMentioning(address)
    for (const pid of [...taskPids, ...shims, child.pid]) if (pid) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m])
    rmSync(dir, { recursive: true, force: true })
  }
  const up = await waitFor(`containerd on ${name}`, () => existsSync(address) && ctr(['version']).status === 0, { timeoutMs: 60_000, everyMs: 100, abandon: () => child.exitCode !== null }).catch(() => false)
  if (!up) {
    const text = log()
    stop()
    throw new Error(`containerd on ${name} did not start:\n${text.slice(-3000)}`)
  }
  return { name, ip, ns, dir, exec, ctr, fifoDir, log, stop }
}

/** PIDs whose command line mentions `needle` (a containerd socket), read from /proc. */
export function pidsMentioning(needle: string): number[] {
  const out: number[] = []
  for (const entry of spawnSync('ls', ['/proc'], { encoding: 'utf8' }).stdout.split('\n')) {
    if (!/^\d+$/.test(entry)) continue
    try { if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry)) } catch { /* exited */ }
  }
  return out
}
