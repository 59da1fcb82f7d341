// The service proxy end to end in userspace mode: `pontoon agent --proxy-mode
// userspace` in the lab's node namespace, real TCP and UDP from a pod and
// from outside through the agent's own proxy sockets.
//
// Not the shared list of test/lib/proxy-scenarios.ts, because userspace mode
// cannot do some of what it asserts, by design (kube-proxy's userspace mode
// could not either): the backend sees the node (the proxy's own connection),
// never the client, so "the pod's own source" and eTP Local's "the client IP
// is kept" do not hold; and connections are the agent's own sockets, so they
// do not outlive a killed agent. What it adds: a refused endpoint is skipped.
import t from 'tap'
import {
  GATEWAY4, NODE_IP4, PONTOON, SLICES,
  agentArgs, agentHealthy, agentTail, applyNodes, applyService, applySlice, deleteObject, makeProxyLab, proxyLeftovers,
  startAgent, startLabApi, tcpAsk, tcpHold, udpAsk, udpFlow,
  type Outcome, type Pod,
} from '../lib/proxy-lab.ts'
import { waitFor } from '../lib/wait.ts'

const SYNC_PERIOD_S = 6
const GRACE_MS = 3000
/** below the kernel's first SYN retransmit (1 s) */
const REFUSED_AT_ONCE_MS = 900

const said = (o: Outcome) => (o.ok ? `${o.backend}:${o.port} saw ${o.peer}` : o.error)
const backendsOf = (os: Outcome[]) => [...new Set(os.map((o) => (o.ok ? o.backend : `!${o.error}`)))].sort()

async function many(n: number, ask: () => Promise<Outcome>): Promise<Outcome[]> {
  const out: Outcome[] = []
  for (let i = 0; i < n; i++) out.push(await ask())
  return out
}

const lab = await makeProxyLab({ backends: 3, clients: 1 })
t.teardown(() => lab.destroy())
const [b0, b1, b2] = lab.backends as [Pod, Pod, Pod]
const client = lab.clients[0]!
// a rule of someone else's in the chains we jump from: every sync and the cleanup must leave it
lab.node.run('iptables', ['-t', 'nat', '-A', 'PREROUTING', '-s', '198.51.100.0/24', '-j', 'RETURN'])
const foreign = () => lab.node.try('iptables', ['-t', 'nat', '-S', 'PREROUTING']).stdout.split('\n').filter((l) => l.includes('198.51.100.0')).join('\n')
const foreignBefore = foreign()

