// The service proxy's traffic lab: one node namespace with a pod bridge, backend
// pods that say who answered and whom they saw, client pods on the same bridge,
// and an "outside" client on a separate wire that reaches Services through the
// node. Plus the API and agent plumbing the end-to-end tests and the bench need.
//
//   outside (192.168.50.2, fd00:50::2)  --wire--  node (192.168.50.1, fd00:50::1)
//     default route via the node                   bridge pbr0: 10.244.1.1/24, fd00:10:244:1::1/64
//                                                  default route via outside (so unrouted VIPs reach the hooks)
//   backend pods 10.244.1.10+i, fd00:10:244:1::(10+i)    client pods 10.244.1.100+j, fd00:10:244:1::(100+j)
//
// One node namespace is enough for eTP Local: an endpoint is "on another node"
// purely by its EndpointSlice nodeName, and a Service whose endpoints are all
// elsewhere is the "node with no local endpoint" case.
//
// The echo servers and the clients live in the test process itself: sockets are
// made with socket(2) while the thread is inside the pod's namespace (the same
// trick `pontoon api` uses for its in-namespace listener) and handed to Node as
// fds, so a lab with many pods costs no process per pod.
import { spawn, type ChildProcess } from 'node:child_process'
import dgram from 'node:dgram'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { listenFdInNetns, sockaddr } from '../../src/api/server/netns-socket.ts'
import { canonicalIp } from '../../src/net/address.ts'
import { inNetns } from '../../src/netns/index.ts'
import { rawLibc } from '../../src/sys/libc.ts'
import { call, endpointOf, request, type ApiEndpoint, type Reply } from '../fixtures/api/harness.ts'
import { linkNamespaces, makeNetns, type Netns } from './netns.ts'
import { freePort } from './ports.ts'
import { waitFor } from './wait.ts'

export const ROOT = resolve(import.meta.dirname, '../..')
export const PONTOON = join(ROOT, 'dist/bin/pontoon')

export const NODE_NAME = 'node-1'
/** an endpoint labelled with this nodeName is "elsewhere" for the agent on NODE_NAME */
export const OTHER_NODE = 'node-2'
export const POD_CIDR4 = '10.244.1.0/24'
export const POD_CIDR6 = 'fd00:10:244:1::/64'
export const CLUSTER_CIDR4 = '10.244.0.0/16'
export const CLUSTER_CIDR6 = 'fd00:10:244::/56'
export const GATEWAY4 = '10.244.1.1'
export const GATEWAY6 = 'fd00:10:244:1::1'
export const NODE_IP4 = '192.168.50.1'
export const NODE_IP6 = 'fd00:50::1'
export const OUTSIDE_IP4 = '192.168.50.2'
export const OUTSIDE_IP6 = 'fd00:50::2'
export const WIRE_CIDR4 = '192.168.50.0/24'
export const WIRE_CIDR6 = 'fd00:50::/64'
/** ports every backend's echo server answers on, TCP and UDP, both families */
export const ECHO_PORTS = [8080, 8081, 8082, 8083] as const
/** where the API listens inside the node namespace, for the agent */
export const NODE_API_PORT = 6443
export const AGENT_HEALTHZ = { host: '127.0.0.1', port: 10256 }
export const AGENT_METRICS = { host: '127.0.0.1', port: 10249 }

export class LabError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabError'
    this.code = code
  }
}

export interface Pod {
  name: string
  ns: Netns
  ip4: string
  ip6: string
}

interface Teardown {
  teardown(fn: () => unknown): void
}

// ---------------------------------------------------------------- sockets in a namespace

const AF = { 4: 2, 6: 10 } as const
const SOCK_STREAM = 1
const SOCK_DGRAM = 2
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const IPPROTO_IPV6 = 41
const IPV6_V6ONLY = 26

const familyOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4)

