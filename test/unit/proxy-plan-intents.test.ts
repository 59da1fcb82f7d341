// planService: one Service -> its PortIntents, one per port x family.
import t from 'tap'
import type { EndpointSlice, Service } from '../../src/cluster/model.ts'
import { plannerConfig } from '../../src/proxy/plan/config.ts'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'
import { intentKey, planService } from '../../src/proxy/plan/intents.ts'
import {
  dualConfig, makeEndpoint, makePort, makeService, makeSlice, slicePort, THIS_NODE, v4, v4Config, v6,
} from '../lib/proxy-fixtures.ts'

const V4 = plannerConfig(v4Config())
const DUAL = plannerConfig(dualConfig())
const V6ONLY = plannerConfig({ nodeName: THIS_NODE, families: [{ family: 6, nodePortAddresses: 'local' }] })
const NODE = { nodeName: THIS_NODE, zone: 'zone-a' }

function plan(svc: Service, slices: EndpointSlice[] = [], globals = V4): PortIntent[] {
  return planService(svc, slices, globals, NODE).intents
}
function only(svc: Service, slices: EndpointSlice[] = [], globals = V4): PortIntent {
  const list = plan(svc, slices, globals)
  if (list.length !== 1) throw new Error(`expected one intent, got ${list.length}`)
  return list[0]!
}

const webSlice = makeSlice('default', 'web-1', 'web', (s) => {
  s.endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE), makeEndpoint(v4.pod('node-b', 6), 'node-b')]
})

t.test('a ClusterIP Service: one intent with every field', async (t) => {
  const svc = makeService('default', 'web')
  t.same(only(svc, [webSlice]), {
    key: 'default/web::tcp:4',
    service: 'default/web',
    portName: '',
    family: 4,
    protocol: 'tcp',
    clusterIP: '10.96.0.1',
    port: 80,
    nodePort: null,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0,
    internalPolicyLocal: false,
    externalPolicyLocal: false,
    healthCheckNodePort: null,
    clusterEndpoints: [{ ip: '10.244.1.5', port: 80, local: true }, { ip: '10.244.2.6', port: 80, local: false }],
    localEndpoints: [],
    hasAnyEndpoints: true,
  })
  t.equal(intentKey('default/web', 'http', 'udp', 6), 'default/web:http:udp:6', 'the key format of intent.ts')
})

t.test('intents and their lists are frozen', async (t) => {
  const i = only(makeService('default', 'web'), [webSlice])
  t.ok(Object.isFrozen(i))
  t.ok(Object.isFrozen(i.clusterEndpoints) && Object.isFrozen(i.clusterEndpoints[0]))
  t.ok(Object.isFrozen(i.localEndpoints) && Object.isFrozen(i.externalIPs) && Object.isFrozen(i.loadBalancerIPs) && Object.isFrozen(i.loadBalancerSourceRanges))
})

t.test('no endpoints: an intent that has none', async (t) => {
  const i = only(makeService('default', 'web'))
  t.same([i.clusterEndpoints, i.localEndpoints, i.hasAnyEndpoints], [[], [], false])
})

t.test('a Service without ports has no intents', async (t) => {
  t.same(plan(makeService('default', 'web', (s) => { s.ports = [] })), [])
})

t.test('multi-port, named ports and TCP/UDP/SCTP: one intent per port, in port order', async (t) => {
  const svc = makeService('kube-system', 'dns', (s) => {
    s.ports = [
      makePort('dns', 53, { protocol: 'UDP', targetPort: 'dns' }),
      makePort('dns-tcp', 53, { targetPort: 'dns-tcp' }),
      makePort('sig', 2905, { protocol: 'SCTP', targetPort: 2905 }),
    ]
  })
  const slice = makeSlice('kube-system', 'dns-1', 'dns', (s) => {
    s.ports = [slicePort('dns-tcp', 5353), slicePort('dns', 5353, 'UDP'), slicePort('sig', 2905, 'SCTP')]
    s.endpoints = [makeEndpoint(v4.pod('node-b', 9), 'node-b')]
  })
  const list = plan(svc, [slice])
  t.same(list.map((i) => [i.key, i.protocol, i.port, i.clusterEndpoints.map((e) => e.port)]), [
    ['kube-system/dns:dns:udp:4', 'udp', 53, [5353]],
    ['kube-system/dns:dns-tcp:tcp:4', 'tcp', 53, [5353]],
    ['kube-system/dns:sig:sctp:4', 'sctp', 2905, [2905]],
  ])
  t.same(list.map((i) => i.portName), ['dns', 'dns-tcp', 'sig'])
})

