// The overlay's multi-node lab for tests and benches: an underlay bridge
// namespace, N node namespaces on it (each with a pod bridge and pod namespaces
// on plain veths), an "outside" namespace on the underlay, and `pontoon api`
// listening inside the wire namespace where the node agents reach it, like the
// lab does. Nothing here touches the root namespace but the API's loopback listener.
//
//   wire: br0 172.19.0.1/24  (API 172.19.0.1:6443)      outside: 172.19.0.200/24
//   node-i: eth0 172.19.0.(10+i)/24, pod bridge pbr0 10.244.i.1/24, pods 10.244.i.(10+j)
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { call, endpointOf, request, type ApiEndpoint } from '../fixtures/api/harness.ts'
import { makeNetns, type Netns } from './netns.ts'
import { freePort } from './ports.ts'
import { LabError, PONTOON, startAgent, type AgentProc } from './proxy-lab.ts'
import { waitFor } from './wait.ts'

export const WIRE_IP = '172.19.0.1'
export const WIRE_PREFIX = 24
export const OUTSIDE_IP = '172.19.0.200'
export const CLUSTER_CIDR = '10.244.0.0/16'
export const API_PORT = 6443
export const NODES = '/api/v1/nodes'

interface Teardown { teardown(fn: () => unknown): void }

export interface LabNode {
  name: string
  index: number
  ns: Netns
  ip: string
  podCIDR: string
  pods: Array<{ ns: Netns; ip: string }>
}

export interface OverlayLab {
  wire: Netns
  outside: Netns
  nodes: LabNode[]
}

const nodeIp = (i: number) => `172.19.0.${10 + i}`

/** Wire, outside and `count` node namespaces with `podsPerNode` pods each. */
export function buildOverlayLab(t: Teardown, count: number, podsPerNode = 1): OverlayLab {
  const all: Netns[] = []
  t.teardown(() => { for (const ns of all.reverse()) ns.destroy() })
  const make = (tag: string) => { const ns = makeNetns(tag); all.push(ns); return ns }
  const wire = make('ow')
  wire.run('ip', ['link', 'add', 'br0', 'type', 'bridge'])
  wire.run('ip', ['addr', 'add', `${WIRE_IP}/${WIRE_PREFIX}`, 'dev', 'br0'])
  wire.run('ip', ['link', 'set', 'br0', 'up'])
  const plug = (ns: Netns, addr: string, tag: string) => {
    wire.run('ip', ['link', 'add', tag, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.path])
    wire.run('ip', ['link', 'set', tag, 'master', 'br0'])
    wire.run('ip', ['link', 'set', tag, 'up'])
    ns.run('ip', ['addr', 'add', `${addr}/${WIRE_PREFIX}`, 'dev', 'eth0'])
    ns.run('ip', ['link', 'set', 'eth0', 'up'])
  }
  const outside = make('oo')
  plug(outside, OUTSIDE_IP, 'out')
  const nodes: LabNode[] = []
  for (let i = 1; i <= count; i++) {
    const ns = make(`on${i}-`)
    plug(ns, nodeIp(i), `n${i}`)
    ns.run('ip', ['route', 'add', 'default', 'via', WIRE_IP])
    ns.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
    const podCIDR = `10.244.${i}.0/24`
    ns.run('ip', ['link', 'add', 'pbr0', 'type', 'bridge'])
    ns.run('ip', ['addr', 'add', `10.244.${i}.1/24`, 'dev', 'pbr0'])
    ns.run('ip', ['link', 'set', 'pbr0', 'up'])
    const pods: LabNode['pods'] = []
    for (let j = 0; j < podsPerNode; j++) {
      const pod = make(`op${i}x${j}-`)
      const ip = `10.244.${i}.${10 + j}`
      const host = `pv${j}`
      ns.run('ip', ['link', 'add', host, 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.path])
      ns.run('ip', ['link', 'set', host, 'master', 'pbr0'])
      ns.run('ip', ['link', 'set', host, 'up'])
      pod.run('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0'])
      pod.run('ip', ['link', 'set', 'eth0', 'mtu', '1450', 'up'])
      pod.run('ip', ['route', 'add', 'default', 'via', `10.244.${i}.1`])
      pods.push({ ns: pod, ip })
    }
    nodes.push({ name: `node-${i}`, index: i, ns, ip: nodeIp(i), podCIDR, pods })
  }
  return { wire, outside, nodes }
}

export interface OverlayApi extends ApiEndpoint {
  /** kubeconfig for agents in node namespaces: the API's listener inside the wire namespace */
  nodeKubeconfig: string
  stop(): Promise<number | null>
}

