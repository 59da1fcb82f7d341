// The resident fast path: pontoon-cni hands the invocation to `pontoon cni-server`
// when the config names its socket, and does the work itself when nobody listens
// there or the server lives in another network namespace.
import t, { type Test } from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, type Netns } from '../lib/netns.ts'
import { cni, bridgeConf, tempDataDir, writeUnreachableKubeconfig, PONTOON_CNI, BIN } from '../lib/cni.ts'
import { servePeer, tcpAsk } from '../lib/traffic.ts'
import { waitFor } from '../lib/wait.ts'

/** Waits for a socket (or any path) to appear: up to 30 s, since a loaded CI box starts Node slowly. */
async function appears(path: string): Promise<boolean> {
  return waitFor(`${path} to appear`, () => existsSync(path), { timeoutMs: 30_000 }).catch(() => false)
}

/** Node and pod namespaces plus a data dir, all removed when the test ends. */
function world(t: Test, o: { nodes?: number; pods?: number } = {}) {
  const nodes = Array.from({ length: o.nodes ?? 1 }, () => makeNetns('node'))
  const pods = Array.from({ length: o.pods ?? 1 }, () => makeNetns('pod'))
  const data = tempDataDir('res')
  t.teardown(() => { for (const n of [...pods, ...nodes]) n.destroy(); data.cleanup() })
  return { node: nodes[0]!, nodes, pod: pods[0]!, pods, data }
}

async function startServer(node: Netns, socket: string) {
  const child = node.spawn(join(BIN, 'pontoon'), ['cni-server', '--socket', socket])
  if (!(await appears(socket))) throw new Error('cni-server did not start')
  return child
}

function logPids(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).pid as number)
}

t.test('ADD and DEL run in the resident server, and pods carry traffic', async (t) => {
  const { node, pods, data } = world(t, { pods: 2 })
  const socket = join(data.dir, 'cni.sock')
  const server = await startServer(node, socket)
  const conf = bridgeConf({ dataDir: data.dir, agentSocket: socket })
  const log = join(data.dir, 'cni.log')
  const env = { PONTOON_CNI_LOG: log }
  const r = pods.map((p, i) => cni(node, PONTOON_CNI, { command: 'ADD', containerId: `c${i}`, netns: p.path, ifName: 'eth0', env }, conf))
  t.same(r.map((x) => x.status), [0, 0], r.map((x) => x.stdout).join())
  t.same(logPids(log), [server.pid, server.pid], 'both ADDs were executed by the server process')
  const ipB = r[1]!.json.ips[0].address.split('/')[0]
  await servePeer(pods[1]!, 8080)
  t.equal(tcpAsk(pods[0]!, ipB, 8080), r[0]!.json.ips[0].address.split('/')[0], 'pod to pod TCP')

  const bad = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'c9', netns: '/run/netns/pontoon-none', ifName: 'eth0', env }, conf)
  t.equal(bad.json.code, 3, 'errors come back as the spec error JSON')
  const del = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c0', netns: pods[0]!.path, ifName: 'eth0', env }, conf)
  t.equal(del.status, 0)
  t.equal(pods[0]!.try('ip', ['link', 'show', 'eth0']).status, 1, 'DEL through the server removed the interface')
  t.same(logPids(log), [server.pid, server.pid, server.pid, server.pid])
})

t.test('no server at the socket: the plugin does the work itself', async (t) => {
  const { node, pod, data } = world(t)
  const log = join(data.dir, 'cni.log')
  const r = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'c1', netns: pod.path, ifName: 'eth0', env: { PONTOON_CNI_LOG: log } },
    bridgeConf({ dataDir: data.dir, agentSocket: join(data.dir, 'nobody.sock') }))
  t.equal(r.status, 0, r.stdout)
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 0)
  t.equal(logPids(log).length, 1)
})

t.test('a server in another node netns is not used: the work lands in the caller\'s netns', async (t) => {
  const { nodes, pod, data } = world(t, { nodes: 2 })
  const nodeA = nodes[0]!, nodeB = nodes[1]!
  const socket = join(data.dir, 'cni.sock')
  const server = await startServer(nodeA, socket)
  const log = join(data.dir, 'cni.log')
  const r = cni(nodeB, PONTOON_CNI, { command: 'ADD', containerId: 'c1', netns: pod.path, ifName: 'eth0', env: { PONTOON_CNI_LOG: log } },
    bridgeConf({ dataDir: data.dir, agentSocket: socket }))
  t.equal(r.status, 0, r.stdout)
  t.equal(nodeB.try('ip', ['link', 'show', 'cni0']).status, 0, 'bridge made in the calling node')
  t.equal(nodeA.try('ip', ['link', 'show', 'cni0']).status, 1, 'nothing in the server\'s node')
  t.not(logPids(log)[0], server.pid)
})