/** A socket fd made inside the namespace; bound to ip:port when given. */
function socketIn(ns: Netns, family: 4 | 6, type: 'tcp' | 'udp', bindTo?: { ip: string; port: number }): number {
  const s = rawLibc()
  return inNetns(ns.path, () => {
    const fd = s.socket(AF[family], (type === 'tcp' ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
    if (fd < 0) throw new LabError('ESOCKET', `socket() in ${ns.name} failed: errno ${s.errno()}`)
    if (bindTo) {
      const one = Buffer.alloc(4)
      one.writeInt32LE(1)
      if (family === 6) s.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4)
      const { buf } = sockaddr(bindTo.ip, bindTo.port)
      if (s.bind(fd, buf, buf.length) !== 0) {
        const e = s.errno()
        s.close(fd)
        throw new LabError('EBIND', `bind ${bindTo.ip}:${bindTo.port} in ${ns.name} failed: errno ${e}`)
      }
    }
    return fd
  })
}

/** A TCP connection from inside `from`; the socket is Node's, the fd was made in the namespace. */
export function connectIn(from: Netns, host: string, port: number): net.Socket {
  const fd = socketIn(from, familyOf(host), 'tcp')
  const sock = new net.Socket({ fd, readable: true, writable: true })
  sock.connect(port, host)
  return sock
}

// ---------------------------------------------------------------- echo servers

/** What an echo server said: who answered, on which port, and whom it saw as the client. */
export interface Answer {
  /** the backend address that answered (its own address on the socket) */
  backend: string
  /** the client address the backend saw: the client's own, or the node's when masqueraded */
  peer: string
  /** the backend port that answered */
  port: number
}

export type Outcome = ({ ok: true } & Answer & { ms: number }) | { ok: false; error: string; ms: number }

const canon = (ip: string) => canonicalIp(ip.replace(/^::ffff:(?=\d+\.)/, '')) ?? ip

function parseAnswer(line: string): Answer | undefined {
  const m = /^(\S+) (\S+) (\d+)$/.exec(line.trim())
  return m ? { backend: canon(m[1]!), peer: canon(m[2]!), port: Number(m[3]) } : undefined
}

const MAX_LINE = 256

/**
 * Every backend answers TCP and UDP on ECHO_PORTS with "<local-ip> <peer-ip> <local-port>\n".
 * TCP answers at once on connect and again for every line the client sends, so one
 * connection can be asked many times (an established flow through a Service).
 */
export async function serveEcho(pod: Pod, ports: readonly number[] = ECHO_PORTS): Promise<() => void> {
  const closers: Array<() => void> = []
  for (const ip of [pod.ip4, pod.ip6]) {
    for (const port of ports) {
      const server = net.createServer((c) => {
        const say = () => c.write(`${c.localAddress} ${c.remoteAddress} ${c.localPort}\n`)
        say()
        let buf = ''
        c.setEncoding('utf8')
        c.on('data', (d: string) => {
          buf += d
          if (buf.length > MAX_LINE) return void c.destroy()
          let i
          while ((i = buf.indexOf('\n')) >= 0) {
            buf = buf.slice(i + 1)
            say()
          }
        })
        c.on('error', () => c.destroy())
      })
      const fd = listenFdInNetns(pod.ns.path, ip, port)
      await new Promise<void>((res, rej) => {
        server.once('error', rej)
        server.listen({ fd }, () => res())
      })
      closers.push(() => server.close())
      const udp = dgram.createSocket(familyOf(ip) === 4 ? 'udp4' : 'udp6')
      udp.on('message', (_m, ri) => udp.send(`${ip} ${ri.address} ${port}\n`, ri.port, ri.address))
      udp.on('error', () => { /* a send to a vanished client: nothing to do */ })
      const ufd = socketIn(pod.ns, familyOf(ip), 'udp', { ip, port })
      await new Promise<void>((res) => udp.bind({ fd: ufd } as dgram.BindOptions, () => res()))
      closers.push(() => udp.close())
    }
  }
  return () => { for (const c of closers) try { c() } catch { /* already closed */ } }
}

// ---------------------------------------------------------------- clients

/** One TCP connection from `from` to host:port; the echo server's first answer, or why there was none. */
export async function tcpAsk(from: Netns, host: string, port: number, timeoutMs = 2000): Promise<Outcome> {
  const held = await tcpHold(from, host, port, timeoutMs)
  if (held.ok) held.close()
  return held.ok ? { ok: true, backend: held.first.backend, peer: held.first.peer, port: held.first.port, ms: held.ms } : held
}

export interface HeldTcp {
  ok: true
  first: Answer
  ms: number
  /** ask again over the same connection */
  ask(timeoutMs?: number): Promise<Outcome>
  close(): void
  /** end it with a TCP reset (no FIN, no TIME_WAIT on the way) */
  reset(): void
}

/** A TCP connection kept open: asks again over the same flow (e.g. across an agent restart). */
export function tcpHold(from: Netns, host: string, port: number, timeoutMs = 2000): Promise<HeldTcp | { ok: false; error: string; ms: number }> {
  const t0 = performance.now()
  let sock: net.Socket
  try {
    sock = connectIn(from, host, port)
  } catch (e) {
    return Promise.resolve({ ok: false, error: (e as LabError).code ?? 'ESOCKET', ms: 0 })
  }
  sock.setEncoding('utf8')
  let buf = ''
  let closed: string | undefined
  const waiters: Array<() => void> = []
  const wake = () => { for (const w of waiters.splice(0)) w() }
  sock.on('data', (d: string) => {
    buf += d
    if (buf.length > MAX_LINE * 4) sock.destroy()
    wake()
  })
  sock.on('error', (e: NodeJS.ErrnoException) => { closed ??= e.code ?? 'EIO'; wake() })
  sock.on('close', () => { closed ??= 'ECLOSED'; wake() })
  const nextLine = (ms: number): Promise<Outcome> => {
    const start = performance.now()
    return new Promise((res) => {
      const timer = setTimeout(() => { done(); res({ ok: false, error: 'ETIMEDOUT', ms: performance.now() - start }) }, ms)
      const check = () => {
        const i = buf.indexOf('\n')
        if (i >= 0) {
          const line = buf.slice(0, i)
          buf = buf.slice(i + 1)
          clearTimeout(timer)
          const a = parseAnswer(line)
          return res(a ? { ok: true, ...a, ms: performance.now() - start } : { ok: false, error: `EBADANSWER ${JSON.stringify(line)}`, ms: 0 })
        }
        if (closed) {
          clearTimeout(timer)
          return res({ ok: false, error: closed, ms: performance.now() - start })
        }
        waiters.push(check)
      }
      const done = () => { const i = waiters.indexOf(check); if (i >= 0) waiters.splice(i, 1) }
      check()
    })
  }
  return nextLine(timeoutMs).then((first) => {
    if (!first.ok) {
      sock.destroy()
      return { ok: false as const, error: first.error, ms: performance.now() - t0 }
    }
    return {
      ok: true as const,
      first,
      ms: performance.now() - t0,
      ask(ms = timeoutMs) {
        if (closed) return Promise.resolve({ ok: false as const, error: closed, ms: 0 })
        sock.write('again\n')
        return nextLine(ms)
      },
      close: () => sock.destroy(),
      reset: () => sock.resetAndDestroy(),
    }
  })
}

export interface UdpFlow {
  /** one datagram to host:port from the same local socket each time, and the echo's answer */
  ask(host: string, port: number, timeoutMs?: number): Promise<Outcome>
  close(): void
}

/** A UDP socket in `from` that stays the same across asks: one conntrack flow per destination. */
export async function udpFlow(from: Netns, family: 4 | 6): Promise<UdpFlow> {
  const sock = dgram.createSocket(family === 4 ? 'udp4' : 'udp6')
  const fd = socketIn(from, family, 'udp')
  await new Promise<void>((res) => sock.bind({ fd } as dgram.BindOptions, () => res()))
  let pending: ((line: string) => void) | undefined
  sock.on('message', (m) => pending?.(m.toString('utf8', 0, Math.min(m.length, MAX_LINE))))
  sock.on('error', () => { /* ICMP errors surface as timeouts */ })
  return {
    ask(host, port, timeoutMs = 1000) {
      const start = performance.now()
      return new Promise((res) => {
        const timer = setTimeout(() => { pending = undefined; res({ ok: false, error: 'ETIMEDOUT', ms: performance.now() - start }) }, timeoutMs)
        pending = (line) => {
          // a late answer to an earlier, timed-out ask counts for this one: callers poll for a change
          const a = parseAnswer(line)
          if (!a) return
          pending = undefined
          clearTimeout(timer)
          res({ ok: true, ...a, ms: performance.now() - start })
        }
        sock.send('ask\n', port, host)
      })
    },
    close: () => sock.close(),
  }
}

export async function udpAsk(from: Netns, host: string, port: number, timeoutMs = 1000): Promise<Outcome> {
  const f = await udpFlow(from, familyOf(host))
  try {
    return await f.ask(host, port, timeoutMs)
  } finally {
    f.close()
  }
}

/** GET over plain HTTP from inside a namespace (the agent's healthz and metrics listen in the node's). */
export function httpGetIn(from: Netns, host: string, port: number, path: string, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((res, rej) => {
    // no agent: with one, Node ignores createConnection and connects from this namespace
    const req = http.get({ host, port, path, createConnection: () => connectIn(from, host, port), timeout: timeoutMs }, (r) => {
      let text = ''
      r.setEncoding('utf8')
      r.on('data', (d: string) => { if (text.length < 8 << 20) text += d })
      r.on('end', () => res({ status: r.statusCode ?? 0, text }))
      r.on('error', rej)
    })
    req.on('timeout', () => req.destroy(new LabError('ETIMEDOUT', `GET ${path} in ${from.name} timed out`)))
    req.on('error', rej)
  })
}

// ---------------------------------------------------------------- topology

export interface ProxyLab {
  node: Netns
  outside: Netns
  backends: Pod[]
  clients: Pod[]
  /** remove every namespace and close every echo server */
  destroy(): void
}

function sysctls(ns: Netns, kv: Record<string, string>): void {
  ns.run('sysctl', ['-q', '-w', ...Object.entries(kv).map(([k, v]) => `${k}=${v}`)])
}

/** v6 addresses are usable at once: no duplicate address detection in a lab */
const NO_DAD = { 'net.ipv6.conf.all.accept_dad': '0', 'net.ipv6.conf.default.accept_dad': '0' }

function addPod(node: Netns, name: string, tag: string, index: number, octet: number): Pod {
  const ns = makeNetns(tag)
  sysctls(ns, NO_DAD)
  const hostIf = `${tag}${index}`
  ns.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', hostIf, 'netns', node.path])
  node.run('ip', ['link', 'set', hostIf, 'master', 'pbr0', 'up'])
  // a pod reaching itself through a Service is DNATed back out of the port it came in on (the CNI's hairpinMode)
  node.run('ip', ['link', 'set', hostIf, 'type', 'bridge_slave', 'hairpin', 'on'])
  const pod: Pod = { name, ns, ip4: `10.244.1.${octet}`, ip6: `fd00:10:244:1::${octet}` }
  ns.run('ip', ['addr', 'add', `${pod.ip4}/24`, 'dev', 'eth0'])
  ns.run('ip', ['-6', 'addr', 'add', `${pod.ip6}/64`, 'dev', 'eth0', 'nodad'])
  ns.run('ip', ['link', 'set', 'eth0', 'up'])
  ns.run('ip', ['route', 'add', 'default', 'via', GATEWAY4])
  ns.run('ip', ['-6', 'route', 'add', 'default', 'via', GATEWAY6])
  return pod
}

/**
 * Build the topology. Every namespace carries the run prefix (test/lib/netns.ts);
 * nothing is written in the root namespace. Each backend runs an echo server.
 */
export async function makeProxyLab(opts: { backends?: number; clients?: number } = {}): Promise<ProxyLab> {
  const made: Netns[] = []
  const closers: Array<() => void> = []
  const destroy = () => {
    for (const c of closers.splice(0)) c()
    for (const ns of made.splice(0).reverse()) ns.destroy()
  }
  try {
    const node = makeNetns('node')
    made.push(node)
    sysctls(node, {
      ...NO_DAD,
      'net.ipv4.ip_forward': '1',
      'net.ipv6.conf.all.forwarding': '1',
      // replies between pods on the bridge must pass conntrack to be un-DNATed, as on every kube-proxy node
      'net.bridge.bridge-nf-call-iptables': '1',
      'net.bridge.bridge-nf-call-ip6tables': '1',
    })
    node.run('ip', ['link', 'add', 'pbr0', 'type', 'bridge'])
    node.run('ip', ['addr', 'add', `${GATEWAY4}/24`, 'dev', 'pbr0'])
    node.run('ip', ['-6', 'addr', 'add', `${GATEWAY6}/64`, 'dev', 'pbr0', 'nodad'])
    node.run('ip', ['link', 'set', 'pbr0', 'up'])

    const outside = makeNetns('out')
    made.push(outside)
    sysctls(outside, NO_DAD)
    const { aIf, bIf } = linkNamespaces(node, `${NODE_IP4}/24`, outside, `${OUTSIDE_IP4}/24`, 'w')
    node.run('ip', ['-6', 'addr', 'add', `${NODE_IP6}/64`, 'dev', aIf, 'nodad'])
    outside.run('ip', ['-6', 'addr', 'add', `${OUTSIDE_IP6}/64`, 'dev', bIf, 'nodad'])
    // Everything the outside client sends (service CIDR, LB IPs, externalIPs) goes to the node;
    // the node's default route makes an unknown VIP reach the filter hooks instead of dying in routing.
    outside.run('ip', ['route', 'add', 'default', 'via', NODE_IP4])
    outside.run('ip', ['-6', 'route', 'add', 'default', 'via', NODE_IP6])
    node.run('ip', ['route', 'add', 'default', 'via', OUTSIDE_IP4])
    node.run('ip', ['-6', 'route', 'add', 'default', 'via', OUTSIDE_IP6])

    const backends: Pod[] = []
    for (let i = 0; i < (opts.backends ?? 3); i++) {
      const pod = addPod(node, `backend-${i}`, 'b', i, 10 + i)
      made.push(pod.ns)
      backends.push(pod)
      closers.push(await serveEcho(pod))
    }
    const clients: Pod[] = []
    for (let j = 0; j < (opts.clients ?? 1); j++) {
      const pod = addPod(node, `client-${j}`, 'c', j, 100 + j)
      made.push(pod.ns)
      clients.push(pod)
    }
    return { node, outside, backends, clients, destroy }
  } catch (e) {
    destroy()
    throw e
  }
}

// ---------------------------------------------------------------- the API

export interface LabApi extends ApiEndpoint {
  /** kubeconfig for the root namespace (loopback listener) */
  kubeconfig: string
  /** kubeconfig for processes in the node namespace (the listener the API opened there) */
  nodeKubeconfig: string
  dataDir: string
  proc: ChildProcess
  stderr(): string
  stop(): Promise<number | null>
}

/**
 * `pontoon api` (from dist/) with a loopback listener for the test and one inside
 * the node namespace for the agent, as the lab runs it.
 */
export async function startLabApi(t: Teardown, node: Netns, opts: { serviceCidr?: string; dataDir?: string; readyTimeoutMs?: number } = {}): Promise<LabApi> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'pontoon-lab-api-'))
  if (!opts.dataDir) t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const proc = spawn(PONTOON, ['api', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--listen', `127.0.0.1:${NODE_API_PORT}@${node.path}`,
    ...(opts.serviceCidr ? ['--service-cidr', opts.serviceCidr] : [])], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  proc.stderr!.on('data', (d: Buffer) => { if (err.length < 1 << 20) err += d.toString() })
  const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))
  t.teardown(() => { if (proc.exitCode === null && proc.pid) try { process.kill(proc.pid, 'SIGKILL') } catch { /* gone */ } })
  const kubeconfig = join(dataDir, 'kubeconfig')
  const ep = await waitFor('pontoon api to answer', async () => {
    const e = { ...endpointOf(kubeconfig), url: `https://127.0.0.1:${port}` }
    return (await request(e, 'GET', '/version')).status === 200 && e
  }, { timeoutMs: opts.readyTimeoutMs ?? 60_000, everyMs: 50, abandon: () => proc.exitCode !== null })
  const kc = JSON.parse(readFileSync(kubeconfig, 'utf8'))
  kc.clusters[0].cluster.server = `https://127.0.0.1:${NODE_API_PORT}`
  const nodeKubeconfig = join(dataDir, 'kubeconfig-node')
  writeFileSync(nodeKubeconfig, JSON.stringify(kc))
  return {
    ...ep,
    kubeconfig,
    nodeKubeconfig,
    dataDir,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.pid) process.kill(proc.pid, 'SIGTERM')
      return exit
    },
  }
}

