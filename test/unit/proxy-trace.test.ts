import t from 'tap'
import type { EndpointTarget, FamilyGlobals, PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { tracePacket, TraceInputError, type TracePacket } from '../../src/proxy/trace/trace.ts'
import { formatTrace, formatTraceJson, verdictLine } from '../../src/proxy/trace/format.ts'

// Address plan: pods 10.244.0.0/16 (this node 10.244.1.0/24), services 10.96.0.0/16,
// node 172.18.0.2, an outside client 172.18.0.100; IPv6 pods fd00:10:244::/56, services fd00:10:96::/112.
const NODE = { localAddresses: ['172.18.0.2', '10.244.1.1', 'fc00:f853:ccd:e793::2'] }
const V4: FamilyGlobals = { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }
const V6: FamilyGlobals = { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }

const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })
const A = ep('10.244.1.7', 8080, true)
const B = ep('10.244.2.9')

function intent(o: Partial<PortIntent> = {}): PortIntent {
  const base: PortIntent = {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [A, B], localEndpoints: [A], hasAnyEndpoints: true,
  }
  return { ...base, ...o }
}

function plan(intents: PortIntent[], o: { masqueradeAll?: boolean; families?: FamilyGlobals[] } = {}): ProxyPlan {
  return {
    globals: { nodeName: 'node-1', masqueradeAll: o.masqueradeAll ?? false, families: o.families ?? [V4, V6] },
    intents: new Map(intents.map((i) => [i.key, i])),
  }
}

const pkt = (from: string, to: string, port = 80, protocol: TracePacket['protocol'] = 'tcp'): TracePacket => ({ from, to, port, protocol })
const line = (p: ProxyPlan, k: TracePacket, node = NODE) => verdictLine(tracePacket(p, k, node))

