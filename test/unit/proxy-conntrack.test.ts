import t from 'tap'
import type { EndpointTarget, PlanDelta, PortIntent } from '../../src/proxy/plan/intent.ts'
import { staleFlows, type FlowFilter } from '../../src/proxy/conntrack/stale.ts'
import { argsFor, capFilters, clearStaleFlows, ConntrackError, type Exec } from '../../src/proxy/conntrack/clear.ts'

const ep = (ip: string, port = 53): EndpointTarget => ({ ip, port, local: false })
const A = ep('10.244.1.7')
const B = ep('10.244.2.9')

function intent(o: Partial<PortIntent> = {}): PortIntent {
  return {
    key: 'kube-system/dns:dns:udp:4', service: 'kube-system/dns', portName: 'dns', family: 4, protocol: 'udp',
    clusterIP: '10.96.0.10', port: 53, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [A, B], localEndpoints: [], hasAnyEndpoints: true, ...o,
  }
}

const delta = (upserted: PortIntent[], previous: PortIntent[] = [], removed: PortIntent[] = []): PlanDelta =>
  ({ upserted, removed, previous: new Map(previous.map((i) => [i.key, i])) })

const short = (fs: FlowFilter[]) => fs.map((f) => `${f.protocol} ${f.origDst ?? '*'}:${f.origDstPort} <- ${f.replySrc ?? '*'}${f.replySrcPort === undefined ? '' : ':' + f.replySrcPort}`)

t.test('an endpoint that left: its flows to every frontend of the port, nothing else', async (t) => {
  const before = intent({ nodePort: 30053, externalIPs: ['192.0.2.10'], loadBalancerIPs: ['198.51.100.7'] })
  const after = { ...before, clusterEndpoints: [B] }
  const fs = staleFlows(delta([after], [before]))
  t.same(short(fs), [
    'udp *:30053 <- 10.244.1.7:53',
    'udp 10.96.0.10:53 <- 10.244.1.7:53',
    'udp 192.0.2.10:53 <- 10.244.1.7:53',
    'udp 198.51.100.7:53 <- 10.244.1.7:53',
  ])
  t.equal(fs[1]!.reason, 'endpoint 10.244.1.7:53 left kube-system/dns:dns:udp:4')
  t.equal(fs[1]!.family, 4)
  // a local endpoint counts as serving too: moving A from cluster to local only is no change
  t.same(staleFlows(delta([{ ...before, clusterEndpoints: [B], localEndpoints: [A] }], [before])), [])
  // the same endpoint ip on another port left: precise to the port
  t.same(short(staleFlows(delta([{ ...intent(), clusterEndpoints: [B, ep('10.244.1.7', 5353)] }], [intent()]))), ['udp 10.96.0.10:53 <- 10.244.1.7:53'])
})

t.test('TCP never: its flows fail and reconnect on their own', async (t) => {
  const before = intent({ protocol: 'tcp', key: 'kube-system/dns:dns-tcp:tcp:4' })
  t.same(staleFlows(delta([{ ...before, clusterEndpoints: [B] }], [before])), [])
  t.same(staleFlows(delta([], [], [before])), [])
  t.same(staleFlows(delta([{ ...before, clusterEndpoints: [], hasAnyEndpoints: false }], [{ ...before, clusterEndpoints: [] }])), [])
})

t.test('SCTP like UDP', async (t) => {
  const before = intent({ protocol: 'sctp', key: 'default/s::sctp:4' })
  t.same(short(staleFlows(delta([{ ...before, clusterEndpoints: [B] }], [before]))), ['sctp 10.96.0.10:53 <- 10.244.1.7:53'])
})

t.test('a deleted Service port: every flow to its frontends', async (t) => {
  const gone = intent({ nodePort: 30053, externalIPs: ['192.0.2.10'] })
  const fs = staleFlows(delta([], [], [gone]))
  t.same(short(fs), ['udp *:30053 <- *', 'udp 10.96.0.10:53 <- *', 'udp 192.0.2.10:53 <- *'])
  t.equal(fs[0]!.reason, 'kube-system/dns:dns:udp:4 removed')
  t.notOk('replySrc' in fs[0]! || 'origDst' in fs[0]!)
})

