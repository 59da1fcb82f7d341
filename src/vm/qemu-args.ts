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
}

export const MIN_MEM = 256
export const MAX_MEM = 16384
const MODULE = /^[a-z0-9_-]{1,56}$/
// A kernel command-line word: no blanks, no quotes the kernel would interpret.
const CMDLINE_WORD = /^[A-Za-z0-9_./+-]+$/

export function kernelCmdline(spec: Pick<GuestSpec, 'jobDir' | 'modules'>): string {
  if (!spec.jobDir.startsWith('/') || !CMDLINE_WORD.test(spec.jobDir)) {
    throw new VmInputError(`job directory ${JSON.stringify(spec.jobDir)} cannot be passed on a kernel command line`)
  }
  for (const m of spec.modules) {
    if (!MODULE.test(m)) throw new VmInputError(`${JSON.stringify(m)} is not a kernel module name`)
  }
  const words = ['console=ttyS0', 'quiet', 'loglevel=3', 'rdinit=/init', 'panic=-1', `pontoon.job=${spec.jobDir}`]
  if (spec.modules.length > 0) words.push(`pontoon.modules=${spec.modules.join(',')}`)
  return words.join(' ')
}

/**
 * qemu's argv. The serial ports are the guest's only channels out: ttyS0 is the console
 * (qemu's stdout: boot messages and the init's markers), ttyS1 the command's stdout and
 * ttyS2 its stderr, written to the host fds 3 and 4 that the spawner opens for qemu.
 */
export function qemuArgs(spec: GuestSpec): string[] {
  if (!Number.isInteger(spec.mem) || spec.mem < MIN_MEM || spec.mem > MAX_MEM) {
    throw new VmInputError(`--mem ${spec.mem}: give whole MiB between ${MIN_MEM} and ${MAX_MEM}`)
  }
  return [
    '-accel', 'tcg', '-cpu', 'max', '-M', 'q35', '-m', String(spec.mem),
    // one vCPU: MTTCG with two vCPUs on two host cores is slower (research/vm.md)
    '-smp', '1',
    '-display', 'none', '-monitor', 'none', '-nic', 'none', '-no-reboot',
    '-kernel', spec.kernel, '-initrd', spec.initrd,
    '-append', kernelCmdline(spec),
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-chardev', `socket,id=out,path=${socketPath(spec.jobDir, 'stdout')}`,
    '-chardev', `socket,id=err,path=${socketPath(spec.jobDir, 'stderr')}`,
    '-serial', 'stdio', '-serial', 'chardev:out', '-serial', 'chardev:err',
  ]
}

export function socketPath(jobDir: string, stream: 'stdout' | 'stderr'): string {
  return `${jobDir}/${stream}.sock`
}
