// Pure: how `pontoon lab up --vm` lays out a lab inside one qemu guest. The host keeps its
// state dir as for the namespace lab (lab.json, api/kubeconfig, logs) plus vm/: the guest's
// job files and the control token. The guest runs `pontoon lab guest` with the same lab
// flags; that process runs the namespace lab in the guest and serves the control channel.
import { join } from 'node:path'
import { LabVmError } from './errors.ts'

/** The guest's own lab state dir: its /run is a fresh tmpfs, never the host's state. */
export const GUEST_STATE_DIR = '/run/pontoon-lab'
/** Where the guest's init binds the host's job dir (read-only). */
export const GUEST_JOB_DIR = '/run/pontoon-vm'
/** Guest ports the host's forwards land on: the API relay and the control listener. */
export const GUEST_API_PORT = 6443
export const GUEST_CONTROL_PORT = 7070
/** The guest lab's deadlines, stretched: TCG runs Node and every exec several times slower than a host. */
export const GUEST_PATIENCE = 10
/** qemu is slow under TCG: 2 GiB holds the API, two processes per node and the pods. */
export const DEFAULT_VM_MEM = 2048
/** seconds from qemu's start to a lab that answers; TCG starts each Node process in ~1.4 s */
export const DEFAULT_VM_TIMEOUT = 900

export interface VmPaths {
  jobDir: string
  token: string
  console: string
  guestStdout: string
  guestStderr: string
}

export function vmPaths(stateDir: string): VmPaths {
  const jobDir = join(stateDir, 'vm')
  const logs = join(stateDir, 'logs')
  return {
    jobDir,
    token: join(jobDir, 'token'),
    console: join(logs, 'vm-console.log'),
    guestStdout: join(logs, 'vm-guest.log'),
    guestStderr: join(logs, 'vm-guest.err'),
  }
}

export interface GuestLabFlags { nodes: number; proxyMode: string; overlay: string; prefix: string; demo: boolean }

/** The guest's command: the same lab flags, its own state dir, the token the host wrote. */
export function guestArgv(pontoon: string, f: GuestLabFlags): string[] {
  return [pontoon, 'lab', 'guest',
    '--token-file', join(GUEST_JOB_DIR, 'token'),
    '--state-dir', GUEST_STATE_DIR,
    '--nodes', String(f.nodes), '--proxy-mode', f.proxyMode, '--overlay', f.overlay, '--prefix', f.prefix,
    f.demo ? '--demo' : '--no-demo']
}

/** Only what the guest's lab needs from the host's environment (the host-namespace guard passes on). */
export function guestEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' }
  if (env.PONTOON_FORBID_NETNS) out.PONTOON_FORBID_NETNS = env.PONTOON_FORBID_NETNS
  return out
}

/**
 * The guest API's kubeconfig made the host's: same CA and token, the server the host
 * forward. The API's certificate always names 127.0.0.1, so TLS verifies through it.
 */
export function hostKubeconfig(guestText: string, hostPort: number): string {
  let doc: unknown
  try { doc = JSON.parse(guestText) } catch (e) {
    throw new LabVmError('EVMKUBECONFIG', `the guest's kubeconfig is not JSON: ${(e as Error).message}`)
  }
  const clusters = (doc as { clusters?: unknown }).clusters
  if (!Array.isArray(clusters) || clusters.length !== 1 || typeof clusters[0]?.cluster?.server !== 'string') {
    throw new LabVmError('EVMKUBECONFIG', "the guest's kubeconfig does not name exactly one cluster server")
  }
  clusters[0].cluster.server = `https://127.0.0.1:${hostPort}`
  return JSON.stringify(doc, null, 2) + '\n'
}

/** Lab subcommands the host hands to the guest, and their words there. */
export const FORWARDED = ['status', 'exec', 'restart'] as const
export const MAX_FORWARD_ARGS = 256
export const MAX_FORWARD_ARG_BYTES = 4096

/** `pontoon lab <sub> --state-dir <guest dir> ...rest` in the guest; refuses anything else. */
export function guestLabArgs(args: unknown): string[] {
  if (!Array.isArray(args) || args.length === 0 || args.length > MAX_FORWARD_ARGS) {
    throw new LabVmError('EVMARGS', `args must be a list of 1..${MAX_FORWARD_ARGS} words`)
  }
  for (const a of args) {
    if (typeof a !== 'string' || Buffer.byteLength(a) > MAX_FORWARD_ARG_BYTES || a.includes('\0')) {
      throw new LabVmError('EVMARGS', `every word must be a string of at most ${MAX_FORWARD_ARG_BYTES} bytes without NUL`)
    }
  }
  const [sub, ...rest] = args as string[]
  if (!(FORWARDED as readonly string[]).includes(sub!)) throw new LabVmError('EVMARGS', `"${sub}" is not one of ${FORWARDED.join(', ')}`)
  return ['lab', sub!, '--state-dir', GUEST_STATE_DIR, ...rest]
}
