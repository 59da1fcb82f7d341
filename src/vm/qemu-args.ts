// The qemu command line of a harness guest. TCG, because /dev/kvm here is a nested
// hypervisor that only runs kernels built for it (research/vm.md); no network device at all
// (-nic none): the guest has only the networks it builds inside itself.
import { VmInputError } from './errors.ts'

export interface GuestSpec {
  kernel: string
  initrd: string
  /** MiB */
  mem: number
  /** host directory holding the job files; the guest reads it through the host-root share */
  jobDir: string
  /** kernel modules the guest loads before the command runs */
  modules: string[]
  /**
   * Host loopback ports forwarded to guest ports through qemu's user-mode network, with
   * restrict=on: the guest reaches nothing outside, only these forwards reach in. Without
   * any, the guest has no network device at all.
   */
  forwards?: PortForward[]
  /** the command's stdout and stderr to these host files instead of the UNIX sockets */
  outputFiles?: { stdout: string; stderr: string }
}

export interface PortForward { hostPort: number; guestPort: number }

/** The address qemu's user-mode network gives its first guest; its forwards land there. */
export const GUEST_ADDR = '10.0.2.15'
/** The NIC driver the guest loads when it has a forwarded port. */
export const GUEST_NIC_MODULE = 'virtio_net'

export const MIN_MEM = 256
export const MAX_MEM = 16384
const MODULE = /^[a-z0-9_-]{1,56}$/
// A kernel command-line word: no blanks, no quotes the kernel would interpret.
const CMDLINE_WORD = /^[A-Za-z0-9_./+-]+$/

export function kernelCmdline(spec: Pick<GuestSpec, 'jobDir' | 'modules'> & { net?: boolean }): string {
  if (!spec.jobDir.startsWith('/') || !CMDLINE_WORD.test(spec.jobDir)) {
    throw new VmInputError(`job directory ${JSON.stringify(spec.jobDir)} cannot be passed on a kernel command line`)
  }
  for (const m of spec.modules) {
    if (!MODULE.test(m)) throw new VmInputError(`${JSON.stringify(m)} is not a kernel module name`)
  }
  const words = ['console=ttyS0', 'quiet', 'loglevel=3', 'rdinit=/init', 'panic=-1', `pontoon.job=${spec.jobDir}`]
  if (spec.modules.length > 0) words.push(`pontoon.modules=${spec.modules.join(',')}`)
  // the init gives eth0 the address the forwards target
  if (spec.net) words.push(`pontoon.addr=${GUEST_ADDR}/24`)
  return words.join(' ')
}

/**
 * qemu's argv. The serial ports are the guest's only channels out: ttyS0 is the console
 * (qemu's stdout: boot messages and the init's markers), ttyS1 the command's stdout and
 * ttyS2 its stderr, written to the host fds 3 and 4 that the spawner opens for qemu.
 */
/**
 * Loaded at boot. br_netfilter because nothing asks the kernel for it: without it a
 * pod's reply to a pod on the same bridge skips netfilter, so a ClusterIP connection
 * DNATed to a same-node pod is never un-NATed (kubeadm lists it as a prerequisite).
 */
export const DEFAULT_MODULES = ['ip_vs', 'br_netfilter']

export function qemuArgs(spec: GuestSpec): string[] {
  if (!Number.isInteger(spec.mem) || spec.mem < MIN_MEM || spec.mem > MAX_MEM) {
    throw new VmInputError(`--mem ${spec.mem}: give whole MiB between ${MIN_MEM} and ${MAX_MEM}`)
  }
  const forwards = spec.forwards ?? []
  for (const f of forwards) {
    for (const p of [f.hostPort, f.guestPort]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw new VmInputError(`port ${p} in a forward is not 1..65535`)
    }
  }
  const modules = forwards.length > 0 && !spec.modules.includes(GUEST_NIC_MODULE) ? [GUEST_NIC_MODULE, ...spec.modules] : spec.modules
  const nic = forwards.length === 0
    ? 'none'
    : ['user', 'model=virtio-net-pci', 'restrict=on', ...forwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`)].join(',')
  const out = spec.outputFiles
  for (const f of out ? [out.stdout, out.stderr] : []) {
    // qemu's option syntax splits on commas
    if (!f.startsWith('/') || f.includes(',')) throw new VmInputError(`output file ${JSON.stringify(f)} must be an absolute path without commas`)
  }
  return [
    '-accel', 'tcg', '-cpu', 'max', '-M', 'q35', '-m', String(spec.mem),
    // one vCPU: MTTCG with two vCPUs on two host cores is slower (research/vm.md)
    '-smp', '1',
    '-display', 'none', '-monitor', 'none', '-nic', nic, '-no-reboot',
    '-kernel', spec.kernel, '-initrd', spec.initrd,
    '-append', kernelCmdline({ jobDir: spec.jobDir, modules, net: forwards.length > 0 }),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-chardev', out ? `file,id=out,path=${out.stdout}` : `socket,id=out,path=${socketPath(spec.jobDir, 'stdout')}`,
    '-chardev', out ? `file,id=err,path=${out.stderr}` : `socket,id=err,path=${socketPath(spec.jobDir, 'stderr')}`,
    '-serial', 'stdio', '-serial', 'chardev:out', '-serial', 'chardev:err',
  ]
}

export function socketPath(jobDir: string, stream: 'stdout' | 'stderr'): string {
  return `${jobDir}/${stream}.sock`
}
