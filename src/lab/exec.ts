// `pontoon lab exec <pod|node-N|outside> -- cmd...`: the command runs in that
// namespace through nsenter --net= (the mounts stay the host's, as in the lab's
// own processes), with the terminal passed through; its exit code is ours.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { labPaths } from './commands.ts'
import { podNetnsName } from './pod-netns.ts'
import { requireState } from './status.ts'
import { labTopology, netnsPath, type LabTopology } from './topology.ts'
import { labApi } from './up.ts'
import { LabUpError } from './wait.ts'

/** Pure: a node or the outside client by name; undefined for a pod (it needs the API). */
export function fixedTarget(topo: LabTopology, target: string): string | undefined {
  if (target === 'outside') return topo.outside.netns
  if (target === 'wire') return topo.wire.netns
  const n = topo.nodes.find((x) => x.name === target)
  if (n) return n.netns
  if (/^node-\d+$/.test(target)) throw new LabUpError('ENONODE', `no ${target} in this lab (nodes: ${topo.nodes.map((x) => x.name).join(', ')})`)
  return undefined
}

export async function resolveTarget(stateDir: string, target: string, namespace: string): Promise<string> {
  const state = requireState(stateDir)
  const topo = labTopology(state.prefix, state.nodes)
  const fixed = fixedTarget(topo, target)
  if (fixed) return fixed
  const api = await labApi(labPaths(stateDir, topo).kubeconfig)
  try {
    const r = await api.call('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(target)}`)
    if (r.status === 404) throw new LabUpError('ENOPOD', `no pod "${target}" in namespace "${namespace}" (and not node-N or outside)`)
    if (r.status !== 200) throw new LabUpError('EAPI', `get pod ${namespace}/${target}: HTTP ${r.status}`)
    return podNetnsName(topo, r.body?.spec?.nodeName, r.body?.metadata?.uid)
  } finally {
    api.close()
  }
}

export function execIn(netns: string, cmd: string[]): Promise<number> {
  if (!cmd.length) return Promise.reject(new LabUpError('ENOCMD', 'name a command after --'))
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath(netns)}`, '--', ...cmd], { stdio: 'inherit' })
    child.once('error', (e) => reject(new LabUpError('EEXEC', `nsenter: ${e.message}`)))
    child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)))
  })
}