t.test('two ports of one name and protocol (refused by the API): the first wins', async (t) => {
  const svc = makeService('default', 'web', (s) => { s.ports = [makePort('a', 80), makePort('a', 81), makePort('a', 82, { protocol: 'UDP' })] })
  t.same(plan(svc).map((i) => [i.key, i.port]), [['default/web:a:tcp:4', 80], ['default/web:a:udp:4', 82]])
})

t.test('dual-stack: clusterIPs[i] gives family i; one code path per family', async (t) => {
  const svc = makeService('default', 'web', (s) => {
    s.clusterIPs = [v6.clusterIP(1), v4.clusterIP(1)]
    s.ipFamilies = ['IPv6', 'IPv4']
    s.ports = [makePort('http', 80), makePort('https', 443)]
    s.externalIPs = [v4.externalIP(1), v6.externalIP(1), '2001:DB8:E:0:0:0:0:2']
    s.loadBalancerIPs = [v6.lbIP(1), v4.lbIP(1)]
    s.loadBalancerSourceRanges = [' 198.51.100.0/24', '2001:db8:5::/64 ']
  })
  const slice6 = makeSlice('default', 'web-v6', 'web', (s) => {
    s.addressType = 'IPv6'
    s.ports = [slicePort('http', 8080), slicePort('https', 8443)]
    s.endpoints = [makeEndpoint(v6.pod('node-a', 5), THIS_NODE)]
  })
  const slice4 = makeSlice('default', 'web-v4', 'web', (s) => {
    s.ports = [slicePort('http', 8080), slicePort('https', 8443)]
    s.endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE)]
  })
  const list = plan(svc, [slice4, slice6], DUAL)
  t.same(list.map((i) => [i.key, i.clusterIP, i.externalIPs, i.loadBalancerIPs, i.loadBalancerSourceRanges, i.clusterEndpoints.map((e) => `${e.ip}/${e.port}`)]), [
    ['default/web:http:tcp:6', 'fd00:10:96::1', ['2001:db8:e::1', '2001:db8:e::2'], ['2001:db8:1b::1'], ['2001:db8:5::/64'], ['fd00:10:244:1::5/8080']],
    ['default/web:https:tcp:6', 'fd00:10:96::1', ['2001:db8:e::1', '2001:db8:e::2'], ['2001:db8:1b::1'], ['2001:db8:5::/64'], ['fd00:10:244:1::5/8443']],
    ['default/web:http:tcp:4', '10.96.0.1', ['192.0.2.1'], ['203.0.113.1'], ['198.51.100.0/24'], ['10.244.1.5/8080']],
    ['default/web:https:tcp:4', '10.96.0.1', ['192.0.2.1'], ['203.0.113.1'], ['198.51.100.0/24'], ['10.244.1.5/8443']],
  ])
  t.same(list.map((i) => i.family), [6, 6, 4, 4])
  t.same(plan(svc, [slice4, slice6], V4).map((i) => i.key), ['default/web:http:tcp:4', 'default/web:https:tcp:4'], 'a family the node does not run has no intents')
  t.same(plan(svc, [slice4, slice6], V6ONLY).map((i) => i.key), ['default/web:http:tcp:6', 'default/web:https:tcp:6'])
})

t.test('clusterIPs: canonical text; a repeated family or an unparseable address is skipped', async (t) => {
  const svc = makeService('default', 'web', (s) => { s.clusterIPs = ['FD00:10:96:0:0:0:0:A', 'bogus', 'fd00:10:96::b', v4.clusterIP(7)] })
  t.same(plan(svc, [], DUAL).map((i) => [i.family, i.clusterIP]), [[6, 'fd00:10:96::a'], [4, '10.96.0.7']])
})

t.test('frontend lists: each address once, unparseable ones dropped, source ranges as networks', async (t) => {
  const svc = makeService('default', 'web', (s) => {
    s.type = 'LoadBalancer'
    s.ports = [makePort('', 80, { nodePort: 30080 })]
    s.externalIPs = [v4.externalIP(2), 'nope', v4.externalIP(1), v4.externalIP(2)]
    s.loadBalancerIPs = [v4.lbIP(1), v4.lbIP(1)]
    s.loadBalancerSourceRanges = ['198.51.100.7/24', '198.51.100.0/24', 'garbage', '10.1.2.3/8']
  })
  const i = only(svc)
  t.same(i.externalIPs, ['192.0.2.2', '192.0.2.1'])
  t.same(i.loadBalancerIPs, ['203.0.113.1'])
  t.same(i.loadBalancerSourceRanges, ['198.51.100.0/24', '10.0.0.0/8'], 'host bits (the API lets them through) are cleared')
  t.equal(i.nodePort, 30080)
})

t.test('NodePort: the port is a frontend', async (t) => {
  const svc = makeService('default', 'web', (s) => {
    s.type = 'NodePort'
    s.ports = [makePort('', 80, { nodePort: 30080 })]
  })
  t.equal(only(svc).nodePort, 30080)
})