t.test('a frontend that left a Service port: every flow to it', async (t) => {
  const before = intent({ externalIPs: ['192.0.2.10', '192.0.2.11'], loadBalancerIPs: ['198.51.100.7'] })
  const after = { ...before, externalIPs: ['192.0.2.11'], loadBalancerIPs: [] }
  t.same(short(staleFlows(delta([after], [before]))), ['udp 192.0.2.10:53 <- *', 'udp 198.51.100.7:53 <- *'])
  const np = intent({ nodePort: 30053 })
  const fs = staleFlows(delta([{ ...np, nodePort: 30054 }], [np]))
  t.same(short(fs), ['udp *:30053 <- *'])
  t.equal(fs[0]!.reason, 'frontend *:30053 left kube-system/dns:dns:udp:4')
})

t.test('from no endpoints to some (or a new port with endpoints): every flow to its frontends', async (t) => {
  const empty = intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, nodePort: 30053 })
  const fs = staleFlows(delta([intent({ nodePort: 30053 })], [empty]))
  t.same(short(fs), ['udp *:30053 <- *', 'udp 10.96.0.10:53 <- *'])
  t.equal(fs[1]!.reason, 'kube-system/dns:dns:udp:4 has endpoints again')
  t.same(short(staleFlows(delta([intent()]))), ['udp 10.96.0.10:53 <- *'])
  // still none, or a new port without endpoints: nothing was pinned to an endpoint
  t.same(staleFlows(delta([empty], [empty])), [])
  t.same(staleFlows(delta([empty])), [])
  // some to some more: nothing
  t.same(staleFlows(delta([intent({ clusterEndpoints: [A, B, ep('10.244.3.3')] })], [intent()])), [])
  // only local endpoints count as some
  t.same(short(staleFlows(delta([{ ...empty, localEndpoints: [A], hasAnyEndpoints: true }], [empty]))), ['udp *:30053 <- *', 'udp 10.96.0.10:53 <- *'])
})

t.test('IPv6, several intents, duplicates merged, stable order', async (t) => {
  const v6 = intent({ key: 'kube-system/dns:dns:udp:6', family: 6, clusterIP: 'fd00:10:96::a', clusterEndpoints: [ep('fd00:10:244:1::7'), ep('fd00:10:244:2::9')] })
  const fs = staleFlows(delta([{ ...v6, clusterEndpoints: [ep('fd00:10:244:2::9')] }, { ...intent(), clusterEndpoints: [B] }], [v6, intent()]))
  t.same(short(fs), ['udp 10.96.0.10:53 <- 10.244.1.7:53', 'udp fd00:10:96::a:53 <- fd00:10:244:1::7:53'])
  t.same(fs.map((f) => f.family), [4, 6])
  const twice = intent({ externalIPs: ['10.96.0.10'] })
  t.same(short(staleFlows(delta([], [], [twice]))), ['udp 10.96.0.10:53 <- *'])
  const rev = staleFlows(delta([{ ...intent(), clusterEndpoints: [B] }, { ...v6, clusterEndpoints: [ep('fd00:10:244:2::9')] }], [v6, intent()]))
  t.same(rev, fs)
})

t.test('argsFor: one argument array per filter', async (t) => {
  t.same(argsFor({ family: 4, protocol: 'udp', origDst: '10.96.0.10', origDstPort: 53, replySrc: '10.244.1.7', replySrcPort: 5353, reason: '' }),
    ['-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--reply-src', '10.244.1.7', '--reply-port-src', '5353'])
  t.same(argsFor({ family: 6, protocol: 'sctp', origDstPort: 30053, reason: '' }), ['-D', '-f', 'ipv6', '-p', 'sctp', '--orig-port-dst', '30053'])
})

function recorder(answers: (args: string[]) => { status: number | null; stderr: string }) {
  const calls: string[][] = []
  const exec: Exec = async (cmd, args) => {
    calls.push([cmd, ...args])
    return { stdout: '', ...answers(args) }
  }
  return { calls, exec }
}

const filter = (dst: string, replySrc?: string): FlowFilter =>
  replySrc === undefined ? { family: 4, protocol: 'udp', origDst: dst, origDstPort: 53, reason: 'r' } : { family: 4, protocol: 'udp', origDst: dst, origDstPort: 53, replySrc, replySrcPort: 53, reason: 'r' }

