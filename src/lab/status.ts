// `pontoon lab status`: nodes, pods, services and the health of each node's
// agent and kubelet, as tables. Gathering is I/O; statusTables is pure.
import type { Obj } from './api-client.ts'
import { labPaths } from './commands.ts'
import { httpGetInNetns } from './ns-probe.ts'
import { isOurs, type ProcRecord } from './procs.ts'
import { readState, type LabState } from './state.ts'
import { AGENT_HEALTHZ_PORT, KUBELET_HEALTHZ_PORT, labTopology, netnsPath } from './topology.ts'
import { renderTable } from './text-table.ts'
import { labApi } from './up.ts'
import { LabUpError } from './wait.ts'

export interface Health { node: string; role: string; pid: number; running: boolean; healthz: number | undefined }

export interface StatusData { nodes: Obj[]; pods: Obj[]; services: Obj[]; health: Health[] }

const cond = (o: Obj, type: string) => (o.status?.conditions as Obj[] | undefined)?.find((c) => c.type === type)?.status ?? 'Unknown'

export function statusTables(d: StatusData): string {
  const nodes = renderTable(['NODE', 'INTERNAL-IP', 'POD-CIDR', 'READY', 'BACKEND', 'VTEP-MAC'], d.nodes.map((n) => [
    n.metadata.name,
    (n.status?.addresses as Obj[] | undefined)?.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
    n.spec?.podCIDR ?? '<none>',
    cond(n, 'Ready'),
    n.metadata.annotations?.['pontoon.io/backend-type'] ?? '-',
    n.metadata.annotations?.['pontoon.io/vtep-mac'] ?? '-',
  ]))
  const pods = renderTable(['NAMESPACE', 'POD', 'NODE', 'IP', 'PHASE', 'READY'], d.pods.map((p) => [
    p.metadata.namespace, p.metadata.name, p.spec?.nodeName ?? '<none>', p.status?.podIP ?? '<none>', p.status?.phase ?? 'Pending', cond(p, 'Ready'),
  ]))
  const ports = (s: Obj) => ((s.spec?.ports as Obj[] | undefined) ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'
  const services = renderTable(['NAMESPACE', 'SERVICE', 'TYPE', 'CLUSTER-IP', 'PORTS'], d.services.map((s) => [
    s.metadata.namespace, s.metadata.name, s.spec?.type ?? 'ClusterIP', s.spec?.clusterIP ?? '<none>', ports(s),
  ]))
  const health = renderTable(['NODE', 'PROCESS', 'PID', 'RUNNING', 'HEALTHZ'], d.health.map((h) => [
    h.node, h.role, String(h.pid), h.running ? 'yes' : 'no', h.healthz === undefined ? 'no answer' : String(h.healthz),
  ]))
  return [nodes, pods, services, health].join('\n')
}

export function requireState(stateDir: string): LabState {
  const s = readState(stateDir)
  if (!s) throw new LabUpError('ENOLAB', `no lab in ${stateDir} (no lab.json): run pontoon lab up first`)
  return s
}

export async function gatherStatus(stateDir: string): Promise<StatusData> {
  const state = requireState(stateDir)
  const topo = labTopology(state.prefix, state.nodes)
  const api = await labApi(labPaths(stateDir, topo).kubeconfig)
  try {
    const [nodes, pods, services] = await Promise.all([api.list('/api/v1/nodes'), api.list('/api/v1/pods'), api.list('/api/v1/services')])
    const port = (r: ProcRecord) => (r.role === 'agent' ? AGENT_HEALTHZ_PORT : KUBELET_HEALTHZ_PORT)
    const health = await Promise.all(state.processes.filter((r) => r.node).map(async (r): Promise<Health> => {
      const node = topo.nodes.find((n) => n.name === r.node)
      const h = node ? await httpGetInNetns(netnsPath(node.netns), '127.0.0.1', port(r), '/healthz', 2000) : undefined
      return { node: r.node!, role: r.role, pid: r.pid, running: isOurs(r, stateDir), healthz: h?.status }
    }))
    return { nodes, pods, services, health }
  } finally {
    api.close()
  }
}