t.test('ClusterIP from a pod: every cluster endpoint, 1/n each, no masquerade', async (t) => {
  const tr = tracePacket(plan([intent()]), pkt('10.244.1.5', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}')
  t.same(tr.frontend, { kind: 'cluster-ip', intent: 'default/web:http:tcp:4', service: 'default/web' })
  t.same(tr.source, { inCluster: true, fromNode: false, inSourceRanges: false })
  t.equal(tr.verdict.kind, 'endpoints')
  if (tr.verdict.kind !== 'endpoints') return
  t.same(tr.verdict.endpoints.map((e) => [e.ip, e.probability, e.masquerade, e.hairpin, e.local]), [['10.244.1.7', 0.5, false, false, true], ['10.244.2.9', 0.5, false, false, false]])
  t.same(formatTrace(tr).split('\n'), [
    'frontend: 10.96.0.10:80/tcp is the clusterIP of default/web port "http" (default/web:http:tcp:4)',
    'source: 10.244.1.5 is inside the cluster CIDR 10.244.0.0/16',
    'route: cluster endpoints: 2 endpoints',
    'masquerade: no: the source is inside the cluster CIDRs',
    'endpoint: 10.244.1.7:8080 (on this node), probability 1/2',
    'endpoint: 10.244.2.9:8080 (on another node), probability 1/2',
    '10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}',
    '',
  ])
})

t.test('ClusterIP from outside the cluster CIDRs is masqueraded (local detection)', async (t) => {
  const tr = tracePacket(plan([intent()]), pkt('172.18.0.100', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.match(formatTrace(tr), /source: 172\.18\.0\.100 is outside the cluster CIDRs \(10\.244\.0\.0\/16\)\n/)
  t.match(formatTrace(tr), /masquerade: yes: clusterIP traffic from outside the cluster CIDRs/)
  t.same(tr.source, { inCluster: false, fromNode: false, inSourceRanges: false })
})

t.test('without --cluster-cidr there is no local detection: clusterIP traffic is not masqueraded', async (t) => {
  const p = plan([intent()], { families: [{ ...V4, clusterCIDRs: [] }] })
  const tr = tracePacket(p, pkt('172.18.0.100', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}')
  t.match(formatTrace(tr), /is no local detection \(no --cluster-cidr for this family\)/)
  t.match(formatTrace(tr), /masquerade: no: no local detection/)
})

t.test('--masquerade-all masquerades pod traffic to a clusterIP', async (t) => {
  const tr = tracePacket(plan([intent()], { masqueradeAll: true }), pkt('10.244.1.5', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.match(formatTrace(tr), /masquerade: yes: --masquerade-all/)
  if (tr.verdict.kind === 'endpoints') t.ok(tr.verdict.endpoints.every((e) => e.masquerade))
})

t.test('NodePort on a local node address is external: masqueraded, every endpoint', async (t) => {
  const p = plan([intent({ nodePort: 30080 })])
  const tr = tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), NODE)
  t.equal(verdictLine(tr), '172.18.0.2:30080/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.equal(tr.frontend?.kind, 'node-port')
  t.match(formatTrace(tr), /frontend: 172\.18\.0\.2:30080\/tcp is NodePort 30080 on a local address of the node \(--nodeport-addresses: every local address\) of default\/web/)
  t.match(formatTrace(tr), /masquerade: yes: external traffic with externalTrafficPolicy Cluster/)
  // not a node address, or the wrong protocol, or loopback: no NodePort
  t.equal(line(p, pkt('172.18.0.100', '172.18.0.3', 30080)), '172.18.0.3:30080/tcp from 172.18.0.100 => routed normally (not a Service address)')
  t.equal(line(p, pkt('172.18.0.100', '172.18.0.2', 30080, 'udp')), '172.18.0.2:30080/udp from 172.18.0.100 => routed normally (not a Service address)')
  t.equal(line(p, pkt('172.18.0.100', '172.18.0.2', 30081)), '172.18.0.2:30081/tcp from 172.18.0.100 => routed normally (not a Service address)')
  t.equal(line(p, pkt('127.0.0.1', '127.0.0.1', 30080), { localAddresses: ['127.0.0.1', '172.18.0.2'] }), '127.0.0.1:30080/tcp from 127.0.0.1 => routed normally (not a Service address)')
})

t.test('NodePort with --nodeport-addresses (resolved to node addresses): only those', async (t) => {
  const p = plan([intent({ nodePort: 30080 })], { families: [{ ...V4, nodePortAddresses: ['172.18.0.2'] }] })
  const tr = tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), NODE)
  t.equal(tr.frontend?.kind, 'node-port')
  t.match(formatTrace(tr), /NodePort 30080 on a node address chosen by --nodeport-addresses of default\/web/)
  // the address list decides, not the node's local addresses
  t.equal(tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), { localAddresses: [] }).frontend?.kind, 'node-port')
  t.equal(line(p, pkt('10.244.1.5', '10.244.1.1', 30080)), '10.244.1.1:30080/tcp from 10.244.1.5 => routed normally (not a Service address)')
  const none = plan([intent({ nodePort: 30080 })], { families: [] })
  t.equal(line(none, pkt('172.18.0.100', '172.18.0.2', 30080)), '172.18.0.2:30080/tcp from 172.18.0.100 => routed normally (not a Service address)')
})

t.test('externalIP is external traffic', async (t) => {
  const p = plan([intent({ externalIPs: ['192.0.2.10'] })])
  const tr = tracePacket(p, pkt('172.18.0.100', '192.0.2.10'), NODE)
  t.equal(verdictLine(tr), '192.0.2.10:80/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.equal(tr.frontend?.kind, 'external-ip')
  t.match(formatTrace(tr), /is an externalIP of default\/web/)
  t.equal(line(p, pkt('172.18.0.100', '192.0.2.10', 81)), '192.0.2.10:81/tcp from 172.18.0.100 => routed normally (not a Service address)')
})

t.test('LB IP with loadBalancerSourceRanges: inside reaches endpoints, outside is dropped', async (t) => {
  const p = plan([intent({ loadBalancerIPs: ['198.51.100.7'], loadBalancerSourceRanges: ['203.0.113.0/24'] })])
  const ok = tracePacket(p, pkt('203.0.113.9', '198.51.100.7'), NODE)
  t.equal(verdictLine(ok), '198.51.100.7:80/tcp from 203.0.113.9 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.equal(ok.frontend?.kind, 'load-balancer')
  t.same(ok.source, { inCluster: false, fromNode: false, inSourceRanges: true })
  t.match(formatTrace(ok), /is a load-balancer ingress IP of default\/web/)
  t.match(formatTrace(ok), /inside loadBalancerSourceRange 203\.0\.113\.0\/24/)
  const no = tracePacket(p, pkt('172.18.0.100', '198.51.100.7'), NODE)
  t.equal(verdictLine(no), '198.51.100.7:80/tcp from 172.18.0.100 => drop (source outside loadBalancerSourceRanges)')
  t.match(formatTrace(no), /outside loadBalancerSourceRanges \(203\.0\.113\.0\/24\)/)
  t.match(formatTrace(no), /route: drop: source outside loadBalancerSourceRanges/)
  // no ranges: everyone, and the source line says nothing about ranges
  const open = tracePacket(plan([intent({ loadBalancerIPs: ['198.51.100.7'] })]), pkt('172.18.0.100', '198.51.100.7'), NODE)
  t.equal(open.verdict.kind, 'endpoints')
  t.notMatch(formatTrace(open), /loadBalancerSourceRange/)
  // the clusterIP of the same Service ignores the ranges
  t.equal(tracePacket(p, pkt('172.18.0.100', '10.96.0.10'), NODE).verdict.kind, 'endpoints')
})

t.test('sessionAffinity ClientIP: sticks to the first choice', async (t) => {
  const tr = tracePacket(plan([intent({ affinityTimeoutSeconds: 10800 })]), pkt('10.244.1.5', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}, affinity 10800s')
  t.match(formatTrace(tr), /\naffinity: ClientIP: 10\.244\.1\.5 sticks to the first choice for 10800s\n/)
  t.notMatch(formatTrace(tracePacket(plan([intent()]), pkt('10.244.1.5', '10.96.0.10'), NODE)), /affinity/)
})

t.test('externalTrafficPolicy Local: keeps the client IP, local endpoints only; none here drops', async (t) => {
  const p = plan([intent({ nodePort: 30080, externalPolicyLocal: true })])
  const tr = tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), NODE)
  t.equal(verdictLine(tr), '172.18.0.2:30080/tcp from 172.18.0.100 => 10.244.1.7:8080')
  t.match(formatTrace(tr), /route: externalTrafficPolicy Local keeps the client IP: 1 endpoint\n/)
  t.match(formatTrace(tr), /masquerade: no: externalTrafficPolicy Local keeps the client IP/)
  t.match(formatTrace(tr), /probability 1\/1/)
  const away = plan([intent({ nodePort: 30080, externalPolicyLocal: true, localEndpoints: [] })])
  t.equal(line(away, pkt('172.18.0.100', '172.18.0.2', 30080)), '172.18.0.2:30080/tcp from 172.18.0.100 => drop (no local endpoint on this node)')
  // pods short-circuit to every endpoint, unmasqueraded; the node itself too, masqueraded
  const pod = tracePacket(away, pkt('10.244.1.5', '172.18.0.2', 30080), NODE)
  t.equal(verdictLine(pod), '172.18.0.2:30080/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}')
  t.match(formatTrace(pod), /masquerade: no: pod traffic keeps its source/)
  const self = tracePacket(away, pkt('172.18.0.2', '172.18.0.2', 30080), NODE)
  t.equal(verdictLine(self), '172.18.0.2:30080/tcp from 172.18.0.2 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.same(self.source, { inCluster: false, fromNode: true, inSourceRanges: false })
  t.match(formatTrace(self), /172\.18\.0\.2 is outside the cluster CIDRs \(10\.244\.0\.0\/16\); sent by the node itself/)
  t.match(formatTrace(self), /masquerade: yes: the node's own traffic/)
  const lo = tracePacket(away, pkt('127.0.0.1', '172.18.0.2', 30080), NODE)
  t.equal(lo.source?.fromNode, true)
  // the clusterIP is unaffected by eTP
  t.equal(line(away, pkt('172.18.0.100', '10.96.0.10')), '10.96.0.10:80/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
})

t.test('internalTrafficPolicy Local: clusterIP only to local endpoints; none here drops', async (t) => {
  const p = plan([intent({ internalPolicyLocal: true })])
  const tr = tracePacket(p, pkt('10.244.1.5', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 10.244.1.5 => 10.244.1.7:8080')
  t.match(formatTrace(tr), /route: internalTrafficPolicy Local: 1 endpoint/)
  const away = plan([intent({ internalPolicyLocal: true, localEndpoints: [] })])
  t.equal(line(away, pkt('10.244.1.5', '10.96.0.10')), '10.96.0.10:80/tcp from 10.244.1.5 => drop (no local endpoint on this node)')
})

t.test('no endpoints anywhere rejects, whatever the frontend', async (t) => {
  const p = plan([intent({ nodePort: 30080, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, externalPolicyLocal: true })])
  t.equal(line(p, pkt('10.244.1.5', '10.96.0.10')), '10.96.0.10:80/tcp from 10.244.1.5 => reject (no endpoints)')
  const ext = tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), NODE)
  t.equal(verdictLine(ext), '172.18.0.2:30080/tcp from 172.18.0.100 => reject (no endpoints)')
  t.same(ext.verdict, { kind: 'reject', reason: 'no endpoints' })
  t.equal(ext.frontend?.intent, 'default/web:http:tcp:4')
  t.match(formatTrace(ext), /route: reject: no endpoints\n/)
})

t.test('a clusterIP port that is not allocated is rejected', async (t) => {
  const p = plan([intent(), intent({ key: 'default/web:dns:udp:4', portName: 'dns', protocol: 'udp', port: 53 })])
  const tr = tracePacket(p, pkt('10.244.1.5', '10.96.0.10', 81), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:81/tcp from 10.244.1.5 => reject (port not allocated on this ClusterIP)')
  t.same(tr.frontend, { kind: 'unallocated-port', intent: null, service: 'default/web' })
  t.equal(tr.source, null)
  t.equal(formatTrace(tr), 'frontend: 10.96.0.10 is the clusterIP of default/web, but 81/tcp is none of its ports\n10.96.0.10:81/tcp from 10.244.1.5 => reject (port not allocated on this ClusterIP)\n')
  // the right port with the wrong protocol is unallocated too; the udp port itself works
  t.equal(line(p, pkt('10.244.1.5', '10.96.0.10', 53, 'tcp')), '10.96.0.10:53/tcp from 10.244.1.5 => reject (port not allocated on this ClusterIP)')
  t.equal(tracePacket(p, pkt('10.244.1.5', '10.96.0.10', 53, 'udp'), NODE).frontend?.intent, 'default/web:dns:udp:4')
})

t.test('not a Service address: routed normally', async (t) => {
  const tr = tracePacket(plan([intent()]), pkt('10.244.1.5', '10.244.2.9', 8080), NODE)
  t.equal(formatTrace(tr), 'frontend: 10.244.2.9:8080/tcp is no Service frontend: the proxy leaves it alone\n10.244.2.9:8080/tcp from 10.244.1.5 => routed normally (not a Service address)\n')
  t.same([tr.frontend, tr.source], [null, null])
})

t.test('hairpin: a pod reaching itself through its Service is masqueraded for that endpoint only', async (t) => {
  const tr = tracePacket(plan([intent()]), pkt('10.244.1.7', '10.96.0.10'), NODE)
  t.equal(verdictLine(tr), '10.96.0.10:80/tcp from 10.244.1.7 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq on hairpin to 10.244.1.7:8080')
  if (tr.verdict.kind !== 'endpoints') return t.fail('endpoints')
  t.same(tr.verdict.endpoints.map((e) => [e.hairpin, e.masquerade]), [[true, true], [false, false]])
  t.equal(tr.verdict.masquerade, false)
  t.match(formatTrace(tr), /endpoint: 10\.244\.1\.7:8080 \(on this node\), probability 1\/2, masquerade: hairpin \(the source is this endpoint\)\n/)
  // already masqueraded: the line says masq once, the endpoint says hairpin
  const all = tracePacket(plan([intent()], { masqueradeAll: true }), pkt('10.244.1.7', '10.96.0.10'), NODE)
  t.equal(verdictLine(all), '10.96.0.10:80/tcp from 10.244.1.7 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq')
  t.match(formatTrace(all), /endpoint: 10\.244\.1\.7:8080 \(on this node\), probability 1\/2, hairpin\n/)
})

t.test('IPv6: the same code path, bracketed host:port, canonical addresses', async (t) => {
  const v6 = intent({
    key: 'default/web:http:tcp:6', family: 6, clusterIP: 'fd00:10:96::a', nodePort: 30080,
    clusterEndpoints: [ep('fd00:10:244:1::7', 8080, true), ep('fd00:10:244:2::9')], localEndpoints: [ep('fd00:10:244:1::7', 8080, true)],
  })
  const p = plan([intent({ nodePort: 30080 }), v6])
  const tr = tracePacket(p, pkt('FD00:10:244:1::5', 'fd00:10:96:0::a'), NODE)
  t.equal(verdictLine(tr), '[fd00:10:96::a]:80/tcp from fd00:10:244:1::5 => one of {[fd00:10:244:1::7]:8080, [fd00:10:244:2::9]:8080}')
  t.equal(tr.family, 6)
  t.equal(tr.frontend?.intent, 'default/web:http:tcp:6')
  t.match(formatTrace(tr), /inside the cluster CIDR fd00:10:244::\/56/)
  const np = tracePacket(p, pkt('2001:db8::1', 'fc00:f853:ccd:e793::2', 30080), NODE)
  t.equal(verdictLine(np), '[fc00:f853:ccd:e793::2]:30080/tcp from 2001:db8::1 => one of {[fd00:10:244:1::7]:8080, [fd00:10:244:2::9]:8080}, masq')
  t.equal(tracePacket(p, pkt('::1', 'fc00:f853:ccd:e793::2', 30080), NODE).source?.fromNode, true)
  // an IPv4 packet never matches the IPv6 intent
  t.equal(tracePacket(p, pkt('172.18.0.100', '172.18.0.2', 30080), NODE).frontend?.intent, 'default/web:http:tcp:4')
})

t.test('--json: the whole trace plus the verdict line', async (t) => {
  const tr = tracePacket(plan([intent()]), pkt('10.244.1.5', '10.96.0.10'), NODE)
  const j = JSON.parse(formatTraceJson(tr))
  t.equal(j.line, '10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}')
  t.same(j.packet, { from: '10.244.1.5', to: '10.96.0.10', port: 80, protocol: 'tcp' })
  t.equal(j.verdict.endpoints.length, 2)
  t.same(j.steps, tr.steps)
  t.same(j.frontend, tr.frontend)
  t.same(j.source, tr.source)
  t.equal(j.family, 4)
  t.ok(formatTraceJson(tr).endsWith('}\n'))
})

t.test('a malformed packet or node is a TraceInputError with a code', async (t) => {
  const p = plan([intent()])
  const bad = (k: TracePacket, code: string, msg: RegExp, node = NODE) => {
    try {
      tracePacket(p, k, node)
      t.fail(`no error for ${JSON.stringify(k)}`)
    } catch (e) {
      t.ok(e instanceof TraceInputError, 'a TraceInputError')
      t.equal((e as TraceInputError).code, code)
      t.match((e as Error).message, msg)
    }
  }
  bad(pkt('10.244.1.05', '10.96.0.10'), 'ETRACE_ADDRESS', /^source "10\.244\.1\.05": /)
  bad(pkt('10.244.1.5', 'web'), 'ETRACE_ADDRESS', /^destination "web": must be a valid IP address/)
  bad(pkt('10.244.1.5', 'fd00::1'), 'ETRACE_FAMILY', /^source 10\.244\.1\.5 and destination fd00::1 are not of one IP family$/)
  bad(pkt('10.244.1.5', '10.96.0.10', 0), 'ETRACE_PORT', /^port 0 is not 1\.\.65535$/)
  bad(pkt('10.244.1.5', '10.96.0.10', 65536), 'ETRACE_PORT', /65536/)
  bad(pkt('10.244.1.5', '10.96.0.10', 8.5), 'ETRACE_PORT', /8\.5/)
  bad(pkt('10.244.1.5', '10.96.0.10', 80, 'icmp' as 'tcp'), 'ETRACE_PROTOCOL', /^protocol "icmp" is not tcp, udp or sctp$/)
  bad(pkt('10.244.1.5', '10.96.0.10'), 'ETRACE_ADDRESS', /^node address "eth0"/, { localAddresses: ['eth0'] })
  t.equal(line(p, pkt('10.244.1.5', '10.96.0.10', 65535)), '10.96.0.10:65535/tcp from 10.244.1.5 => reject (port not allocated on this ClusterIP)')
  t.equal(line(p, pkt('10.244.1.5', '10.96.0.10', 1)), '10.96.0.10:1/tcp from 10.244.1.5 => reject (port not allocated on this ClusterIP)')
})

t.test('unnamed port and SCTP', async (t) => {
  const p = plan([intent({ key: 'default/web::sctp:4', portName: '', protocol: 'sctp' })])
  const tr = tracePacket(p, pkt('10.244.1.5', '10.96.0.10', 80, 'sctp'), NODE)
  t.match(formatTrace(tr), /of default\/web its unnamed port \(default\/web::sctp:4\)/)
  t.equal(verdictLine(tr), '10.96.0.10:80/sctp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}')
})
