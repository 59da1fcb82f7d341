// `pontoon lab up`: clean what an earlier lab left, build the namespaces, start
// the API, create the Nodes, start each node's agent and kubelet, wait for
// their health, deploy the demo and run the traffic matrix. The lab stays up;
// everything it made is recorded in the state file for `down`.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { parseKubeconfig } from '../cluster/kubeconfig.ts'
import { LabApi, type Obj } from './api-client.ts'
import { agentArgs, apiArgs, cniBinPath, inNode, kubeletArgs, labEnv, labPaths, type OverlayMode, type ProxyMode } from './commands.ts'
import { clientPod, CLIENT_POD, DUO_POD, duoPod, ECHO_PORT, echoPod, echoPodName, echoService, RELAY_PORT, SERVICE_NAME } from './demo-objects.ts'
import { ensureBridgeNetfilter, requireProxyKernel } from './kernel-probe.ts'
import { matrixPassed, planMatrix, renderMatrix, type MatrixInput } from './matrix.ts'
import { runMatrix } from './matrix-run.ts'
import { buildNodes, buildWire } from './netns-build.ts'
import { httpGetInNetns } from './ns-probe.ts'
import { podNetnsName } from './pod-netns.ts'
import { startClusterDns } from './cluster-dns.ts'
import { resolveInPod } from './pod-resolve.ts'
import { spawnDetached, type ProcRecord } from './procs.ts'
import { addProcess, checkStateDir, writeState, type LabState } from './state.ts'
import { cleanLab } from './teardown.ts'
import { AGENT_HEALTHZ_PORT, KUBELET_HEALTHZ_PORT, labTopology, netnsPath, type LabTopology, type NodePlan } from './topology.ts'
import { waitUntil, LabUpError } from './wait.ts'

export interface UpOptions {
  nodes: number
  proxyMode: ProxyMode
  overlay: OverlayMode
  prefix: string
  stateDir: string
  /** deploy the demo and run the matrix (default true) */
  demo: boolean
  /** dist/bin: the pontoon launcher and the CNI plugins */
  binDir: string
  log: (line: string) => void
}

export interface UpResult {
  passed: boolean
  matrix?: string
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new LabUpError('EPORT', 'no free loopback port'))))
    })
  })
}

/** The API client for the root namespace, once `pontoon api` wrote its kubeconfig. */
export async function labApi(kubeconfig: string): Promise<LabApi> {
  return new LabApi(await parseKubeconfig(readFileSync(kubeconfig, 'utf8'), kubeconfig))
}

export async function labUp(o: UpOptions): Promise<UpResult> {
  const t0 = performance.now()
  const progress = (s: string) => o.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`)
  const topo = labTopology(o.prefix, o.nodes)
  checkStateDir(o.stateDir)
  await requireProxyKernel(o.proxyMode)
  const bridgeNote = ensureBridgeNetfilter(o.proxyMode)
  if (bridgeNote) progress(bridgeNote)
  const cleaned = await cleanLab(o.stateDir, o.prefix)
  if (cleaned.stopped.length || cleaned.killed.length || cleaned.netns.length) {
    progress(`cleaned an earlier lab: ${cleaned.stopped.length + cleaned.killed.length} processes, ${cleaned.netns.length} namespaces`)
  }
  if (cleaned.failed.length) throw new LabUpError('ECLEAN', `could not remove namespaces ${cleaned.failed.join(', ')}`)

  const paths = labPaths(o.stateDir, topo)
  for (const d of [o.stateDir, paths.logs, paths.apiDir, ...topo.nodes.flatMap((n) => [paths.node(n).dir, paths.node(n).confDir])]) mkdirSync(d, { recursive: true, mode: 0o700 })
  const state: LabState = { version: 1, prefix: o.prefix, nodes: o.nodes, proxyMode: o.proxyMode, overlay: o.overlay, processes: [], complete: false }
  writeState(o.stateDir, state)

  const pontoon = join(o.binDir, 'pontoon')
  const env = labEnv(o.binDir)
  const start = (role: string, cmd: string, args: string[], node?: string): ProcRecord => {
    const rec = spawnDetached(role, cmd, args, paths.log(role, node), env, node)
    addProcess(o.stateDir, state, rec)
    return rec
  }

  // the API needs only the wire to listen in: it starts while the nodes are built
  buildWire(topo)
  state.apiPort = await freeLoopbackPort()
  const apiProc = start('api', pontoon, apiArgs(topo, paths, state.apiPort))
  buildNodes(topo)
  progress(`namespaces: ${topo.wire.netns} (bridge ${topo.wire.bridge} ${topo.wire.ip}), ${topo.nodes.map((n) => n.netns).join(', ')}, ${topo.outside.netns}`)
  await waitUntil('pontoon api to write its kubeconfigs', () => existsSync(paths.kubeconfig) && existsSync(paths.nodeKubeconfig), apiProc, 30_000)
  const api = await labApi(paths.kubeconfig)
  try {
    await waitUntil('pontoon api to answer', async () => (await api.call('GET', '/readyz')).status === 200, apiProc, 30_000)
    progress(`api: https://127.0.0.1:${state.apiPort} (kubectl), https://${topo.api.host}:${topo.api.port} in ${topo.wire.netns} (nodes)`)

    for (const n of topo.nodes) await createNode(api, n)
    const procs = topo.nodes.map((n) => {
      const a = inNode(n, pontoon, agentArgs(n, paths, o.proxyMode, o.overlay))
      const k = inNode(n, pontoon, kubeletArgs(n, paths, cniBinPath(o.binDir)))
      return { n, agent: start('agent', a.cmd, a.args, n.name), kubelet: start('kubelet', k.cmd, k.args, n.name) }
    })
    progress(`started ${procs.length} agents (${o.proxyMode}, ${o.overlay}) and ${procs.length} kubelets; waiting for health`)
    await Promise.all(procs.map(async ({ n, agent, kubelet }) => {
      await waitUntil(`the agent on ${n.name} to be healthy`, async () => (await httpGetInNetns(netnsPath(n.netns), '127.0.0.1', AGENT_HEALTHZ_PORT, '/healthz', 2000))?.status === 200, agent, 60_000)
      await waitUntil(`the kubelet on ${n.name} to be healthy`, async () => (await httpGetInNetns(netnsPath(n.netns), '127.0.0.1', KUBELET_HEALTHZ_PORT, '/healthz', 2000))?.status === 200, kubelet, 60_000)
      await setNodeReady(api, n)
    }))
    progress(`${procs.length} nodes healthy`)
    await startClusterDns(api, topo, paths, pontoon, start)
    progress(`cluster DNS: kube-system/kube-dns 10.96.0.10 -> pontoon dns on ${topo.nodes[0]!.name}`)
    writeState(o.stateDir, state)
    if (!o.demo) {
      state.complete = true
      writeState(o.stateDir, state)
      return { passed: true }
    }

    const { input, podNetns } = await deployDemo(api, topo, progress)
    progress('running the traffic matrix')
    const where = {
      pod: (name: string) => netnsPath(podNetns.get(name) ?? `${o.prefix}-unknown-pod`),
      outside: netnsPath(topo.outside.netns),
      resolve: resolveInPod,
    }
    const results = await runMatrix(planMatrix(input), where)
    const matrix = renderMatrix(results)
    o.log(matrix.trimEnd())
    state.complete = true
    writeState(o.stateDir, state)
    const passed = matrixPassed(results)
    progress(passed ? 'the matrix passed; the lab stays up (pontoon lab down removes it)' : 'the matrix FAILED; the lab stays up for a look (pontoon lab status, logs in ' + paths.logs + ')')
    return { passed, matrix }
  } finally {
    api.close()
  }
}