/** `pontoon api` from dist/, on loopback for the test and at WIRE_IP:6443 inside the wire namespace. */
export async function startOverlayApi(t: Teardown, wire: Netns): Promise<OverlayApi> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pontoon-overlay-api-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const proc = spawn(PONTOON, ['api', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--listen', `${WIRE_IP}:${API_PORT}@${wire.path}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (d: Buffer) => { if (err.length < 1 << 20) err += d.toString() })
  const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))
  t.teardown(() => { if (proc.exitCode === null && proc.pid) try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } })
  const kubeconfig = join(dataDir, 'kubeconfig')
  const ep = await waitFor('pontoon api to answer', async () => {
    const e = { ...endpointOf(kubeconfig), url: `https://127.0.0.1:${port}` }
    return (await request(e, 'GET', '/version')).status === 200 && e
  }, { timeoutMs: 60_000, everyMs: 50, abandon: () => proc.exitCode !== null }).catch((e: Error) => { throw new LabError('EAPI', `${e.message}\n${err}`) })
  const kc = JSON.parse(readFileSync(kubeconfig, 'utf8'))
  kc.clusters[0].cluster.server = `https://${WIRE_IP}:${API_PORT}`
  const nodeKubeconfig = join(dataDir, 'kubeconfig-node')
  writeFileSync(nodeKubeconfig, JSON.stringify(kc))
  return {
    ...ep,
    nodeKubeconfig,
    async stop() {
      if (proc.exitCode === null && proc.pid) process.kill(proc.pid, 'SIGTERM')
      return exit
    },
  }
}

/** A Node with its podCIDR and InternalIP set (extra annotations for simulated remote nodes). */
export async function createNode(api: ApiEndpoint, name: string, podCIDR: string, internalIP: string, annotations?: Record<string, string>): Promise<void> {
  const created = await call(api, 'POST', NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name, ...(annotations ? { annotations } : {}) }, spec: { podCIDR, podCIDRs: [podCIDR] } })
  if (created.status !== 201) throw new LabError('EAPI', `create node ${name}: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`)
  const st = await call(api, 'PATCH', `${NODES}/${name}/status`, { status: { addresses: [{ type: 'InternalIP', address: internalIP }, { type: 'Hostname', address: name }] } }, 'application/merge-patch+json')
  if (st.status !== 200) throw new LabError('EAPI', `node ${name} status: HTTP ${st.status}`)
}

export async function nodeAnnotations(api: ApiEndpoint, name: string): Promise<Record<string, string>> {
  const r = await call(api, 'GET', `${NODES}/${name}`)
  if (r.status !== 200) throw new LabError('EAPI', `get node ${name}: HTTP ${r.status}`)
  return (r.body as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {}
}

/** `pontoon agent` in the node's namespace with the overlay on and the service proxy off unless asked. */
export function startOverlayAgent(t: Teardown, api: OverlayApi, node: LabNode, mode: 'vxlan' | 'host-gw', o: { syncPeriodS?: number; extra?: string[]; proxyMode?: string } = {}): AgentProc {
  return startAgent(t, node.ns, ['agent', '--kubeconfig', api.nodeKubeconfig, '--node-name', node.name,
    '--proxy-mode', o.proxyMode ?? 'none', '--overlay', mode, '--cluster-cidr', CLUSTER_CIDR,
    '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249',
    '--min-sync-period', '0', '--sync-period', String(o.syncPeriodS ?? 1), ...(o.extra ?? [])])
}

/** `ip -j ...` in a namespace, parsed. */
export function ipJson(ns: Netns, args: string[]): any[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const out = ns.run(args[0] === 'bridge' ? 'bridge' : 'ip', ['-j', ...(args[0] === 'bridge' ? args.slice(1) : args)]).trim()
  return out ? JSON.parse(out) : []
}

/** The overlay entries a node has for one remote subnet and MAC, read from the kernel. */
export function entriesFor(ns: Netns, dev: string, subnet: string, mac: string): { neigh: boolean; fdb: string | undefined; route: boolean } {
  const gw = subnet.split('/')[0]!
  const neigh = ipJson(ns, ['neigh', 'show', 'dev', dev]).some((n) => n.dst === gw && n.lladdr === mac && (n.state ?? []).includes('PERMANENT'))
  const fdb = ipJson(ns, ['bridge', 'fdb', 'show', 'dev', dev]).find((e) => e.mac === mac)?.dst as string | undefined
  const route = ipJson(ns, ['route', 'show', subnet]).some((r) => r.gateway === gw && r.dev === dev && (r.flags ?? []).includes('onlink'))
  return { neigh, fdb, route }
}

export type { AgentProc }
