// `pontoon lab up --vm`: the whole namespace lab inside one long-lived qemu guest. The host
// cleans what an earlier lab left (a stale VM too: its PID is in lab.json), writes the job
// and a control token, starts qemu with two forwards on its loopback (the API, the control
// listener) and no uplink, and follows the guest's `lab up` until it ends. Then the guest
// API's kubeconfig, pointed at the forward, is the host's: kubectl works as for the
// namespace lab, and status/exec/restart go through the control listener.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../../sys/atomic-write.ts'
import { findImage, type VmImage } from '../../vm/image.ts'
import { encodeJob } from '../../vm/job.ts'
import { DEFAULT_MODULES, qemuArgs } from '../../vm/qemu-args.ts'
import { labPaths } from '../commands.ts'
import { alive, spawnDetached } from '../procs.ts'
import { addProcess, checkStateDir, writeState, type LabState } from '../state.ts'
import { cleanLab } from '../teardown.ts'
import { labTopology } from '../topology.ts'
import { freeLoopbackPort, type UpOptions, type UpResult } from '../up.ts'
import { tailFile } from '../wait.ts'
import { ControlClient } from './control-client.ts'
import { makeToken } from './control-auth.ts'
import { LabVmError } from './errors.ts'
import { DEFAULT_VM_MEM, DEFAULT_VM_TIMEOUT, GUEST_API_PORT, GUEST_CONTROL_PORT, guestArgv, guestEnv, hostKubeconfig, vmPaths } from './plan.ts'

export interface VmUpOptions extends UpOptions {
  /** guest MiB */
  mem?: number
  /** seconds until the guest's lab must have finished `up` */
  timeout?: number
  image?: VmImage
  qemu?: string
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function labUpVm(o: VmUpOptions): Promise<UpResult> {
  const t0 = performance.now()
  const progress = (s: string) => o.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`)
  const mem = o.mem ?? DEFAULT_VM_MEM
  const timeout = o.timeout ?? DEFAULT_VM_TIMEOUT
  if (!Number.isFinite(timeout) || timeout <= 0) throw new LabVmError('EVMINPUT', `--vm-timeout ${timeout}: give a positive number of seconds`)
  checkStateDir(o.stateDir)
  const image = o.image ?? findImage()
  const topo = labTopology(o.prefix, o.nodes)
  const guestCmd = guestArgv(join(o.binDir, 'pontoon'), o)
  // The bin directory as the working directory: the guest keeps the host's copy of
  // it even under /tmp or /run (a CI checkout), which the guest otherwise mounts afresh.
  const job = encodeJob({ argv: guestCmd, env: guestEnv(process.env), cwd: o.binDir })
  const vp = vmPaths(o.stateDir)
  const [apiPort, controlPort] = await twoPorts()
  // refuses bad memory sizes, paths and ports before anything is cleaned or started
  const args = qemuArgs({ ...image, mem, jobDir: vp.jobDir, modules: DEFAULT_MODULES, forwards: [{ hostPort: apiPort, guestPort: GUEST_API_PORT }, { hostPort: controlPort, guestPort: GUEST_CONTROL_PORT }], outputFiles: { stdout: vp.guestStdout, stderr: vp.guestStderr } })

  const cleaned = await cleanLab(o.stateDir, o.prefix)
  if (cleaned.stopped.length || cleaned.killed.length || cleaned.netns.length) {
    progress(`cleaned an earlier lab: ${cleaned.stopped.length + cleaned.killed.length} processes, ${cleaned.netns.length} namespaces`)
  }
  const paths = labPaths(o.stateDir, topo)
  for (const d of [o.stateDir, paths.logs, paths.apiDir, vp.jobDir]) mkdirSync(d, { recursive: true, mode: 0o700 })
  const token = makeToken()
  writeFileAtomic(vp.token, token + '\n', 0o600)
  writeFileSync(join(vp.jobDir, 'argv'), job.argv)
  writeFileSync(join(vp.jobDir, 'env'), job.env, { mode: 0o600 })
  writeFileSync(join(vp.jobDir, 'cwd'), job.cwd)
  const state: LabState = { version: 1, prefix: o.prefix, nodes: o.nodes, proxyMode: o.proxyMode, overlay: o.overlay, apiPort, processes: [], complete: false, vm: { controlPort, mem } }
  writeState(o.stateDir, state)
  const vm = spawnDetached('vm', o.qemu ?? 'qemu-system-x86_64', args, vp.console, process.env)
  addProcess(o.stateDir, state, vm)
  progress(`vm: qemu pid ${vm.pid} (${mem} MiB, TCG), forwards 127.0.0.1:${apiPort} -> API, 127.0.0.1:${controlPort} -> control; no uplink`)

  const client = new ControlClient(controlPort, token)
  try {
    let from = 0
    let answered = false
    const end = Date.now() + timeout * 1000
    for (;;) {
      if (!alive(vm.pid)) throw new LabVmError('EVMEXIT', `the VM (qemu pid ${vm.pid}) exited before its lab was up; console:\n${tailFile(vp.console)}${tailFile(vp.guestStderr)}`)
      if (Date.now() > end) throw new LabVmError('EVMTIMEOUT', `the guest's lab was not up within ${timeout} s (--vm-timeout); console:\n${tailFile(vp.console)}`)
      let p
      try { p = await client.up(from) } catch { await pause(250); continue }
      if (!answered) { answered = true; progress('vm: the guest answers on its control listener') }
      for (const line of p.lines) o.log(`  guest ${line}`)
      from = p.next
      if (p.done) {
        if (p.error) throw new LabVmError(p.error.code, `in the guest: ${p.error.message}`)
        writeFileAtomic(paths.kubeconfig, hostKubeconfig(await client.kubeconfig(), apiPort), 0o600)
        state.complete = true
        writeState(o.stateDir, state)
        progress(`vm: lab up in the guest ${p.passed ? 'passed' : 'FAILED'}; kubeconfig ${paths.kubeconfig} (https://127.0.0.1:${apiPort}); pontoon lab down stops the VM`)
        return { passed: p.passed ?? false }
      }
      await pause(500)
    }
  } catch (e) {
    // nothing half-built stays: the VM and the state go (the guest's log is in the error and in logs/)
    await cleanLab(o.stateDir, o.prefix)
    throw e
  }
}

async function twoPorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freeLoopbackPort()
    const b = await freeLoopbackPort()
    if (a !== b) return [a, b]
  }
}
