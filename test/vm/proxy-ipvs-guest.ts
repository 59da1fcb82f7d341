// Runs INSIDE a `pontoon vm run` guest (test/integration/proxy-e2e-ipvs.test.ts boots it):
// the proxy lab of the other modes (test/lib/proxy-lab.ts, the Services of
// test/lib/proxy-scenarios.ts) with `pontoon agent --proxy-mode ipvs`, real TCP and UDP
// through every frontend, then the IPVS-only checks (drain, foreign IPVS services and
// ipsets, cleanup). It asserts nothing itself: it prints one JSON line of what it saw,
// `IPVS-E2E {...}`, for the host test to judge, and progress on stderr.
import {
  GATEWAY4, NODE_IP4, OTHER_NODE, PONTOON, SLICES,
  agentArgs, agentHealthy, agentTail, applyNodes, applyService, applySlice, deleteObject, makeProxyLab, proxyLeftovers,
  startAgent, startLabApi, tcpAsk, tcpHold, udpAsk, udpFlow, type Outcome, type Pod,
} from '../lib/proxy-lab.ts'
import { applyV4Services, EXTERNAL_IP, LB_IP } from '../lib/proxy-scenarios.ts'
import { waitFor } from '../lib/wait.ts'
import { execFileSync } from 'node:child_process'
import { release } from 'node:os'
import { join } from 'node:path'
import { vmDir } from '../../src/vm/image.ts'

const out: Record<string, unknown> = {}
const step = (s: string) => process.stderr.write(`guest ${new Date().toISOString()}: ${s}\n`)
const said = (o: Outcome) => (o.ok ? `${o.backend}:${o.port} saw ${o.peer}` : o.error)
const many = async (n: number, ask: () => Promise<Outcome>) => { const r: string[] = []; for (let i = 0; i < n; i++) r.push(said(await ask())); return r }
const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
const FOREIGN_VS = '198.51.100.50:80'