async function must(what: string, r: Promise<Reply>, ok: number[]): Promise<Reply> {
  const got = await r
  if (!ok.includes(got.status)) throw new LabError('EAPI', `${what}: HTTP ${got.status} ${JSON.stringify(got.body).slice(0, 400)}`)
  return got
}

/** Create or replace (by name) an object; returns the stored object. */
export async function applyObject(api: ApiEndpoint, collection: string, obj: { metadata: { name: string; [k: string]: unknown }; [k: string]: unknown }): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const created = await call(api, 'POST', collection, obj)
  if (created.status === 201) return created.body
  if (created.status !== 409) throw new LabError('EAPI', `create ${collection}/${obj.metadata.name}: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 400)}`)
  const cur = await must(`get ${obj.metadata.name}`, call(api, 'GET', `${collection}/${obj.metadata.name}`), [200])
  const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: cur.body.metadata.resourceVersion } }
  return (await must(`replace ${collection}/${obj.metadata.name}`, call(api, 'PUT', `${collection}/${obj.metadata.name}`, body), [200])).body
}

export async function deleteObject(api: ApiEndpoint, collection: string, name: string): Promise<void> {
  await must(`delete ${collection}/${name}`, call(api, 'DELETE', `${collection}/${name}`), [200, 202, 404])
}

