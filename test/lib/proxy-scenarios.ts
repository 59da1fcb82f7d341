// The service proxy end to end, one scenario list for every mode: the same
// Services, the same real TCP and UDP, the same assertions, whether the agent
// programs nftables or iptables. Each proxy-e2e-<mode>.test.ts only names its mode.
// (It lives in test/lib because tap runs every .ts file under test/integration.)
//
// The lab (test/lib/proxy-lab.ts): one node namespace running `pontoon agent`
// against `pontoon api`, backends b0..b2 answering "<backend> <peer> <port>",
// a client pod on the same bridge, an outside client on the wire.
import type { Test } from 'tap'
import {
  GATEWAY4, GATEWAY6, NODE_IP4, NODE_IP6, OTHER_NODE, OUTSIDE_IP4, OUTSIDE_IP6, PONTOON, SLICES,
  agentArgs, agentHasProxy, agentHealthy, agentTail, applyNodes, applyService, applySlice, deleteObject, makeProxyLab, proxyLeftovers,
  setLoadBalancerIngress, startAgent, startLabApi, tcpAsk, tcpHold, udpAsk, udpFlow,
  type AgentProc, type LabApi, type Outcome, type Pod, type ProxyLab,
} from './proxy-lab.ts'
import { waitFor } from './wait.ts'

export type Mode = 'nftables' | 'iptables'

/** a flushed table must be back within this */
const REPAIR_S = 6
/**
 * --sync-period the agent runs with. In nftables mode it is ten times the repair
 * bound: the drift watch (a canary asked every second) must bring the table
 * back, not the periodic sync. iptables' canary waits for a sync.
 */
const SYNC_PERIOD_S: Record<Mode, number> = { nftables: 10 * REPAIR_S, iptables: REPAIR_S }
/** slack on top of a period for a box shared by many test runs */
const GRACE_MS = 3000
/** below the kernel's first SYN retransmit (1 s): a connect refused later was refused by a rate-limited ICMP error, not at once */
const REFUSED_AT_ONCE_MS = 900
export const LB_IP = '192.168.60.10'
export const EXTERNAL_IP = '192.168.60.20'

/** How each mode's table is flushed behind the agent's back. */
const FLUSH: Record<Mode, Array<[string, string[]]>> = {
  nftables: [['nft', ['flush', 'table', 'inet', 'pontoon']], ['nft', ['delete', 'table', 'inet', 'pontoon']]],
  iptables: [['iptables', ['-t', 'nat', '-F', 'KUBE-SERVICES']]],
}

const said = (o: Outcome) => (o.ok ? `${o.backend}:${o.port} saw ${o.peer}` : o.error)
const backendsOf = (os: Outcome[]) => [...new Set(os.map((o) => (o.ok ? o.backend : `!${o.error}`)))].sort()

async function many(n: number, ask: () => Promise<Outcome>): Promise<Outcome[]> {
  const out: Outcome[] = []
  for (let i = 0; i < n; i++) out.push(await ask())
  return out
}

/** Rules written by someone else before the agent starts; every sync and the cleanup must leave them. */
function addForeignRules(lab: ProxyLab): void {
  lab.node.run('nft', ['-f', '-'], {
    input: 'table inet foreign {\n set allow { type ipv4_addr; elements = { 198.51.100.7 } }\n chain allowed { type filter hook forward priority 10; ip saddr @allow accept; }\n}\n',
  })
  lab.node.run('iptables', ['-t', 'filter', '-N', 'FOREIGN-CHAIN'])
  lab.node.run('iptables', ['-t', 'filter', '-A', 'FOREIGN-CHAIN', '-s', '198.51.100.7/32', '-j', 'RETURN'])
  lab.node.run('iptables', ['-t', 'filter', '-A', 'FORWARD', '-j', 'FOREIGN-CHAIN'])
  lab.node.run('iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-s', '198.51.100.0/24', '-j', 'RETURN'])
}