// The REJECT target (no-endpoint and unallocated-port rejects): an image built before
// scripts/vm/build-image.sh listed it lacks it in its initramfs; the full module tree of
// the guest's kernel is in the image cache on the host root, which the guest sees.
for (const m of ['ipt_REJECT', 'ip6t_REJECT']) {
  try {
    execFileSync('modprobe', [m], { stdio: 'ignore' })
  } catch {
    execFileSync('modprobe', ['-d', join(vmDir(), `kroot-${release()}`), m], { stdio: 'ignore' })
  }
}
const lab = await makeProxyLab({ backends: 3, clients: 1 })
try {
  const [b0, b1, b2] = lab.backends as [Pod, Pod, Pod]
  const client = lab.clients[0]!
  out.pods = { b0: b0.ip4, b1: b1.ip4, b2: b2.ip4, client: client.ip4, gateway: GATEWAY4, outside: '192.168.50.2' }
  // someone else's IPVS service (on a VIP of theirs and on the node address) and ipset, before the agent starts
  lab.node.run('ipvsadm', ['-A', '-t', FOREIGN_VS, '-s', 'rr'])
  lab.node.run('ipvsadm', ['-a', '-t', FOREIGN_VS, '-r', '10.244.1.99:80', '-m'])
  lab.node.run('ipvsadm', ['-A', '-u', `${NODE_IP4}:9999`, '-s', 'rr'])
  lab.node.run('ipset', ['create', 'FOREIGN-SET', 'hash:ip'])
  lab.node.run('ipset', ['add', 'FOREIGN-SET', '198.51.100.7'])
  const foreign = () => ({
    ipvs: lab.node.run('ipvsadm', ['-S', '-n']).split('\n').filter((l) => l.includes('198.51.100.50') || l.includes(':9999')).sort(),
    ipset: lab.node.try('ipset', ['list', 'FOREIGN-SET']).stdout.split('\n').filter((l) => /^\d/.test(l)),
  })
  out.foreignBefore = foreign()

  step('api')
  // under qemu's emulation a Node process starts in seconds, not milliseconds
  const api = await startLabApi(t, lab.node, { readyTimeoutMs: 300_000 })
  await applyNodes(api)
  const s = await applyV4Services(api, lab.backends)
  out.services = s
  // for the drain: a Service of its own, so no other check sees its weights move
  const drain = await applyService(api, 'drain', { ports: [{ name: 'http', port: 80, targetPort: 8081 }] })
  await applySlice(api, 'drain-a', 'drain', 4, [{ name: 'http', port: 8081 }], [{ pod: b0 }, { pod: b2 }])
  step('agent')
  const agent = startAgent(t, lab.node, agentArgs(api, {
    mode: 'ipvs', syncPeriodS: 6,
    extra: ['--ipvs-scheduler', 'rr', '--ipvs-tcpfin-timeout', '2', '--ipvs-tcp-timeout', '900', '--ipvs-udp-timeout', '30'],
  }))
  // progress for whoever watches the guest's stderr: the agent's last lines while it comes up
  const progress = setInterval(() => step(`waiting: ${agentTail(agent, 3)}`), 20_000)
  try {
    await agentHealthy(agent, 300_000)
  } finally {
    clearInterval(progress)
  }
  await waitFor('the first Service', async () => (await tcpAsk(client.ns, s.web, 80, 1000)).ok, { timeoutMs: 30_000, everyMs: 100 })

  step('cluster ip')
  out.clusterTcp = await many(30, () => tcpAsk(client.ns, s.web, 80))
  out.clusterUdp = await many(6, () => udpAsk(client.ns, s.web, 53))
  out.named = await many(12, () => tcpAsk(client.ns, s.web, 81))
  out.unallocated = said(await tcpAsk(client.ns, s.web, 9999, 900))

  step('external')
  out.nodePortTcp = await many(6, () => tcpAsk(lab.outside, NODE_IP4, s.np))
  out.nodePortUdp = said(await udpAsk(lab.outside, NODE_IP4, s.npUdp))
  out.lbTcp = said(await tcpAsk(lab.outside, LB_IP, 80))
  out.lbUdp = said(await udpAsk(lab.outside, LB_IP, 53))
  out.extTcp = said(await tcpAsk(lab.outside, EXTERNAL_IP, 80))
  out.extUdp = said(await udpAsk(lab.outside, EXTERNAL_IP, 53))

  step('local')
  out.localKept = await many(10, () => tcpAsk(lab.outside, NODE_IP4, s.local))
  out.elsewhereOutside = said(await tcpAsk(lab.outside, NODE_IP4, s.elsewhere, 1500))
  out.elsewhereFromPod = said(await tcpAsk(client.ns, NODE_IP4, s.elsewhere, 1500))

  step('empty')
  out.emptyInside = (await Promise.all([0]).then(async () => { const r: Outcome[] = []; for (let i = 0; i < 20; i++) r.push(await tcpAsk(client.ns, s.empty, 80, 900)); return r })).map((o) => `${said(o)} ${o.ms.toFixed(0)}ms`)
  out.emptyOutside = await many(20, () => tcpAsk(lab.outside, s.empty, 80, 900))

  step('affinity')
  out.sticky = await many(30, () => tcpAsk(client.ns, s.sticky, 80))

  step('hairpin')
  out.hairpin = said(await tcpAsk(b0.ns, s.hair, 80))

  step('udp flow')
  const flow = await udpFlow(client.ns, 4)
  out.flowFirst = said(await flow.ask(s.flow, 53))
  await applySlice(api, 'flow-a', 'flow', 4, [{ name: 'dns', port: 8082, protocol: 'UDP' }], [{ pod: b1 }])
  out.flowMoved = said(await waitFor('the UDP flow to move', async () => {
    const o = await flow.ask(s.flow, 53, 300)
    return o.ok && o.backend === b1.ip4 && o
  }, { timeoutMs: 20_000, everyMs: 50 }).catch(() => ({ ok: false as const, error: 'never moved', ms: 0 })))
  flow.close()

  step('late service')
  const late = await applyService(api, 'late', { ports: [{ name: 'http', port: 80, targetPort: 8083 }] })
  await applySlice(api, 'late-a', 'late', 4, [{ name: 'http', port: 8083 }], [{ pod: b2 }])
  out.late = said(await waitFor('the late Service', async () => { const o = await tcpAsk(client.ns, late.spec.clusterIP, 80, 1000); return o.ok && o }, { timeoutMs: 20_000, everyMs: 100 }))
  await deleteObject(api, '/api/v1/namespaces/default/services', 'late')
  await deleteObject(api, SLICES, 'late-a')
  out.lateGone = said(await waitFor('the late Service to go', async () => { const o = await tcpAsk(client.ns, late.spec.clusterIP, 80, 500); return !o.ok && o }, { timeoutMs: 20_000, everyMs: 100 }))
  const vs = () => lab.node.run('ipvsadm', ['-S', '-n'])
  out.lateVsGone = await waitFor('the late virtual server to go', () => !vs().includes(`-A -t ${late.spec.clusterIP}:80 `), { timeoutMs: 20_000, everyMs: 100 }).catch(() => false)

  step('drain')
  const held = await waitFor('a connection to b0 through the drain Service', async () => {
    const h = await tcpHold(client.ns, drain.spec.clusterIP, 80)
    if (h.ok && h.first.backend === b0.ip4) return h
    if (h.ok) h.close()
    return false
  }, { timeoutMs: 20_000, everyMs: 10 })
  await applySlice(api, 'drain-a', 'drain', 4, [{ name: 'http', port: 8081 }], [{ pod: b2 }])
  const realOf = () => lab.node.run('ipvsadm', ['-Ln', '-t', `${drain.spec.clusterIP}:80`]).split('\n').find((l) => l.includes(`${b0.ip4}:8081`))?.trim().split(/\s+/) ?? null
  out.drainWeight = (await waitFor('b0 at weight 0', () => { const r = realOf(); return r && r[3] === '0' && r }, { timeoutMs: 20_000, everyMs: 100 }).catch(() => realOf()))
  out.drainHeldAnswers = said(await held.ask())
  out.drainNewConnections = await many(6, () => tcpAsk(client.ns, drain.spec.clusterIP, 80))
  // a reset, not a FIN: a closed connection stays in IPVS's TIME_WAIT for 2 minutes (no flag sets that), a reset one 10 s
  held.reset()
  out.drainGone = await waitFor('b0 deleted once its connection ended', () => realOf() === null, { timeoutMs: 60_000, everyMs: 200 }).catch(() => false)

  step('flush')
  lab.node.run('ip', ['link', 'del', 'kube-ipvs0'])
  out.repairedAfterDummyDeleted = said(await waitFor('the VIPs back', async () => { const o = await tcpAsk(client.ns, s.web, 80, 1000); return o.ok && o }, { timeoutMs: 20_000, everyMs: 100 }))
  lab.node.run('iptables', ['-t', 'filter', '-F', 'KUBE-IPVS-FILTER'])
  out.repairedAfterFilterFlush = said(await waitFor('the reject back', async () => { const o = await tcpAsk(client.ns, s.empty, 80, 900); return !o.ok && o.error === 'ECONNREFUSED' && o }, { timeoutMs: 20_000, everyMs: 200 }))

  out.state = {
    dummy: lab.node.run('ip', ['-o', 'addr', 'show', 'dev', 'kube-ipvs0']).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[3]).sort(),
    ipvs: vs().split('\n').filter(Boolean).sort(),
    sets: lab.node.run('ipset', ['list', '-n']).split('\n').filter(Boolean).sort(),
    sysctl: lab.node.run('sysctl', ['-n', 'net.ipv4.vs.conntrack', 'net.ipv4.vs.expire_nodest_conn']).split('\n').filter(Boolean),
    timeouts: lab.node.run('ipvsadm', ['-L', '--timeout']).trim(),
    natRules: lab.node.run('iptables', ['-t', 'nat', '-S']).split('\n').filter((l) => l.includes('pontoon-ipvs')).length,
  }
  out.foreignAfterSync = foreign()

  step('cleanup')
  out.agentStop = await agent.stop()
  const c = lab.node.try(PONTOON, ['cleanup'])
  out.cleanup = { status: c.status, stdout: c.stdout, stderr: c.stderr.slice(-2000) }
  out.after = {
    dummy: lab.node.try('ip', ['link', 'show', 'kube-ipvs0']).status,
    ipvs: vs().split('\n').filter(Boolean).sort(),
    sets: lab.node.run('ipset', ['list', '-n']).split('\n').filter(Boolean).sort(),
    leftovers: proxyLeftovers(lab.node),
    webServed: (await tcpAsk(client.ns, s.web, 80, 500)).ok,
  }
  out.foreignAfterCleanup = foreign()
  out.cleanupAgain = lab.node.try(PONTOON, ['cleanup']).status
  out.agentTail = agentTail(agent, 5)
  void OTHER_NODE
} catch (e) {
  out.error = (e as Error).stack ?? String(e)
} finally {
  for (const f of teardowns.reverse()) try { await f() } catch { /* best effort */ }
  lab.destroy()
}
// Exit once the line is out: a handle left open by a step (a socket, a child's pipe) would
// otherwise keep this process, and with it the guest, alive until the harness's timeout
// (seen once: every step done by 2 min, then 12 min of nothing until EVMTIMEOUT).
process.stdout.write(`IPVS-E2E ${JSON.stringify(out)}\n`, () => process.exit(0))
