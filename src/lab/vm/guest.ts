// `pontoon lab guest`: the process the VM's init runs. It opens the control listener and the
// API relay on the guest's NIC, runs the namespace lab (labUp, the same code and flags as
// on a host), and then serves until the host stops the VM.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { labPaths } from '../commands.ts'
import { readState } from '../state.ts'
import { labTopology } from '../topology.ts'
import { labUp, type UpOptions } from '../up.ts'
import { startControl, UpLog } from './control-server.ts'
import { LabVmError } from './errors.ts'
import { GUEST_API_PORT, GUEST_CONTROL_PORT, GUEST_PATIENCE } from './plan.ts'
import { setLabPatience } from '../wait.ts'
import { GUEST_ADDR } from '../../vm/qemu-args.ts'

export async function runGuest(o: Omit<UpOptions, 'log'> & { tokenFile: string }): Promise<void> {
  let token: string
  try { token = readFileSync(o.tokenFile, 'utf8').trim() } catch (e) {
    throw new LabVmError('EVMTOKEN', `cannot read the control token ${o.tokenFile}: ${(e as Error).message}`)
  }
  if (!token) throw new LabVmError('EVMTOKEN', `the control token ${o.tokenFile} is empty`)
  setLabPatience(GUEST_PATIENCE)
  const log = new UpLog()
  const say = (s: string) => { log.push(s); console.log(s) }
  const kubeconfigPath = labPaths(o.stateDir, labTopology(o.prefix, o.nodes)).kubeconfig
  const { startRelay } = await import('./relay.ts')
  await startControl({
    token, host: GUEST_ADDR, port: GUEST_CONTROL_PORT, log,
    kubeconfig: () => { try { return log.done ? readFileSync(kubeconfigPath, 'utf8') : undefined } catch { return undefined } },
    pontoon: join(o.binDir, 'pontoon'),
    env: process.env,
  })
  await startRelay(GUEST_ADDR, GUEST_API_PORT, () => { try { return readState(o.stateDir)?.apiPort } catch { return undefined } })
  say(`guest: control on ${GUEST_ADDR}:${GUEST_CONTROL_PORT}, API relay on ${GUEST_ADDR}:${GUEST_API_PORT}; lab up`)
  try {
    const r = await labUp({ ...o, log: say })
    log.passed = r.passed
  } catch (e) {
    const err = e as Error & { code?: string }
    log.error = { code: err.code ?? 'ERROR', message: err.message }
    say(`guest: lab up failed: ${err.code ?? 'ERROR'}: ${err.message}`)
  }
  log.done = true
  // serve until the host stops the VM
  await new Promise<never>(() => { /* the listeners keep the process alive */ })
}