function foreignRules(lab: ProxyLab): string {
  return [
    lab.node.try('nft', ['list', 'table', 'inet', 'foreign']).stdout,
    lab.node.try('iptables', ['-t', 'filter', '-S', 'FOREIGN-CHAIN']).stdout,
    lab.node.try('iptables', ['-t', 'filter', '-S', 'FORWARD']).stdout.split('\n').filter((l) => l.includes('FOREIGN')).join('\n'),
    lab.node.try('iptables', ['-t', 'nat', '-S', 'POSTROUTING']).stdout.split('\n').filter((l) => l.includes('198.51.100.0')).join('\n'),
  ].join('\n---\n')
}

export interface V4Services {
  web: string
  np: number
  npUdp: number
  local: number
  elsewhere: number
  empty: string
  sticky: string
  flow: string
  hair: string
  keep: string
}

/** Every v4 Service of the scenarios, with its EndpointSlices (selectorless: the test writes the slices). */
export async function applyV4Services(api: LabApi, b: Pod[]): Promise<V4Services> {
  const [b0, b1, b2] = b as [Pod, Pod, Pod]
  const web = await applyService(api, 'web', { ports: [
    { name: 'http', port: 80, targetPort: 8080 },
    { name: 'dns', port: 53, targetPort: 8081, protocol: 'UDP' },
    { name: 'alt', port: 81, targetPort: 'web' },
  ] })
  // the named targetPort resolves per slice: b0 and b1 call "web" 8082, b2 calls it 8083
  await applySlice(api, 'web-a', 'web', 4, [{ name: 'http', port: 8080 }, { name: 'dns', port: 8081, protocol: 'UDP' }, { name: 'alt', port: 8082 }], [{ pod: b0 }, { pod: b1 }])
  await applySlice(api, 'web-b', 'web', 4, [{ name: 'http', port: 8080 }, { name: 'dns', port: 8081, protocol: 'UDP' }, { name: 'alt', port: 8083 }], [{ pod: b2 }])

  const np = await applyService(api, 'np', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, targetPort: 8081, protocol: 'UDP' }] })
  await applySlice(api, 'np-a', 'np', 4, [{ name: 'http', port: 8080 }, { name: 'dns', port: 8081, protocol: 'UDP' }], [{ pod: b0 }, { pod: b1 }])

  const dnsPort = { name: 'dns', port: 53, targetPort: 8081, protocol: 'UDP' as const }
  const dnsSlicePort = { name: 'dns', port: 8081, protocol: 'UDP' as const }
  await applyService(api, 'lb', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, targetPort: 8080 }, dnsPort] })
  await setLoadBalancerIngress(api, 'lb', [LB_IP])
  await applySlice(api, 'lb-a', 'lb', 4, [{ name: 'http', port: 8080 }, dnsSlicePort], [{ pod: b0 }, { pod: b1 }])

  await applyService(api, 'ext', { externalIPs: [EXTERNAL_IP], ports: [{ name: 'http', port: 80, targetPort: 8080 }, dnsPort] })
  await applySlice(api, 'ext-a', 'ext', 4, [{ name: 'http', port: 8080 }, dnsSlicePort], [{ pod: b1 }, { pod: b2 }])

  const local = await applyService(api, 'local', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
  await applySlice(api, 'local-a', 'local', 4, [{ name: 'http', port: 8080 }], [{ pod: b0 }, { pod: b1, nodeName: OTHER_NODE }])
  const elsewhere = await applyService(api, 'elsewhere', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
  await applySlice(api, 'elsewhere-a', 'elsewhere', 4, [{ name: 'http', port: 8080 }], [{ pod: b2, nodeName: OTHER_NODE }])

  const empty = await applyService(api, 'empty', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
  const sticky = await applyService(api, 'sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
  await applySlice(api, 'sticky-a', 'sticky', 4, [{ name: 'http', port: 8080 }], [{ pod: b0 }, { pod: b1 }, { pod: b2 }])
  const flow = await applyService(api, 'flow', { ports: [{ name: 'dns', port: 53, targetPort: 8082, protocol: 'UDP' }] })
  await applySlice(api, 'flow-a', 'flow', 4, [{ name: 'dns', port: 8082, protocol: 'UDP' }], [{ pod: b0 }])
  const hair = await applyService(api, 'hair', { ports: [{ name: 'http', port: 80, targetPort: 8080 }] })
  await applySlice(api, 'hair-a', 'hair', 4, [{ name: 'http', port: 8080 }], [{ pod: b0 }])
  const keep = await applyService(api, 'keep', { ports: [{ name: 'http', port: 80, targetPort: 8081 }] })
  await applySlice(api, 'keep-a', 'keep', 4, [{ name: 'http', port: 8081 }], [{ pod: b1 }])

  const nodePort = (svc: { spec: { ports: Array<{ name: string; nodePort: number }> } }, name: string) => svc.spec.ports.find((p) => p.name === name)!.nodePort
  return {
    web: web.spec.clusterIP, np: nodePort(np, 'http'), npUdp: nodePort(np, 'dns'), local: nodePort(local, 'http'), elsewhere: nodePort(elsewhere, 'http'),
    empty: empty.spec.clusterIP, sticky: sticky.spec.clusterIP, flow: flow.spec.clusterIP, hair: hair.spec.clusterIP, keep: keep.spec.clusterIP,
  }
}

/** Poll until a fresh connection answers (new conntrack entry each time: only rules can route it). */
function reachable(from: Pod['ns'], host: string, port: number, what: string, timeoutMs = 20_000): Promise<Outcome> {
  return waitFor(what, async () => {
    const o = await tcpAsk(from, host, port, 1000)
    return o.ok && o
  }, { timeoutMs, everyMs: 100 })
}

export async function proxyScenarios(t: Test, mode: Mode): Promise<void> {
  const root = t
  const lab = await makeProxyLab({ backends: 3, clients: 1 })
  t.teardown(() => lab.destroy())
  const wired = agentHasProxy(lab.node)
  if (!wired.wired) {
    // Not a skip: this file is meant to fail until `pontoon agent` runs the proxy.
    t.fail(`pontoon agent has no --proxy-mode flag yet (the proxy is not wired into the agent); agent --help said:\n${wired.help}`)
    return
  }
  const [b0, b1, b2] = lab.backends as [Pod, Pod, Pod]
  const client = lab.clients[0]!
  addForeignRules(lab)
  const foreignBefore = foreignRules(lab)

  let api = await startLabApi(t, lab.node)
  await applyNodes(api)
  const s = await applyV4Services(api, lab.backends)
  const args = agentArgs(api, { mode, syncPeriodS: SYNC_PERIOD_S[mode] })
  let agent: AgentProc = startAgent(t, lab.node, args)
  await agentHealthy(agent)
  await reachable(client.ns, s.web, 80, 'the first Service to be programmed')

  await t.test('ClusterIP: TCP and UDP, several ports, a named targetPort, an unallocated port', async (t) => {
    const tcp = await many(30, () => tcpAsk(client.ns, s.web, 80))
    t.same(backendsOf(tcp), [b0.ip4, b1.ip4, b2.ip4].sort(), '30 connects reach all three backends and nothing else')
    t.ok(tcp.every((o) => o.ok && o.port === 8080 && o.peer === client.ip4), 'on the targetPort, with the pod\'s own source')
    const udp = await many(10, () => udpAsk(client.ns, s.web, 53))
    t.ok(udp.every((o) => o.ok && o.port === 8081 && o.peer === client.ip4 && [b0.ip4, b1.ip4, b2.ip4].includes(o.backend)), `UDP port 53 -> 8081: ${udp.map(said)}`)
    const named = await many(20, () => tcpAsk(client.ns, s.web, 81))
    t.ok(named.every((o) => o.ok && o.port === (o.backend === b2.ip4 ? 8083 : 8082)), `named targetPort per slice: ${named.map(said)}`)
    t.equal(said(await tcpAsk(client.ns, s.web, 9999, REFUSED_AT_ONCE_MS)), 'ECONNREFUSED', 'a port the ClusterIP does not have is rejected')
  })

  await t.test('NodePort, LoadBalancer IP and externalIP from outside the cluster: masqueraded', async (t) => {
    const np = await many(10, () => tcpAsk(lab.outside, NODE_IP4, s.np))
    t.ok(np.every((o) => o.ok && [b0.ip4, b1.ip4].includes(o.backend) && o.port === 8080 && o.peer === GATEWAY4), `TCP NodePort: ${np.map(said)}`)
    const npUdp = await udpAsk(lab.outside, NODE_IP4, s.npUdp)
    t.ok(npUdp.ok && npUdp.port === 8081 && npUdp.peer === GATEWAY4, `UDP NodePort: ${said(npUdp)}`)
    const lb = await tcpAsk(lab.outside, LB_IP, 80)
    t.ok(lb.ok && [b0.ip4, b1.ip4].includes(lb.backend) && lb.peer === GATEWAY4, `LB IP: ${said(lb)}`)
    const lbUdp = await udpAsk(lab.outside, LB_IP, 53)
    t.ok(lbUdp.ok && [b0.ip4, b1.ip4].includes(lbUdp.backend) && lbUdp.port === 8081 && lbUdp.peer === GATEWAY4, `LB IP, UDP: ${said(lbUdp)}`)
    const ext = await tcpAsk(lab.outside, EXTERNAL_IP, 80)
    t.ok(ext.ok && [b1.ip4, b2.ip4].includes(ext.backend) && ext.peer === GATEWAY4, `externalIP: ${said(ext)}`)
    const extUdp = await udpAsk(lab.outside, EXTERNAL_IP, 53)
    t.ok(extUdp.ok && [b1.ip4, b2.ip4].includes(extUdp.backend) && extUdp.port === 8081 && extUdp.peer === GATEWAY4, `externalIP, UDP: ${said(extUdp)}`)
  })

  await t.test('externalTrafficPolicy Local: the client IP is kept; no local endpoint drops', async (t) => {
    const local = await many(20, () => tcpAsk(lab.outside, NODE_IP4, s.local))
    t.same(local.map(said), Array(20).fill(`${b0.ip4}:8080 saw ${OUTSIDE_IP4}`), 'only the endpoint on this node, and it sees the outside client')
    t.equal(said(await tcpAsk(lab.outside, NODE_IP4, s.elsewhere, 1500)), 'ETIMEDOUT', 'endpoints only on another node: dropped, not refused')
    const pod = await tcpAsk(client.ns, NODE_IP4, s.elsewhere)
    t.ok(pod.ok && pod.backend === b2.ip4, `a pod still reaches it through every endpoint: ${said(pod)}`)
  })

  await t.test('no endpoints: 20 back-to-back connects all refused at once', async (t) => {
    const r = await many(20, () => tcpAsk(client.ns, s.empty, 80, REFUSED_AT_ONCE_MS))
    t.same(r.map(said), Array(20).fill('ECONNREFUSED'), `each refused before the first SYN retransmit: ${r.map((o) => o.ms.toFixed(1)).join(' ')} ms`)
    const out = await many(20, () => tcpAsk(lab.outside, s.empty, 80, REFUSED_AT_ONCE_MS))
    t.same(out.map(said), Array(20).fill('ECONNREFUSED'), 'from outside too')
  })

  await t.test('ClientIP affinity sticks for 50 connections', async (t) => {
    const r = await many(50, () => tcpAsk(client.ns, s.sticky, 80))
    t.equal(backendsOf(r).length, 1, `one backend for all 50: ${backendsOf(r)}`)
    t.ok(r.every((o) => o.ok), 'all answered')
  })

  await t.test('endpoint removal moves a UDP flow: the same socket\'s next datagram reaches the new backend', async (t) => {
    const flow = await udpFlow(client.ns, 4)
    t.teardown(() => flow.close())
    t.equal(said(await flow.ask(s.flow, 53)), `${b0.ip4}:8082 saw ${client.ip4}`, 'the flow starts on b0')
    await applySlice(api, 'flow-a', 'flow', 4, [{ name: 'dns', port: 8082, protocol: 'UDP' }], [{ pod: b1 }])
    // b0 still answers on 8082: only a cleared conntrack entry can move this socket's flow
    const moved = await waitFor('the UDP flow to reach b1', async () => {
      const o = await flow.ask(s.flow, 53, 300)
      return o.ok && o.backend === b1.ip4 && o
    }, { timeoutMs: 15_000, everyMs: 50 }).catch((e) => {
      t.comment(`agent log, last 40 lines:\n${agent.logs.slice(-40).map((l) => JSON.stringify(l)).join('\n')}`)
      t.comment(`conntrack in the node: ${lab.node.try('conntrack', ['-L', '-p', 'udp']).stdout}`)
      throw e
    })
    t.equal(said(moved), `${b1.ip4}:8082 saw ${client.ip4}`)
  })

  await t.test('hairpin: a backend reaches itself through its Service', async (t) => {
    t.equal(said(await tcpAsk(b0.ns, s.hair, 80)), `${b0.ip4}:8080 saw ${GATEWAY4}`, 'masqueraded, or the reply would never come back')
  })

  await t.test('a Service created while the agent runs is programmed, and one deleted is gone', async (t) => {
    const late = await applyService(api, 'late', { ports: [{ name: 'http', port: 80, targetPort: 8083 }] })
    await applySlice(api, 'late-a', 'late', 4, [{ name: 'http', port: 8083 }], [{ pod: b2 }])
    t.equal(said(await reachable(client.ns, late.spec.clusterIP, 80, 'the late Service')), `${b2.ip4}:8083 saw ${client.ip4}`)
    await deleteObject(api, '/api/v1/namespaces/default/services', 'late')
    await deleteObject(api, SLICES, 'late-a')
    const gone = await waitFor('the late Service to be gone', async () => {
      const o = await tcpAsk(client.ns, late.spec.clusterIP, 80, 500)
      return !o.ok && o
    }, { timeoutMs: 15_000, everyMs: 100 })
    t.not(gone.ok, true)
  })

  await t.test(`a flushed table is repaired within ${REPAIR_S} s (--sync-period ${SYNC_PERIOD_S[mode]} s); foreign rules survive`, async (t) => {
    for (const [cmd, flushArgs] of FLUSH[mode]) {
      const how = `${cmd} ${flushArgs.join(' ')}`
      lab.node.run(cmd, flushArgs)
      const back = await reachable(client.ns, s.web, 80, `the rules to be back after "${how}"`, REPAIR_S * 1000 + GRACE_MS)
      t.ok(back.ok, `${how}: new connections are served again`)
    }
    t.equal(foreignRules(lab), foreignBefore, 'the foreign nft table and iptables rules are as they were')
  })

  await t.test('the agent SIGKILLed and restarted: an established connection through a Service stays alive', async (t) => {
    await reachable(client.ns, s.keep, 80, 'the Service to keep a connection through')
    const held = await tcpHold(client.ns, s.keep, 80)
    if (!held.ok) throw new Error(`no connection to keep: ${held.error}`)
    t.teardown(() => held.close())
    t.equal(`${held.first.backend}:${held.first.port}`, `${b1.ip4}:8081`)
    agent.kill('SIGKILL')
    await agent.exited
    t.equal(said(await held.ask()), `${b1.ip4}:8081 saw ${client.ip4}`, 'answers with the agent dead')
    // the restarted agent outlives this subtest: its teardown is the file's
    agent = startAgent(root, lab.node, args)
    await agentHealthy(agent)
    await reachable(client.ns, s.keep, 80, 'the restarted agent to serve new connections')
    t.equal(said(await held.ask()), `${b1.ip4}:8081 saw ${client.ip4}`, 'the same connection answers after the restart and a full sync')
    t.equal(foreignRules(lab), foreignBefore, 'foreign rules survive the restart')
  })

  await t.test('`pontoon cleanup` in the node namespace leaves nothing of ours and everything of theirs', async (t) => {
    const code = await agent.stop()
    t.equal(code, 0, `the agent stops cleanly on SIGTERM${code === 0 ? '' : `: ${agentTail(agent)}`}`)
    const r = lab.node.try(PONTOON, ['cleanup'])
    t.equal(r.status, 0, `cleanup exits 0: ${r.stderr}`)
    t.same(proxyLeftovers(lab.node), [], 'no pontoon table, KUBE-* chain or ipset is left')
    t.equal(foreignRules(lab), foreignBefore, 'foreign rules are untouched')
    t.not((await tcpAsk(client.ns, s.web, 80, 500)).ok, true, 'the ClusterIP is no longer served')
    t.equal(lab.node.try(PONTOON, ['cleanup']).status, 0, 'a second cleanup, with nothing left, succeeds too')
  })

  await t.test('IPv6: ClusterIP TCP and UDP, NodePort, eTP Local', async (t) => {
    await api.stop()
    // pontoon api allocates from one service CIDR, so the v6 Services get an API of their own
    api = await startLabApi(t, lab.node, { serviceCidr: 'fd00:96::/112' })
    await applyNodes(api)
    const web = await applyService(api, 'web6', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, targetPort: 8081, protocol: 'UDP' }] })
    await applySlice(api, 'web6-a', 'web6', 6, [{ name: 'http', port: 8080 }, { name: 'dns', port: 8081, protocol: 'UDP' }], [{ pod: b0 }, { pod: b1 }])
    const local = await applyService(api, 'local6', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8082 }] })
    await applySlice(api, 'local6-a', 'local6', 6, [{ name: 'http', port: 8082 }], [{ pod: b2 }, { pod: b1, nodeName: OTHER_NODE }])
    const vip: string = web.spec.clusterIP
    t.match(vip, /^fd00:96::/, 'a v6 clusterIP')
    agent = startAgent(t, lab.node, agentArgs(api, { mode, syncPeriodS: SYNC_PERIOD_S[mode] }))
    await agentHealthy(agent)
    const first = await reachable(client.ns, vip, 80, 'the v6 Service to be programmed')
    t.ok([b0.ip6, b1.ip6].includes(first.ok ? first.backend : '') && first.ok && first.peer === client.ip6, `TCP to [${vip}]:80: ${said(first)}`)
    const udp = await udpAsk(client.ns, vip, 53)
    t.ok(udp.ok && udp.port === 8081 && udp.peer === client.ip6, `UDP: ${said(udp)}`)
    const np = await tcpAsk(lab.outside, NODE_IP6, web.spec.ports[0].nodePort)
    t.ok(np.ok && np.peer === GATEWAY6, `NodePort from outside, masqueraded: ${said(np)}`)
    const kept = await many(10, () => tcpAsk(lab.outside, NODE_IP6, local.spec.ports[0].nodePort))
    t.same(kept.map(said), Array(10).fill(`${b2.ip6}:8082 saw ${OUTSIDE_IP6}`), 'eTP Local keeps the v6 client address')
    const code = await agent.stop()
    t.equal(code, 0, `the agent stops cleanly on SIGTERM${code === 0 ? '' : `: ${agentTail(agent)}`}`)
    t.equal(lab.node.try(PONTOON, ['cleanup']).status, 0)
    t.same(proxyLeftovers(lab.node), [], 'nothing left')
    await api.stop()
  })
}