t.test('pontoon agent --cni-socket serves pods even while the API is unreachable', async (t) => {
  const { node, pod, data } = world(t)
  const kubeconfig = join(data.dir, 'kubeconfig')
  writeUnreachableKubeconfig(kubeconfig)
  const socket = join(data.dir, 'cni.sock')
  const agent = node.spawn(join(BIN, 'pontoon'), ['agent', '--kubeconfig', kubeconfig, '--node-name', 'n1', '--overlay', 'none', '--cni-socket', socket,
    '--healthz-bind-address', '127.0.0.1:20256', '--metrics-bind-address', '127.0.0.1:20249'])
  t.ok(await appears(socket), 'the agent opened the CNI socket')
  const log = join(data.dir, 'cni.log')
  const r = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'c1', netns: pod.path, ifName: 'eth0', env: { PONTOON_CNI_LOG: log } },
    bridgeConf({ dataDir: data.dir, agentSocket: socket }))
  t.equal(r.status, 0, r.stdout)
  t.same(logPids(log), [agent.pid], 'the agent process did the ADD')
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 0)
})

t.test('the Node fast path (used where no C compiler built the front door) speaks the same protocol', async (t) => {
  const { node, pod, data } = world(t)
  const socket = join(data.dir, 'cni.sock')
  const server = await startServer(node, socket)
  const log = join(data.dir, 'cni.log')
  const nodeJs = join(BIN, 'pontoon.d', 'node')
  const script = join(BIN, 'pontoon.d', 'pontoon-cni.mjs')
  const { spawnSync } = await import('node:child_process')
  const r = spawnSync('nsenter', ['--net=' + node.path, '--', nodeJs, script], {
    input: JSON.stringify(bridgeConf({ dataDir: data.dir, agentSocket: socket })),
    env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: pod.path, CNI_IFNAME: 'eth0', CNI_PATH: BIN, PONTOON_CNI_LOG: log },
    encoding: 'utf8',
  })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(JSON.parse(r.stdout), { cniVersion: '1.1.0', ips: [{ address: /^10\.244\.7\./ }] })
  t.same(logPids(log), [server.pid])
})

t.test('a server that dies mid-request is an error (11), never a silent local retry', async (t) => {
  const { node, pod, data } = world(t)
  const socket = join(data.dir, 'dying.sock')
  // Its own process (cni() blocks this one): reads the request, then hangs up without an answer, as a crashed server would.
  node.spawn(process.execPath, ['-e', `require('net').createServer({ allowHalfOpen: true }, (c) => { c.on('data', () => {}); c.on('end', () => c.destroy()) }).listen(${JSON.stringify(socket)})`])
  t.ok(await appears(socket), 'the dying server listens')
  const r = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'c1', netns: pod.path, ifName: 'eth0' }, bridgeConf({ dataDir: data.dir, agentSocket: socket }))
  t.equal(r.status, 1)
  t.equal(r.json.code, 11, r.stdout)
  t.match(r.json.msg, /resident pontoon at .*dying\.sock/)
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'the plugin did not do the work itself')
})

t.test('the resident server leaks no descriptors over failing and succeeding calls', async (t) => {
  const { node, pod, data } = world(t)
  const socket = join(data.dir, 'cni.sock')
  const server = await startServer(node, socket)
  const conf = bridgeConf({ dataDir: data.dir, agentSocket: socket })
  const fds = () => readdirSync(`/proc/${server.pid}/fd`).length
  const call = (command: 'ADD' | 'DEL', id: string) => cni(node, PONTOON_CNI, { command, containerId: id, netns: pod.path, ifName: 'eth0' }, conf)
  t.equal(call('ADD', 'warm').status, 0)
  t.equal(call('DEL', 'warm').status, 0)
  const before = fds()
  t.equal(call('ADD', 'c0').status, 0)
  for (let i = 1; i <= 10; i++) {
    const r = call('ADD', `c${i}`) // eth0 is taken in this pod: fails after both netlink sockets are open
    t.equal(r.json?.code, 106, 'second ADD into the same interface name fails')
  }
  t.equal(call('DEL', 'c0').status, 0)
  // The plugin has its answer before the server has closed its end of the
  // connection: on a busy machine that close comes a little later. A leak of one
  // descriptor per call (eleven here) never settles.
  const settled = await waitFor('the descriptor count to come back', () => fds() === before || undefined, { timeoutMs: 5000 }).then(() => true, () => false)
  t.ok(settled, `descriptor count back where it was (${before}; now ${fds()})`)
})
