// A node for the lab kubelet's tests: a node namespace, a real `pontoon api`
// with a listener inside that namespace, a conflist of our own (pontoon-cni +
// pontoon-ipam on a /24, then portmap, as the agent writes it), and
// `pontoon kubelet` started in the namespace as the lab starts it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { planConflist } from '../../src/cni/conflist.ts'
import { call, startApi, tempDir, type ApiProc } from '../fixtures/api/harness.ts'
import { BIN, REF_DIR } from './cni.ts'
import { makeNetns, RUN, type Netns } from './netns.ts'
import { waitFor } from './wait.ts'

interface Teardown { teardown(fn: () => unknown): void }

export const SUBNET_PREFIX = '10.244.9.'
export const NODE = 'node-1'
export const NODE_IP = '172.18.0.11'
const API_PORT = 16443

export interface KubeletNode {
  node: Netns
  api: ApiProc
  /** kubeconfig for the listener inside the node namespace */
  kubeconfig: string
  dir: string
  stateDir: string
  ipamDir: string
  netnsPrefix: string
  kubelet: ChildProcess
  kubeletLog(): string
  startKubelet(extra?: string[]): Promise<ChildProcess>
}

export async function kubeletNode(t: Teardown, extraArgs: string[] = []): Promise<KubeletNode> {
  const node = makeNetns('knode')
  const dir = tempDir(t, 'kubelet')
  const ipamDir = join(dir, 'ipam')
  const stateDir = join(dir, 'state')
  const confDir = join(dir, 'net.d')
  mkdirSync(confDir)
  const api = await startApi(t, { dataDir: join(dir, 'api'), args: ['--listen', `127.0.0.1:${API_PORT}@${node.path}`] })
  const kc = JSON.parse(readFileSync(api.kubeconfig, 'utf8'))
  kc.clusters[0].cluster.server = `https://127.0.0.1:${API_PORT}`
  const kubeconfig = join(dir, 'kubelet.kubeconfig')
  writeFileSync(kubeconfig, JSON.stringify(kc))
  // the conflist the agent writes, with the IPAM store in the test's dir
  const list = planConflist({ podCIDRs: [`${SUBNET_PREFIX}0/24`] }) as { plugins: Array<{ ipam?: Record<string, unknown> }> }
  list.plugins[0]!.ipam!.dataDir = ipamDir
  writeFileSync(join(confDir, '10-pontoon.conflist'), JSON.stringify(list))
  // a later file in lexical order must be ignored
  writeFileSync(join(confDir, '99-ignored.conflist'), '{"not": "a conflist"}')
  const r = await call(api, 'POST', '/api/v1/nodes', {
    apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } },
    status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
  })
  if (r.status !== 201) throw new Error(`node create: ${r.status} ${JSON.stringify(r.body)}`)
  const netnsPrefix = `${RUN}-k${process.pid}`
  let log = ''
  const kn: KubeletNode = {
    node, api, kubeconfig, dir, stateDir, ipamDir, netnsPrefix,
    kubelet: undefined as unknown as ChildProcess,
    kubeletLog: () => log,
    async startKubelet(extra: string[] = []) {
      const child = node.spawn(join(BIN, 'pontoon'), ['kubelet', '--kubeconfig', kubeconfig, '--node-name', NODE, '--cni-conf-dir', confDir,
        '--cni-bin-dir', `${BIN}:${REF_DIR}`, '--netns-prefix', netnsPrefix, '--state-dir', stateDir, '--healthz', '127.0.0.1:10248',
        '--drain-delay-ms', '100', ...extraArgs, ...extra])
      child.stderr!.on('data', (d) => { log += d; if (log.length > 4 << 20) log = log.slice(-(2 << 20)) })
      kn.kubelet = child
      try {
        await waitFor('the kubelet to be healthy', () => node.try('socat', ['-T', '2', '-', 'TCP:127.0.0.1:10248'], { input: 'GET /healthz HTTP/1.0\r\n\r\n' }).stdout.includes('200 OK'),
          { abandon: () => child.exitCode !== null, timeoutMs: 30_000 })
      } catch (e) {
        throw new Error(`${(e as Error).message}; kubelet log: ${log.slice(-3000)}`)
      }
      return child
    },
  }
  t.teardown(() => {
    // pods the test left: kill their process groups by the pids the kubelet recorded, drop their namespaces
    if (kn.kubelet?.pid && kn.kubelet.exitCode === null) { try { process.kill(kn.kubelet.pid, 'SIGKILL') } catch { /* gone */ } }
    for (const rec of podRecords(stateDir)) {
      for (const c of rec.containers ?? []) if (c.pid) { try { process.kill(-c.pid, 'SIGKILL') } catch { /* gone */ } }
      if (rec.netnsName) spawnIp(['netns', 'del', rec.netnsName])
    }
    node.destroy()
  })
  await kn.startKubelet()
  return kn
}

function spawnIp(args: string[]): void {
  spawn('ip', args, { stdio: 'ignore' })
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podRecords(stateDir: string): any[] {
  const pods = join(stateDir, 'pods')
  if (!existsSync(pods)) return []
  const out = []
  for (const uid of readdirSync(pods)) {
    try { out.push(JSON.parse(readFileSync(join(pods, uid, 'pod.json'), 'utf8'))) } catch { /* partial */ }
  }
  return out
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function pod(name: string, containers: any[], extra: Record<string, any> = {}): any {
  const { metadata, spec, ...rest } = extra
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: name }, ...metadata },
    spec: { nodeName: NODE, containers: containers.map((c) => ({ image: 'none', ...c })), ...spec },
    ...rest,
  }
}

export async function getPod(api: ApiProc, name: string) {
  const r = await call(api, 'GET', `/api/v1/namespaces/default/pods/${name}`)
  return r.status === 200 ? r.body : undefined
}

/** Wait until the pod's status satisfies `pred`; returns the pod. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function podWhen(api: ApiProc, name: string, what: string, pred: (p: any) => boolean, timeoutMs = 30_000): Promise<any> {
  let last: unknown
  try {
    return await waitFor(`pod ${name}: ${what}`, async () => {
      const p = await getPod(api, name)
      last = p?.status
      return p && pred(p) ? p : undefined
    }, { timeoutMs, everyMs: 20 })
  } catch (e) {
    throw new Error(`${(e as Error).message}; last status ${JSON.stringify(last)}`)
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const condition = (p: any, type: string) => p.status?.conditions?.find((c: any) => c.type === type)?.status