export const SERVICES = '/api/v1/namespaces/default/services'
export const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'
export const NODES = '/api/v1/nodes'

/** The Node objects the agent (NODE_NAME) and the "other" node are known by. */
export async function applyNodes(api: ApiEndpoint): Promise<void> {
  for (const [name, ip4, ip6] of [[NODE_NAME, NODE_IP4, NODE_IP6], [OTHER_NODE, '192.168.50.3', 'fd00:50::3']] as const) {
    const node = await applyObject(api, NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name } })
    const status = { status: { addresses: [{ type: 'InternalIP', address: ip4 }, { type: 'InternalIP', address: ip6 }, { type: 'Hostname', address: name }] } }
    await must(`node ${name} status`, call(api, 'PATCH', `${NODES}/${node.metadata.name}/status`, status, 'application/merge-patch+json'), [200])
  }
}

export interface ServicePort {
  name: string
  port: number
  targetPort?: number | string
  protocol?: 'TCP' | 'UDP' | 'SCTP'
  nodePort?: number
}

/** A selectorless Service (its EndpointSlices are the test's to write); returns it as stored, with clusterIP and nodePorts. */
export async function applyService(api: ApiEndpoint, name: string, spec: Record<string, unknown> & { ports: ServicePort[] }, labels?: Record<string, string>): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return applyObject(api, SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) }, spec: { type: 'ClusterIP', ...spec } })
}