async function createNode(api: LabApi, n: NodePlan): Promise<void> {
  await api.ensure('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' } } })
  await api.mergePatch(`/api/v1/nodes/${n.name}/status`, { status: { addresses: [{ type: 'InternalIP', address: n.ip }, { type: 'Hostname', address: n.name }] } })
}

/** The lab plays the node lifecycle controller: a node whose agent and kubelet are healthy is Ready. */
async function setNodeReady(api: LabApi, n: NodePlan): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
  await api.mergePatch(`/api/v1/nodes/${n.name}/status`, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'LabNodeReady', message: 'agent and kubelet are healthy', lastHeartbeatTime: now, lastTransitionTime: now }] } })
}

const podReady = (p: Obj) => typeof p.status?.podIP === 'string' && p.status.podIP !== '' &&
  Array.isArray(p.status?.conditions) && p.status.conditions.some((c: Obj) => c.type === 'Ready' && c.status === 'True')

async function deployDemo(api: LabApi, topo: LabTopology, progress: (s: string) => void): Promise<{ input: MatrixInput; podNetns: Map<string, string> }> {
  const pods = '/api/v1/namespaces/default/pods'
  const svc = await api.ensure('/api/v1/namespaces/default/services', echoService())
  for (const n of topo.nodes) await api.ensure(pods, echoPod(n.name))
  const first = topo.nodes[0]!.name
  await api.ensure(pods, duoPod(first))
  // after the Service: the client's environment names it
  await api.ensure(pods, clientPod(first))
  const names = [...topo.nodes.map((n) => echoPodName(n.name)), DUO_POD, CLIENT_POD]
  progress(`demo: Service ${SERVICE_NAME} (ClusterIP ${svc.spec?.clusterIP}, NodePort ${svc.spec?.ports?.[0]?.nodePort}), pods ${names.join(', ')}; waiting for them to be Ready`)
  let lastReady = -1
  const ready = await waitUntil('the demo pods to be Ready with an IP', async () => {
    const got = new Map((await api.list(pods)).map((p) => [p.metadata?.name as string, p]))
    const r = names.filter((nm) => got.has(nm) && podReady(got.get(nm)!))
    if (r.length !== lastReady) {
      lastReady = r.length
      progress(`  ${r.length}/${names.length} pods Ready`)
    }
    return r.length === names.length && got
  }, undefined, 90_000)
  const pod = (nm: string) => {
    const p = ready.get(nm)!
    return { name: nm, node: p.spec.nodeName as string, ip: p.status.podIP as string }
  }
  const podNetns = new Map(names.map((nm) => {
    const p = ready.get(nm)!
    return [nm, podNetnsName(topo, p.spec.nodeName, p.metadata.uid)] as const
  }))
  const input = {
    client: pod(CLIENT_POD),
    echo: topo.nodes.map((n) => pod(echoPodName(n.name))),
    duo: pod(DUO_POD),
    service: { name: SERVICE_NAME, clusterIP: svc.spec.clusterIP, port: svc.spec.ports[0].port, nodePort: svc.spec.ports[0].nodePort },
    nodes: topo.nodes.map((n) => ({ name: n.name, ip: n.ip })),
    echoPort: ECHO_PORT,
    relayPort: RELAY_PORT,
  }
  return { input, podNetns }
}