t.test('clearStaleFlows: counts deletions, "0 flow entries" (exit 1) is success, other failures are errors per filter', async (t) => {
  const r = recorder((args) => args.includes('10.96.0.1') ? { status: 0, stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.\n' }
    : args.includes('10.96.0.2') ? { status: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' }
    : { status: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters\n' })
  const res = await clearStaleFlows([filter('10.96.0.1'), filter('10.96.0.2'), filter('10.96.0.3')], { exec: r.exec, command: ['nsenter', '--net=/run/netns/x', 'conntrack'] })
  t.same(r.calls[0], ['nsenter', '--net=/run/netns/x', 'conntrack', '-D', '-f', 'ipv4', '-p', 'udp', '--orig-dst', '10.96.0.1', '--orig-port-dst', '53'])
  t.equal(res.calls, 3)
  t.equal(res.deleted, 2)
  t.equal(res.errors.length, 1)
  t.ok(res.errors[0] instanceof ConntrackError)
  t.equal(res.errors[0]!.code, 'ECONNTRACK')
  t.equal(res.errors[0]!.status, 1)
  t.equal(res.errors[0]!.message, 'conntrack -D -f ipv4 -p udp --orig-dst 10.96.0.3 --orig-port-dst 53 failed (1): conntrack v1.4.7 (conntrack-tools): Operation failed: invalid parameters')
  // exit 1 without the "0 flow entries" message is a failure; exit 0 without a count deletes 0
  const odd = recorder((args) => args.includes('10.96.0.1') ? { status: 1, stderr: 'conntrack v1.4.7: 3 flow entries have been deleted.' } : { status: 0, stderr: '' })
  const res2 = await clearStaleFlows([filter('10.96.0.1'), filter('10.96.0.2')], { exec: odd.exec })
  t.same([res2.deleted, res2.errors.length, odd.calls[1]![0]], [0, 1, 'conntrack'])
  const none = recorder(() => ({ status: null, stderr: 'spawn conntrack ENOENT' }))
  const res3 = await clearStaleFlows([filter('10.96.0.1')], { exec: none.exec })
  t.match(res3.errors[0]!.message, /failed \(no exit status\): spawn conntrack ENOENT$/)
})

t.test('the real conntrack binary missing is an error, not a crash', async (t) => {
  const res = await clearStaleFlows([filter('10.96.0.1')], { command: ['/nonexistent/conntrack'] })
  t.equal(res.errors.length, 1)
  t.match(res.errors[0]!.message, /ENOENT/)
})

t.test('the cap: at most maxCalls calls, endpoint filters widened first, the rest skipped and reported', async (t) => {
  const many = [filter('10.96.0.1', '10.244.1.1'), filter('10.96.0.1', '10.244.1.2'), filter('10.96.0.2', '10.244.1.3'), filter('10.96.0.3')]
  t.same(capFilters(many, 4), { run: many, widened: 0, skipped: [] })
  const c = capFilters(many, 3)
  t.same(c.run.map((f) => [f.origDst, f.replySrc]), [['10.96.0.1', undefined], ['10.96.0.2', undefined], ['10.96.0.3', undefined]])
  t.equal(c.widened, 3)
  t.same(c.skipped, [])
  t.equal(c.run[0]!.reason, 'r (widened: over 3 calls)')
  const d = capFilters(many, 2)
  t.equal(d.run.length, 2)
  t.same(d.skipped.map((f) => f.origDst), ['10.96.0.3'])
  const np: FlowFilter = { family: 4, protocol: 'udp', origDstPort: 30053, replySrc: '10.244.1.1', reason: 'n' }
  t.same(capFilters([np, filter('10.96.0.1')], 1).run, [{ family: 4, protocol: 'udp', origDstPort: 30053, reason: 'n (widened: over 1 calls)' }])
  const r = recorder(() => ({ status: 0, stderr: '1 flow entries have been deleted.' }))
  const big = Array.from({ length: 100 }, (_, i) => filter(`10.96.1.${i}`))
  const res = await clearStaleFlows(big, { exec: r.exec })
  t.same([res.calls, r.calls.length, res.skipped.length, res.deleted], [64, 64, 36, 64])
})
