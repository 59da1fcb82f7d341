// The traffic lab proves itself with a hand-written nft DNAT table in the node
// namespace, before any proxy is involved: each probe the end-to-end tests rely
// on (which backend answered, whether the client was masqueraded, refused vs
// dropped, a UDP flow that keeps its socket, a TCP flow that outlives its rules,
// IPv6, hairpin, the node's own traffic) must see what the rules do, and must
// see the difference when the rules change. Plus the API and agent plumbing:
// the agent in the node namespace reaches the API through the listener the API
// opened there, and is killed by PID.
import t from 'tap'
import {
  GATEWAY4, GATEWAY6, NODE_IP4, OUTSIDE_IP4, SERVICES,
  agentHealthy, applyNodes, applyService, applySlice, makeProxyLab, startAgent, startLabApi, tcpAsk, tcpHold, udpAsk, udpFlow,
  type Outcome,
} from '../lib/proxy-lab.ts'
import { call } from '../fixtures/api/harness.ts'
import { waitFor } from '../lib/wait.ts'

const VIP = '10.96.0.10'
const VIP_EMPTY = '10.96.0.11'
const VIP_UDP = '10.96.0.12'
const VIP_HAIR = '10.96.0.13'
const VIP_KEEP = '10.96.0.14'
const VIP_DROP = '10.96.0.15'
const VIP6 = 'fd00:96::10'

const lab = await makeProxyLab({ backends: 2, clients: 1 })
t.teardown(() => lab.destroy())
const [b0, b1] = lab.backends as [typeof lab.backends[0], typeof lab.backends[0]]
const client = lab.clients[0]!

const ruleset = (udpTo: string) => `
table inet labtest
delete table inet labtest
table inet labtest {
  chain natpre {
    type nat hook prerouting priority -100;
    ip daddr ${VIP} meta l4proto { tcp, udp } th dport 80 dnat ip to ${b0.ip4}:8080
    ip daddr ${VIP_KEEP} tcp dport 80 dnat ip to ${b1.ip4}:8081
    ip daddr ${VIP_UDP} udp dport 53 dnat ip to ${udpTo}:8082
    ip daddr ${VIP_HAIR} tcp dport 80 dnat ip to ${b0.ip4}:8080
    ip6 daddr ${VIP6} meta l4proto { tcp, udp } th dport 80 dnat ip6 to [${b1.ip6}]:8080
  }
  chain natout {
    type nat hook output priority -100;
    ip daddr ${VIP} tcp dport 80 dnat ip to ${b1.ip4}:8080
  }
  chain natpost {
    type nat hook postrouting priority 100;
    ip saddr ${OUTSIDE_IP4} ip daddr ${b0.ip4} masquerade
    ip saddr ${b0.ip4} ip daddr ${b0.ip4} masquerade
    ip saddr ${NODE_IP4} ip daddr ${b1.ip4} masquerade
  }
  chain filterfwd {
    type filter hook forward priority -110;
    ip daddr ${VIP_EMPTY} tcp dport 80 reject with tcp reset
    ip daddr ${VIP_DROP} tcp dport 80 drop
  }
}
`
lab.node.run('nft', ['-f', '-'], { input: ruleset(b0.ip4) })

const answered = (o: Outcome) => (o.ok ? `${o.backend}:${o.port} saw ${o.peer}` : o.error)

t.test('TCP and UDP through a DNAT: the backend that answered and the client it saw', async (t) => {
  t.equal(answered(await tcpAsk(client.ns, VIP, 80)), `${b0.ip4}:8080 saw ${client.ip4}`, 'TCP from a pod keeps its source')
  t.equal(answered(await udpAsk(client.ns, VIP, 80)), `${b0.ip4}:8080 saw ${client.ip4}`, 'UDP from a pod keeps its source')
  t.equal(answered(await tcpAsk(client.ns, b1.ip4, 8083)), `${b1.ip4}:8083 saw ${client.ip4}`, 'a direct connect reaches the pod on any echo port')
})

t.test('the outside client: masqueraded or not, as the rules say', async (t) => {
  t.equal(answered(await tcpAsk(lab.outside, VIP, 80)), `${b0.ip4}:8080 saw ${GATEWAY4}`, 'masqueraded to the node\'s bridge address')
  t.equal(answered(await tcpAsk(lab.outside, VIP_KEEP, 80)), `${b1.ip4}:8081 saw ${OUTSIDE_IP4}`, 'not masqueraded: the client IP is kept')
})

t.test('IPv6', async (t) => {
  t.equal(answered(await tcpAsk(client.ns, VIP6, 80)), `${b1.ip6}:8080 saw ${client.ip6}`)
  t.equal(answered(await udpAsk(lab.outside, VIP6, 80)), `${b1.ip6}:8080 saw fd00:50::2`)
})

t.test('refused at once (TCP reset) is told from dropped (timeout)', async (t) => {
  const refused: Outcome[] = []
  for (let i = 0; i < 20; i++) refused.push(await tcpAsk(client.ns, VIP_EMPTY, 80, 900))
  t.same(refused.map((o) => o.ok ? 'answered' : o.error), Array(20).fill('ECONNREFUSED'), '20 back-to-back connects all refused')
  t.equal(answered(await tcpAsk(client.ns, VIP_DROP, 80, 500)), 'ETIMEDOUT', 'a dropped connect times out')
})

