// The service proxy end to end in IPVS mode, on a real IPVS kernel: ONE `pontoon vm run`
// guest runs test/vm/proxy-ipvs-guest.ts, which builds the proxy lab of the other modes
// (test/lib/proxy-lab.ts) with the Services of test/lib/proxy-scenarios.ts, runs
// `pontoon agent --proxy-mode ipvs` in the node namespace, pushes real TCP and UDP through
// it and reports what it saw; this file judges it. The host's kernel has no IPVS.
//
// The scenarios of proxy-scenarios.ts that IPVS cannot pass as the other modes do, and why:
// - eTP Local reached from a pod through a NodePort/externalIP/LB IP: iptables and nftables
//   short-circuit pod and node traffic to every endpoint; an IPVS virtual server has one
//   real-server list whatever the source, so it holds only the local endpoints (kube-proxy's
//   ipvs mode behaves the same). Asserted below as the IPVS behaviour (dropped).
// - not run here, to keep to one short guest: the agent SIGKILL/restart with a held
//   connection and IPv6 (both go through the same code paths as IPv4 and the full sync,
//   which this test exercises after each repair).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { BIN } from '../lib/cni.ts'

const PONTOON = join(BIN, 'pontoon')
const ROOT = join(BIN, '..', '..')
const MODULES = ['ip_vs', 'ip_vs_rr', 'dummy', 'br_netfilter', 'veth', 'xt_set', 'ip_set_hash_ip', 'ip_set_hash_ipport', 'ip_set_hash_ipportip', 'ip_set_hash_ipportnet', 'ip_set_bitmap_port']

// a loaded box emulates slowly; the deadline only bounds a failure
t.setTimeout(900_000)