/** status.loadBalancer.ingress, as a cloud controller would set it */
export async function setLoadBalancerIngress(api: ApiEndpoint, name: string, ips: string[]): Promise<void> {
  await must(`lb status ${name}`, call(api, 'PATCH', `${SERVICES}/${name}/status`, { status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } }, 'application/merge-patch+json'), [200])
}

export interface EndpointSpec {
  pod: Pod
  /** default NODE_NAME */
  nodeName?: string
  ready?: boolean
  serving?: boolean
  terminating?: boolean
}

/** One EndpointSlice of `service` for one family: the pods' addresses of that family. */
export async function applySlice(api: ApiEndpoint, name: string, service: string, family: 4 | 6, ports: Array<{ name: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }>, endpoints: EndpointSpec[]): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return applyObject(api, SLICES, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: family === 4 ? 'IPv4' : 'IPv6',
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [family === 4 ? e.pod.ip4 : e.pod.ip6],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      nodeName: e.nodeName ?? NODE_NAME,
    })),
  })
}

// ---------------------------------------------------------------- the agent

export interface AgentProc {
  pid: number
  child: ChildProcess
  /** the agent's JSON log lines (pino), parsed */
  logs: Array<Record<string, unknown>>
  /** lines of stdout/stderr that were not JSON */
  other: string[]
  exited: Promise<number | null>
  /** signal by PID */
  kill(signal: NodeJS.Signals): void
  /** SIGTERM, and wait for the exit */
  stop(): Promise<number | null>
  healthz(): Promise<number>
  metrics(): Promise<string>
}