t.test('ClientIP affinity carries its timeout; None is 0 whatever the timeout field says', async (t) => {
  t.equal(only(makeService('default', 'web', (s) => { s.sessionAffinity = 'ClientIP'; s.sessionAffinityTimeoutSeconds = 600 })).affinityTimeoutSeconds, 600)
  t.equal(only(makeService('default', 'web', (s) => { s.sessionAffinityTimeoutSeconds = 600 })).affinityTimeoutSeconds, 0)
})

const local = makeSlice('default', 'web-1', 'web', (s) => {
  s.endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE), makeEndpoint(v4.pod('node-b', 6), 'node-b')]
})

t.test('iTP Local: local endpoints; cluster ones only when externally accessible', async (t) => {
  const internal = only(makeService('default', 'web', (s) => { s.internalTrafficPolicy = 'Local' }), [local])
  t.same([internal.internalPolicyLocal, internal.clusterEndpoints.length, internal.localEndpoints.map((e) => e.ip)], [true, 0, ['10.244.1.5']])
  const ext = only(makeService('default', 'web', (s) => { s.internalTrafficPolicy = 'Local'; s.externalIPs = [v4.externalIP(1)] }), [local])
  t.same([ext.clusterEndpoints.length, ext.localEndpoints.length], [2, 1])
})

t.test('eTP Local: applies to NodePort, LoadBalancer and externalIPs; health check port only on a LoadBalancer', async (t) => {
  const lb = only(makeService('default', 'web', (s) => {
    s.type = 'LoadBalancer'
    s.externalTrafficPolicy = 'Local'
    s.healthCheckNodePort = 32000
    s.ports = [makePort('', 80, { nodePort: 30080 })]
  }), [local])
  t.same([lb.externalPolicyLocal, lb.healthCheckNodePort, lb.clusterEndpoints.length, lb.localEndpoints.length], [true, 32000, 2, 1])
  const np = only(makeService('default', 'web', (s) => {
    s.type = 'NodePort'
    s.externalTrafficPolicy = 'Local'
    s.healthCheckNodePort = 32000 // the API allocates none for a NodePort; the planner does not invent one either
    s.ports = [makePort('', 80, { nodePort: 30080 })]
  }), [local])
  t.same([np.externalPolicyLocal, np.healthCheckNodePort, np.localEndpoints.length], [true, null, 1])
  const eip = only(makeService('default', 'web', (s) => { s.externalTrafficPolicy = 'Local'; s.externalIPs = [v4.externalIP(1)] }), [local])
  t.same([eip.externalPolicyLocal, eip.healthCheckNodePort, eip.localEndpoints.length], [true, null, 1])
  const cip = only(makeService('default', 'web', (s) => { s.externalTrafficPolicy = 'Local' }), [local])
  t.same([cip.externalPolicyLocal, cip.localEndpoints.length], [false, 0], 'a ClusterIP Service has no external traffic')
  const cluster = only(makeService('default', 'web', (s) => {
    s.type = 'LoadBalancer'
    s.healthCheckNodePort = 32000
    s.ports = [makePort('', 80, { nodePort: 30080 })]
  }), [local])
  t.same([cluster.externalPolicyLocal, cluster.healthCheckNodePort], [false, null], 'eTP Cluster has no health check port')
})

t.test('eTP Local on a LoadBalancer without any frontend of this family: no health check port there', async (t) => {
  const svc = makeService('default', 'web', (s) => {
    s.type = 'LoadBalancer'
    s.externalTrafficPolicy = 'Local'
    s.healthCheckNodePort = 32000
    s.clusterIPs = [v4.clusterIP(1), v6.clusterIP(1)]
    s.loadBalancerIPs = [v4.lbIP(1)]
    s.ports = [makePort('', 80)] // allocateLoadBalancerNodePorts: false
  })
  t.same(plan(svc, [], DUAL).map((i) => [i.family, i.healthCheckNodePort, i.loadBalancerIPs]), [[4, 32000, ['203.0.113.1']], [6, null, []]])
})

t.test('zoneSensitive: a Service whose endpoints carry zone hints', async (t) => {
  const hinted = makeSlice('default', 'web-1', 'web', (s) => { s.endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE, { zoneHints: ['zone-a'] })] })
  const svc = makeService('default', 'web', (s) => { s.ports = [makePort('a', 80), makePort('b', 81)] })
  const sliceB = makeSlice('default', 'web-1', 'web', (s) => {
    s.ports = [slicePort('b', 81)]
    s.endpoints = hinted.endpoints
  })
  t.equal(planService(svc, [sliceB], V4, NODE).zoneSensitive, true, 'a hinted second port is enough')
  t.equal(planService(svc, [local], V4, NODE).zoneSensitive, false)
})
