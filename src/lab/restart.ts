// `pontoon lab restart api | agent NODE | kubelet NODE | dns NODE`: stop one recorded
// process by PID (SIGTERM, then SIGKILL after the grace), start it again with
// the command line `up` gave it, and record the new PID. The restart tests
// (an agent restart keeps connections and rules, an API restart reconverges)
// and a user changing a binary both need it.
import { join } from 'node:path'
import { agentArgs, apiArgs, cniBinPath, dnsArgs, inNode, kubeletArgs, labEnv, labPaths, type OverlayMode, type ProxyMode } from './commands.ts'
import { spawnDetached, stopRecorded, type ProcRecord } from './procs.ts'
import { writeState } from './state.ts'
import { requireState } from './status.ts'
import { labTopology } from './topology.ts'
import { LabUpError } from './wait.ts'

export const RESTARTABLE = ['api', 'agent', 'kubelet', 'dns'] as const

export async function restartProcess(stateDir: string, role: string, node: string | undefined, binDir: string): Promise<{ old: number | undefined; now: ProcRecord }> {
  const state = requireState(stateDir)
  const topo = labTopology(state.prefix, state.nodes)
  const paths = labPaths(stateDir, topo)
  if (!(RESTARTABLE as readonly string[]).includes(role)) throw new LabUpError('EROLE', `restart what? one of ${RESTARTABLE.join(', ')} (got "${role}")`)
  const n = role === 'api' ? undefined : topo.nodes.find((x) => x.name === node)
  if (role !== 'api' && !n) throw new LabUpError('ENONODE', `${role} needs --node, one of ${topo.nodes.map((x) => x.name).join(', ')} (got ${node ?? 'none'})`)
  if (role === 'api' && state.apiPort === undefined) throw new LabUpError('ESTATE', 'the lab never started its API')
  const i = state.processes.findIndex((p) => p.role === role && p.node === n?.name)
  const old = i >= 0 ? state.processes[i] : undefined
  // only a process that still is ours is stopped (and reported); one already gone is just started again
  const stopped = old ? await stopRecorded([old], stateDir, 10_000) : []
  const pontoon = join(binDir, 'pontoon')
  const env = labEnv(binDir)
  let cmd: { cmd: string; args: string[] }
  if (role === 'api') cmd = { cmd: pontoon, args: apiArgs(topo, paths, state.apiPort!) }
  else if (role === 'agent') cmd = inNode(n!, pontoon, agentArgs(n!, paths, state.proxyMode as ProxyMode, state.overlay as OverlayMode))
  else if (role === 'dns') cmd = inNode(n!, pontoon, dnsArgs(n!, paths))
  else cmd = inNode(n!, pontoon, kubeletArgs(n!, paths, cniBinPath(binDir)))
  const now = spawnDetached(role, cmd.cmd, cmd.args, paths.log(role, n?.name), env, n?.name)
  if (i >= 0) state.processes[i] = now
  else state.processes.push(now)
  writeState(stateDir, state)
  return { old: stopped[0], now }
}
