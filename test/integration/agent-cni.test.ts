// The agent as a node runs it: it writes the node's conflist from the podCIDR
// the API allocated, and serves the CNI calls that conflist sends to its socket.
// API and agent both run inside the node's namespace (the API on that
// namespace's loopback), so the plugin, the agent and the pods share a netns.
import t from 'tap'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns } from '../lib/netns.ts'
import { cni, tempDataDir, PONTOON_CNI, BIN } from '../lib/cni.ts'
import { servePeer, tcpAsk } from '../lib/traffic.ts'
import { waitFor } from '../lib/wait.ts'

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  return waitFor(what, fn, { timeoutMs: ms, everyMs: 50 })
}

t.test('conflist from the podCIDR, pods served by the agent, traffic between them', async (t) => {
  const node = makeNetns('node')
  const pods = [makeNetns('pod'), makeNetns('pod')]
  const data = tempDataDir('agentcni')
  t.teardown(() => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() })
  const apiDir = join(data.dir, 'api'), confDir = join(data.dir, 'net.d'), socket = join(data.dir, 'cni.sock')

  node.spawn(join(BIN, 'pontoon'), ['api', '--data-dir', apiDir, '--listen', '127.0.0.1:16443'])
  const kubeconfig = await until('the API kubeconfig', () => (existsSync(join(apiDir, 'kubeconfig')) ? join(apiDir, 'kubeconfig') : undefined))
  const agent = node.spawn(join(BIN, 'pontoon'), ['agent', '--kubeconfig', kubeconfig, '--node-name', 'node-1', '--overlay', 'none', '--cni-socket', socket,
    '--cni-conf-dir', confDir, '--cni-mtu', '1450', '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249', '--min-sync-period', '0', '--sync-period', '0.5'])
  await until('the CNI socket', () => (existsSync(socket) ? true : undefined))
  const conflist = join(confDir, '10-pontoon.conflist')
  t.notOk(existsSync(conflist), 'no conflist while the node has no podCIDR')

  const kubectl = (args: string[], input = '') => node.run('kubectl', ['--kubeconfig', kubeconfig, ...args], { input, env: { ...process.env, KUBECACHEDIR: join(data.dir, 'kcache') } })
  kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n')
  const podCIDR = kubectl(['get', 'node', 'node-1', '-o', 'jsonpath={.spec.podCIDR}']).trim()
  t.match(podCIDR, /^10\.244\.\d+\.0\/24$/)

  const text = await until('the conflist', () => (existsSync(conflist) ? readFileSync(conflist, 'utf8') : undefined))
  const conf = JSON.parse(text)
  t.same(conf.plugins[0].ipam.ranges, [[{ subnet: podCIDR }]])
  t.equal(conf.plugins[0].agentSocket, socket)
  t.equal(conf.plugins[0].mtu, 1450)

  // Drive the plugin exactly with what the agent wrote (the IPAM data dir moved into the test's tmp dir).
  const plugin = { ...conf.plugins[0], cniVersion: conf.cniVersion, name: conf.name }
  plugin.ipam = { ...plugin.ipam, dataDir: join(data.dir, 'ipam') }
  const log = join(data.dir, 'cni.log')
  const r = pods.map((p, i) => cni(node, PONTOON_CNI, { command: 'ADD', containerId: `c${i}`, netns: p.path, ifName: 'eth0', env: { PONTOON_CNI_LOG: log } }, plugin))
  t.same(r.map((x) => x.status), [0, 0], r.map((x) => x.stdout).join())
  const ips = r.map((x) => x.json.ips[0].address.split('/')[0] as string)
  const [net] = podCIDR.split('.0/')
  t.ok(ips.every((ip) => ip.startsWith(`${net}.`)), `pod IPs ${ips} come from ${podCIDR}`)
  const pids = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l).pid)
  t.same(pids, [agent.pid, agent.pid], 'the agent process did both ADDs')
  await servePeer(pods[1]!, 8080)
  t.equal(tcpAsk(pods[0]!, ips[1]!, 8080), ips[0], 'pod to pod TCP')

  // Periodic resyncs (every 0.5 s here) with nothing new leave the file alone.
  const ino = statSync(conflist).ino
  const syncs = () => Number(/pontoon_syncs_total\{result="ok"\} (\d+)/.exec(node.run('curl', ['-s', '127.0.0.1:10249/metrics']))?.[1] ?? NaN)
  const before = syncs()
  await until('two more syncs', () => (syncs() >= before + 2 ? true : undefined))
  t.equal(statSync(conflist).ino, ino, 'unchanged content is not rewritten')
})