t.test('IPVS mode in the guest: every frontend, TCP and UDP, affinity, eTP Local, rejects, drains, foreign state, cleanup', async (t) => {
  const r = spawnSync(PONTOON, ['vm', 'run', '--mem', '1536', '--timeout', '840', ...MODULES.flatMap((m) => ['--module', m]), '--',
    process.execPath, '--import', 'tsx', 'test/vm/proxy-ipvs-guest.ts'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })
  t.equal(r.status, 0, `the guest script ran through (stderr: ${r.stderr.slice(-3000)})`)
  const line = r.stdout.split('\n').find((l) => l.startsWith('IPVS-E2E '))
  if (!t.ok(line, `the guest reported (stdout tail: ${r.stdout.slice(-2000)})`)) return
  const o = JSON.parse(line!.slice('IPVS-E2E '.length))
  if (!t.notOk(o.error, `no error in the guest: ${o.error}`)) return
  const { b0, b1, b2, client, gateway, outside } = o.pods
  const uniq = (xs: string[]) => [...new Set(xs.map((x) => x.split(' ')[0]!.split(':')[0]!))].sort()

  // ClusterIP
  t.same(uniq(o.clusterTcp), [b0, b1, b2].sort(), '30 TCP connects to the ClusterIP reach all three backends and nothing else')
  t.ok(o.clusterTcp.every((x: string) => x.endsWith(`:8080 saw ${client}`)), `on the targetPort, the pod's own source: ${o.clusterTcp}`)
  t.ok(o.clusterUdp.every((x: string) => x.includes(':8081 saw ') && x.endsWith(client)), `UDP 53 -> 8081: ${o.clusterUdp}`)
  t.ok(o.named.every((x: string) => x.startsWith(`${b2}:8083`) || /:8082 /.test(x)), `named targetPort per slice: ${o.named}`)
  t.equal(o.unallocated, 'ECONNREFUSED', 'a port the ClusterIP does not have is refused')

  // from outside
  t.ok(o.nodePortTcp.every((x: string) => [b0, b1].some((b) => x === `${b}:8080 saw ${gateway}`)), `NodePort TCP, masqueraded: ${o.nodePortTcp}`)
  t.match(o.nodePortUdp, new RegExp(`:8081 saw ${gateway}$`), 'NodePort UDP')
  t.match(o.lbTcp, new RegExp(`^(${b0}|${b1}):8080 saw ${gateway}$`), 'LB IP TCP')
  t.match(o.lbUdp, new RegExp(`^(${b0}|${b1}):8081 saw ${gateway}$`), 'LB IP UDP')
  t.match(o.extTcp, new RegExp(`^(${b1}|${b2}):8080 saw ${gateway}$`), 'externalIP TCP')
  t.match(o.extUdp, new RegExp(`^(${b1}|${b2}):8081 saw ${gateway}$`), 'externalIP UDP')

  // eTP Local
  t.same(o.localKept, Array(10).fill(`${b0}:8080 saw ${outside}`), 'eTP Local: only the local endpoint, and it sees the outside client')
  t.equal(o.elsewhereOutside, 'ETIMEDOUT', 'endpoints only elsewhere: dropped, not refused')
  t.equal(o.elsewhereFromPod, 'ETIMEDOUT', 'IPVS cannot short-circuit a pod to every endpoint: the NodePort has local endpoints only (see the header)')

  // no endpoints
  t.same(o.emptyInside.map((x: string) => x.split(' ')[0]), Array(20).fill('ECONNREFUSED'), `20 back-to-back connects refused before the first SYN retransmit: ${o.emptyInside}`)
  t.same(o.emptyOutside, Array(20).fill('ECONNREFUSED'), 'from outside too')

  t.equal(uniq(o.sticky).length, 1, `ClientIP affinity: one backend for all 30: ${uniq(o.sticky)}`)
  t.equal(o.hairpin, `${b0}:8080 saw ${gateway}`, 'hairpin is masqueraded')
  t.equal(o.flowFirst, `${b0}:8082 saw ${client}`, 'the UDP flow starts on b0')
  t.equal(o.flowMoved, `${b1}:8082 saw ${client}`, 'and moves with its endpoint, on the same socket')
  t.equal(o.late, `${b2}:8083 saw ${client}`, 'a Service created while the agent runs is served')
  t.match(o.lateGone, /^E/, 'and once deleted, is not')
  t.equal(o.lateVsGone, true, 'its virtual server is gone')

  // graceful termination
  if (t.ok(Array.isArray(o.drainWeight), `the removed endpoint is still a real server: ${o.drainWeight}`)) {
    // ipvsadm -Ln columns: -> address:port forward weight active inactive
    t.equal(o.drainWeight[3], '0', `at weight 0 while its connection lives: ${o.drainWeight.join(' ')}`)
    t.ok(Number(o.drainWeight[4]) >= 1, 'with that connection counted active')
  }
  t.equal(o.drainHeldAnswers, `${b0}:8081 saw ${client}`, 'the established connection still answers')
  t.ok(o.drainNewConnections.every((x: string) => x.startsWith(`${b2}:`)), `new connections go to the remaining endpoint: ${o.drainNewConnections}`)
  t.equal(o.drainGone, true, 'and the drained real server is deleted once its connection ended')

  // repairs
  t.match(o.repairedAfterDummyDeleted, /:8080 saw /, 'kube-ipvs0 deleted behind the agent: the canary notices and a full sync brings the VIPs back')
  t.equal(o.repairedAfterFilterFlush, 'ECONNREFUSED', 'KUBE-IPVS-FILTER flushed: repaired, no-endpoint rejects again')

  // kernel state
  t.ok(o.state.dummy.includes(`${o.services.web}/32`), 'the ClusterIP is bound on kube-ipvs0')
  t.ok(o.state.ipvs.some((l: string) => l.startsWith(`-A -t ${o.services.sticky}:80 -s rr -p 600`)), 'affinity is persistence with its timeout')
  t.ok(o.state.sets.includes('KUBE-CLUSTER-IP') && o.state.sets.includes('KUBE-LOOP-BACK') && o.state.sets.includes('KUBE-NODE-PORT-TCP'), 'kube-proxy\'s sets')
  t.same(o.state.sysctl, ['1', '1'], 'vs/conntrack and expire_nodest_conn on')
  t.match(o.state.timeouts, /900 2 30/, '--ipvs-tcp/tcpfin/udp-timeout set')
  t.ok(o.state.natRules > 0, 'our nat rules are there')

  // foreign state
  t.same(o.foreignAfterSync, o.foreignBefore, 'foreign IPVS services and ipsets survive the syncs')
  t.same(o.foreignAfterCleanup, o.foreignBefore, 'and the cleanup')

  // cleanup
  t.equal(o.agentStop, 0, 'the agent stops cleanly')
  t.equal(o.cleanup.status, 0, `pontoon cleanup exits 0: ${o.cleanup.stderr}`)
  t.match(o.cleanup.stdout, /ipvs: removed/)
  t.not(o.after.dummy, 0, 'kube-ipvs0 is gone')
  t.same(o.after.ipvs.filter((l: string) => !l.includes('198.51.100.50') && !l.includes(':9999')), [], 'no virtual server of ours is left')
  t.same(o.after.sets, ['FOREIGN-SET'], 'only the foreign set is left')
  t.same(o.after.leftovers, [], 'no KUBE-* chain or set is left')
  t.equal(o.after.webServed, false, 'the ClusterIP is no longer served')
  t.equal(o.cleanupAgain, 0, 'a second cleanup succeeds too')
})