export interface AgentOptions {
  mode: 'nftables' | 'iptables' | 'ipvs' | 'userspace'
  clusterCidrs?: string[]
  nodePortAddresses?: string
  masqueradeAll?: boolean
  minSyncPeriodS?: number
  syncPeriodS?: number
  extra?: string[]
}

/** The flags the lead wires `pontoon agent` with for the proxy (see the lab brief). */
export function agentArgs(api: LabApi, o: AgentOptions): string[] {
  return ['agent', '--kubeconfig', api.nodeKubeconfig, '--node-name', NODE_NAME, '--overlay', 'none',
    '--healthz-bind-address', `${AGENT_HEALTHZ.host}:${AGENT_HEALTHZ.port}`,
    '--metrics-bind-address', `${AGENT_METRICS.host}:${AGENT_METRICS.port}`,
    '--min-sync-period', String(o.minSyncPeriodS ?? 0), '--sync-period', String(o.syncPeriodS ?? 10),
    '--proxy-mode', o.mode,
    '--cluster-cidr', (o.clusterCidrs ?? [CLUSTER_CIDR4, CLUSTER_CIDR6]).join(','),
    '--nodeport-addresses', o.nodePortAddresses ?? `${WIRE_CIDR4},${WIRE_CIDR6}`,
    ...(o.masqueradeAll ? ['--masquerade-all'] : []),
    ...(o.extra ?? [])]
}

