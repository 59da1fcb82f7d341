// Host side of `lab status|exec|restart` for a lab that runs in a VM: the same command runs
// in the guest through the control listener; its output and exit code are ours.
import { readState } from '../state.ts'
import { ControlClient } from './control-client.ts'
import { vmPaths } from './plan.ts'

/** The control client of the VM lab in stateDir, or undefined for a namespace lab (or none). */
export function vmLab(stateDir: string): ControlClient | undefined {
  const s = readState(stateDir)
  if (!s?.vm) return undefined
  return ControlClient.fromTokenFile(s.vm.controlPort, vmPaths(stateDir).token)
}

export async function forwardToGuest(client: ControlClient, args: string[]): Promise<number> {
  const r = await client.run(args)
  process.stdout.write(Buffer.from(r.stdout, 'binary'))
  process.stderr.write(Buffer.from(r.stderr, 'binary'))
  return r.code
}