const api = await startLabApi(t, lab.node)
await applyNodes(api)
const http = { name: 'http', port: 8080 }
const dns = { name: 'dns', port: 8081, protocol: 'UDP' as const }
const web = await applyService(api, 'web', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, targetPort: 8081, protocol: 'UDP' }] })
await applySlice(api, 'web-a', 'web', 4, [http, dns], [{ pod: b0 }, { pod: b1 }, { pod: b2 }])
// b0's endpoint is a port nothing listens on: its connects are refused
const fail = await applyService(api, 'fail', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
await applySlice(api, 'fail-a', 'fail', 4, [{ name: 'http', port: 8090 }], [{ pod: b0 }])
await applySlice(api, 'fail-b', 'fail', 4, [http], [{ pod: b1 }])
const sticky = await applyService(api, 'sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
await applySlice(api, 'sticky-a', 'sticky', 4, [http], [{ pod: b0 }, { pod: b1 }, { pod: b2 }])
const empty = await applyService(api, 'empty', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
const flowSvc = await applyService(api, 'flow', { ports: [{ name: 'dns', port: 53, targetPort: 8082, protocol: 'UDP' }] })
await applySlice(api, 'flow-a', 'flow', 4, [{ name: 'dns', port: 8082, protocol: 'UDP' }], [{ pod: b0 }])
const vip: string = web.spec.clusterIP
const nodePort: number = web.spec.ports.find((p: { name: string }) => p.name === 'http').nodePort
const nodePortUdp: number = web.spec.ports.find((p: { name: string }) => p.name === 'dns').nodePort

let agent = startAgent(t, lab.node, agentArgs(api, { mode: 'userspace', syncPeriodS: SYNC_PERIOD_S }))
await agentHealthy(agent)
await waitFor('the first Service to be served', async () => (await tcpAsk(client.ns, vip, 80, 1000)).ok, { timeoutMs: 20_000, everyMs: 100 })

await t.test('the rules are kube-proxy userspace mode\'s: portals REDIRECT to a local proxy port', async (t) => {
  const nat = lab.node.run('iptables-save', ['-t', 'nat'])
  t.match(foreignBefore, /198\.51\.100\.0\/24/, 'the foreign rule is in place')
  t.match(nat, new RegExp(`-A KUBE-PORTALS-CONTAINER -d ${vip.replace(/\./g, '\\.')}/32 -p tcp .*--dport 80 .*-j REDIRECT --to-ports \\d+`), 'the clusterIP is redirected')
  t.match(nat, /-A PREROUTING .*-j KUBE-PORTALS-CONTAINER/)
  t.match(nat, /-A OUTPUT .*-j KUBE-PORTALS-HOST/)
  t.match(nat, new RegExp(`-A KUBE-NODEPORT-CONTAINER .*--dport ${nodePort} .*-j REDIRECT`), 'the NodePort too')
})

await t.test('ClusterIP TCP and UDP carry real traffic, round-robin over every endpoint', async (t) => {
  const tcp = await many(30, () => tcpAsk(client.ns, vip, 80))
  t.same(backendsOf(tcp), [b0.ip4, b1.ip4, b2.ip4].sort(), '30 connects reach all three backends and nothing else')
  t.ok(tcp.every((o) => o.ok && o.port === 8080 && o.peer === GATEWAY4), `on the targetPort, from the node's proxy: ${tcp.slice(0, 3).map(said)}`)
  const udp = await many(9, () => udpAsk(client.ns, vip, 53))
  t.same(backendsOf(udp), [b0.ip4, b1.ip4, b2.ip4].sort(), `UDP 53 -> 8081 over every backend: ${udp.map(said)}`)
  t.ok(udp.every((o) => o.ok && o.port === 8081), 'on the UDP targetPort')
  const held = await tcpHold(client.ns, vip, 80)
  if (!held.ok) throw new Error(held.error)
  t.teardown(() => held.close())
  t.equal(said(await held.ask()), said({ ok: true, ...held.first, ms: 0 }), 'one connection asked twice: the bytes flow both ways, more than once')
})

await t.test('a refused endpoint is skipped: every connect lands on the second endpoint', async (t) => {
  const r = await many(20, () => tcpAsk(client.ns, fail.spec.clusterIP, 80))
  t.same(r.map(said), Array(20).fill(`${b1.ip4}:8080 saw ${GATEWAY4}`), 'b0:8090 refuses, b1 answers, the client never sees a failure')
})

await t.test('NodePort from outside, TCP and UDP', async (t) => {
  const np = await many(9, () => tcpAsk(lab.outside, NODE_IP4, nodePort))
  t.same(backendsOf(np), [b0.ip4, b1.ip4, b2.ip4].sort(), `TCP: ${np.map(said)}`)
  const u = await udpAsk(lab.outside, NODE_IP4, nodePortUdp)
  t.ok(u.ok && u.port === 8081, `UDP: ${said(u)}`)
})

await t.test('ClientIP affinity sticks for 30 connections', async (t) => {
  const r = await many(30, () => tcpAsk(client.ns, sticky.spec.clusterIP, 80))
  t.ok(r.every((o) => o.ok), 'all answered')
  t.equal(backendsOf(r).length, 1, `one backend for all: ${backendsOf(r)}`)
})

await t.test('no endpoints: refused at once', async (t) => {
  const r = await many(10, () => tcpAsk(client.ns, empty.spec.clusterIP, 80, REFUSED_AT_ONCE_MS))
  t.same(r.map(said), Array(10).fill('ECONNREFUSED'))
})

await t.test('an endpoint removed gets no new connection; the listener stays', async (t) => {
  const before = lab.node.run('iptables-save', ['-t', 'nat']).match(new RegExp(`-d ${vip.replace(/\./g, '\\.')}/32 -p tcp .*--to-ports (\\d+)`))?.[1]
  await applySlice(api, 'web-a', 'web', 4, [http, dns], [{ pod: b0 }, { pod: b1 }])
  await waitFor('b2 to get no new connection', async () => {
    const r = await many(6, () => tcpAsk(client.ns, vip, 80))
    return r.every((o) => o.ok && o.backend !== b2.ip4)
  }, { timeoutMs: 15_000, everyMs: 50 })
  const r = await many(30, () => tcpAsk(client.ns, vip, 80))
  t.same(backendsOf(r), [b0.ip4, b1.ip4].sort(), '30 more connects: b0 and b1 only')
  const after = lab.node.run('iptables-save', ['-t', 'nat']).match(new RegExp(`-d ${vip.replace(/\./g, '\\.')}/32 -p tcp .*--to-ports (\\d+)`))?.[1]
  t.ok(before !== undefined && before === after, `the same proxy port before and after: ${before} ${after}`)
})

await t.test('endpoint removal moves a UDP flow: the same socket\'s next datagram reaches the new backend', async (t) => {
  const flow = await udpFlow(client.ns, 4)
  t.teardown(() => flow.close())
  t.equal(said(await flow.ask(flowSvc.spec.clusterIP, 53)), `${b0.ip4}:8082 saw ${GATEWAY4}`, 'the flow starts on b0')
  await applySlice(api, 'flow-a', 'flow', 4, [{ name: 'dns', port: 8082, protocol: 'UDP' }], [{ pod: b1 }])
  const moved = await waitFor('the UDP flow to reach b1', async () => {
    const o = await flow.ask(flowSvc.spec.clusterIP, 53, 300)
    return o.ok && o.backend === b1.ip4 && o
  }, { timeoutMs: 15_000, everyMs: 50 })
  t.equal(said(moved), `${b1.ip4}:8082 saw ${GATEWAY4}`)
})

await t.test('a Service deleted is no longer served', async (t) => {
  await deleteObject(api, '/api/v1/namespaces/default/services', 'fail')
  await deleteObject(api, SLICES, 'fail-a')
  await deleteObject(api, SLICES, 'fail-b')
  const gone = await waitFor('the fail Service to be gone', async () => {
    const o = await tcpAsk(client.ns, fail.spec.clusterIP, 80, 500)
    return !o.ok && o
  }, { timeoutMs: 15_000, everyMs: 100 })
  t.not(gone.ok, true)
})

await t.test('a flushed chain is repaired within one --sync-period', async (t) => {
  const resyncs = () => agent.logs.filter((l) => l.msg === 'proxy rules missing: full resync').length
  t.equal(resyncs(), 0, 'the canary saw nothing missing while nothing was (one dump, matched line by line)')
  lab.node.run('iptables', ['-t', 'nat', '-F', 'KUBE-PORTALS-CONTAINER'])
  t.not((await tcpAsk(client.ns, vip, 80, 500)).ok, true, 'flushed: the clusterIP is not served')
  await waitFor('the portals to be back', async () => (await tcpAsk(client.ns, vip, 80, 1000)).ok, { timeoutMs: SYNC_PERIOD_S * 1000 + GRACE_MS, everyMs: 100 })
  t.equal(foreign(), foreignBefore, 'the foreign rule is as it was')
})

await t.test('the agent restarted serves again with fresh sockets', async (t) => {
  agent.kill('SIGKILL')
  await agent.exited
  agent = startAgent(t, lab.node, agentArgs(api, { mode: 'userspace', syncPeriodS: SYNC_PERIOD_S }))
  await agentHealthy(agent)
  await waitFor('the restarted agent to serve', async () => (await tcpAsk(client.ns, vip, 80, 1000)).ok, { timeoutMs: 20_000, everyMs: 100 })
  const jumps = lab.node.run('iptables-save', ['-t', 'nat']).split('\n').filter((l) => /^-A (PREROUTING|OUTPUT) .*KUBE-(PORTALS|NODEPORT)-/.test(l))
  t.equal(jumps.length, 4, `the jumps were relinked, not doubled: ${jumps.join(' | ')}`)
  const code = await agent.stop()
  t.equal(code, 0, `the agent stops cleanly on SIGTERM${code === 0 ? '' : `: ${agentTail(agent)}`}`)
})

await t.test('`pontoon cleanup` leaves nothing of ours and everything of theirs', async (t) => {
  const r = lab.node.try(PONTOON, ['cleanup'])
  t.equal(r.status, 0, `cleanup exits 0: ${r.stderr}`)
  t.match(r.stdout, /userspace: removed/)
  t.same(proxyLeftovers(lab.node), [], 'no KUBE-* chain or jump is left')
  t.same(lab.node.run('iptables-save', []).split('\n').filter((l) => l.includes('pontoon')), [], 'no rule with our comment')
  t.equal(foreign(), foreignBefore, 'the foreign rule is untouched')
  t.not((await tcpAsk(client.ns, vip, 80, 500)).ok, true, 'the ClusterIP is no longer served')
  t.equal(lab.node.try(PONTOON, ['cleanup']).status, 0, 'a second cleanup, with nothing left, succeeds too')
})