t.test('a UDP flow keeps its backend until its conntrack entry goes, then moves', async (t) => {
  const flow = await udpFlow(client.ns, 4)
  t.teardown(() => flow.close())
  t.equal(answered(await flow.ask(VIP_UDP, 53)), `${b0.ip4}:8082 saw ${client.ip4}`)
  lab.node.run('nft', ['-f', '-'], { input: ruleset(b1.ip4) })
  t.equal(answered(await flow.ask(VIP_UDP, 53)), `${b0.ip4}:8082 saw ${client.ip4}`, 'the same socket still reaches the old backend: the flow is stale')
  t.equal(answered(await udpAsk(client.ns, VIP_UDP, 53)), `${b1.ip4}:8082 saw ${client.ip4}`, 'a new socket takes the new rule')
  lab.node.run('conntrack', ['-D', '-p', 'udp', '--orig-dst', VIP_UDP])
  t.equal(answered(await flow.ask(VIP_UDP, 53)), `${b1.ip4}:8082 saw ${client.ip4}`, 'with the entry gone, the next datagram moves')
})

t.test('an established TCP flow outlives its rules; new ones do not', async (t) => {
  const held = await tcpHold(client.ns, VIP_HAIR, 80)
  if (!held.ok) throw new Error(held.error)
  t.teardown(() => held.close())
  lab.node.run('nft', ['delete', 'chain', 'inet', 'labtest', 'filterfwd'])
  lab.node.run('nft', ['flush', 'chain', 'inet', 'labtest', 'natpre'])
  t.equal(answered(await held.ask()), `${b0.ip4}:8080 saw ${client.ip4}`, 'the held connection still answers')
  t.equal(answered(await tcpAsk(client.ns, VIP_HAIR, 80, 500)), 'ETIMEDOUT', 'a new connection finds no rule')
  lab.node.run('nft', ['-f', '-'], { input: ruleset(b0.ip4) })
})

t.test('hairpin and the node\'s own traffic', async (t) => {
  t.equal(answered(await tcpAsk(b0.ns, VIP_HAIR, 80)), `${b0.ip4}:8080 saw ${GATEWAY4}`, 'a pod reaches itself through a VIP when masqueraded')
  t.equal(answered(await tcpAsk(lab.node, VIP, 80)), `${b1.ip4}:8080 saw ${GATEWAY4}`, 'the node\'s own connects go through the output hook')
  t.equal(answered(await tcpAsk(lab.node, b0.ip6, 8080)), `${b0.ip6}:8080 saw ${GATEWAY6}`)
})

t.test('API and agent plumbing: objects through the API, the agent in the node namespace, killed by PID', async (t) => {
  const api = await startLabApi(t, lab.node)
  await applyNodes(api)
  const svc = await applyService(api, 'web', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 'web' }] })
  t.match(svc.spec.clusterIP, /^10\.96\./, 'a clusterIP was allocated')
  t.type(svc.spec.ports[0].nodePort, 'number', 'a nodePort was allocated')
  await applySlice(api, 'web-a', 'web', 4, [{ name: 'http', port: 8081 }], [{ pod: b0 }, { pod: b1, nodeName: 'node-2', ready: false, serving: true, terminating: true }])
  const again = await applySlice(api, 'web-a', 'web', 4, [{ name: 'http', port: 8081 }], [{ pod: b1 }])
  t.same(again.endpoints.map((e: { addresses: string[] }) => e.addresses[0]), [b1.ip4], 'applySlice replaces')
  const listed = await call(api, 'GET', SERVICES)
  t.ok(listed.body.items.some((s: { metadata: { name: string } }) => s.metadata.name === 'web'))

  // The agent with its default proxy mode: it must reach the
  // API from inside the node namespace, turn healthy, and die by PID.
  const agent = startAgent(t, lab.node, ['agent', '--kubeconfig', api.nodeKubeconfig, '--node-name', 'node-1', '--overlay', 'none',
    '--healthz-bind-address', '127.0.0.1:10256', '--metrics-bind-address', '127.0.0.1:10249', '--min-sync-period', '0'])
  await agentHealthy(agent)
  // the log line travels through a pipe and may arrive after the healthz answer
  t.ok(await waitFor('the agent to log its sync', () => agent.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('cache synced')), { timeoutMs: 10_000, everyMs: 20 }), 'the agent logged its sync')
  t.match(await agent.metrics(), /\n?# (HELP|TYPE) /, 'metrics answer inside the node namespace')
  agent.kill('SIGKILL')
  t.equal(await agent.exited, -1, 'killed by signal')
  t.equal(await waitFor('the healthz port to close', async () => agent.healthz().then(() => false, () => true)), true)
  await api.stop()
})

t.test('the lab leaves the root namespace alone', async (t) => {
  const { execFileSync } = await import('node:child_process')
  const root = execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' })
  t.notMatch(root, /10\.244\.1\.|192\.168\.50\.|fd00:50::|fd00:10:244:/, 'no lab address in the root namespace')
})