/**
 * `pontoon agent` inside the node namespace (nsenter --net=, which execs: the
 * child's PID is the agent's). Started by PID, stopped by PID.
 */
export function startAgent(t: Teardown, node: Netns, args: string[]): AgentProc {
  const child = node.spawn(PONTOON, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  if (!child.pid) throw new LabError('ESPAWN', 'pontoon agent did not start')
  const pid = child.pid
  const logs: Array<Record<string, unknown>> = []
  const other: string[] = []
  const exited = new Promise<number | null>((r) => child.once('exit', (c, s) => r(c ?? (s ? -1 : null))))
  const lines = (onLine: (l: string) => void) => {
    let buf = ''
    return (d: Buffer) => {
      buf += d.toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
      if (buf.length > 1 << 20) buf = ''
    }
  }
  const keep = (l: string) => {
    try { logs.push(JSON.parse(l) as Record<string, unknown>) } catch { other.push(l) }
    if (logs.length > 100_000) logs.splice(0, 50_000)
    if (other.length > 10_000) other.splice(0, 5_000)
  }
  child.stdout!.on('data', lines(keep))
  child.stderr!.on('data', lines(keep))
  const kill = (signal: NodeJS.Signals) => { if (child.exitCode === null && child.signalCode === null) try { process.kill(pid, signal) } catch { /* gone */ } }
  t.teardown(() => kill('SIGKILL'))
  return {
    pid,
    child,
    logs,
    other,
    exited,
    kill,
    async stop() {
      kill('SIGTERM')
      return exited
    },
    healthz: async () => (await httpGetIn(node, AGENT_HEALTHZ.host, AGENT_HEALTHZ.port, '/healthz')).status,
    metrics: async () => (await httpGetIn(node, AGENT_METRICS.host, AGENT_METRICS.port, '/metrics')).text,
  }
}

/** The agent's last output lines and how it ended, for a failure message. */
export function agentTail(agent: AgentProc, lines = 15): string {
  const ended = agent.child.signalCode ? `killed by ${agent.child.signalCode}` : agent.child.exitCode !== null ? `exit ${agent.child.exitCode}` : 'running'
  return `agent ${agent.pid} ${ended}; last output:\n${[...agent.other, ...agent.logs.map((l) => JSON.stringify(l))].slice(-lines).join('\n')}`
}

/** Wait until the agent's /healthz says 200 (synced and programmed), or it exits. */
export async function agentHealthy(agent: AgentProc, timeoutMs = 60_000): Promise<void> {
  await waitFor('the agent to be healthy', async () => (await agent.healthz()) === 200, {
    timeoutMs, everyMs: 100, abandon: () => agent.child.exitCode !== null || agent.child.signalCode !== null,
  }).catch((e: Error) => {
    throw new LabError('EAGENT', `${e.message}\n${agentTail(agent, 30)}`)
  })
}

/** `pontoon agent --help` mentions --proxy-mode: the proxy is wired into the agent. */
export function agentHasProxy(node: Netns): { wired: boolean; help: string } {
  const r = node.try(PONTOON, ['agent', '--help'])
  const help = r.stdout + r.stderr
  return { wired: help.includes('--proxy-mode'), help }
}

// ---------------------------------------------------------------- kernel state in the node

/** What pontoon may have left in the node namespace: our nft table, KUBE-* iptables chains, KUBE-* ipsets. */
export function proxyLeftovers(node: Netns): string[] {
  const left: string[] = []
  const tables = node.try('nft', ['list', 'tables']).stdout
  for (const line of tables.split('\n')) if (/\bpontoon\b/.test(line)) left.push(`nft: ${line.trim()}`)
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const out = node.try(save, []).stdout
    for (const line of out.split('\n')) if (/^[:-]A? ?KUBE-|^:KUBE-|^-A KUBE-|-j KUBE-/.test(line)) left.push(`${save}: ${line}`)
  }
  const sets = node.try('ipset', ['list', '-n'])
  if (sets.status === 0) for (const s of sets.stdout.split('\n')) if (s.startsWith('KUBE-')) left.push(`ipset: ${s}`)
  return left
}

