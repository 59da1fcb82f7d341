// route.ts: the routing rules every renderer encodes and the tracer evaluates, branch by branch.
import t from 'tap'
import type { EndpointTarget, PortIntent } from '../../src/proxy/plan/intent.ts'
import {
  externallyAccessible, externalTargets, internalTargets, routePacket, trafficClassOf, type FrontendKind, type PacketSource,
} from '../../src/proxy/plan/route.ts'

const here: EndpointTarget = { ip: '10.244.1.5', port: 8080, local: true }
const there: EndpointTarget = { ip: '10.244.2.6', port: 8080, local: false }

function intent(over: Partial<PortIntent> = {}): PortIntent {
  return {
    key: 'default/web::tcp:4',
    service: 'default/web',
    portName: '',
    family: 4,
    protocol: 'tcp',
    clusterIP: '10.96.0.1',
    port: 80,
    nodePort: 30080,
    externalIPs: ['192.0.2.1'],
    loadBalancerIPs: ['203.0.113.1'],
    loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0,
    internalPolicyLocal: false,
    externalPolicyLocal: false,
    healthCheckNodePort: null,
    clusterEndpoints: [here, there],
    localEndpoints: [here],
    hasAnyEndpoints: true,
    ...over,
  }
}

const POD: PacketSource = { inCluster: true, fromNode: false, inSourceRanges: false }
const OUTSIDE: PacketSource = { inCluster: false, fromNode: false, inSourceRanges: false }
const NODE_ITSELF: PacketSource = { inCluster: false, fromNode: true, inSourceRanges: false }
const DETECT = { masqueradeAll: false, hasLocalDetection: true }
const NO_DETECT = { masqueradeAll: false, hasLocalDetection: false }
const EXTERNAL: FrontendKind[] = ['node-port', 'external-ip', 'load-balancer']

t.test('traffic classes: the clusterIP is internal, every other frontend external', async (t) => {
  t.equal(trafficClassOf('cluster-ip'), 'internal')
  for (const k of EXTERNAL) t.equal(trafficClassOf(k), 'external', k)
})

t.test('externallyAccessible: any NodePort, externalIP or LB IP', async (t) => {
  const none = { nodePort: null, externalIPs: [], loadBalancerIPs: [] }
  t.equal(externallyAccessible(intent(none)), false)
  t.equal(externallyAccessible(intent({ ...none, nodePort: 30000 })), true)
  t.equal(externallyAccessible(intent({ ...none, externalIPs: ['192.0.2.1'] })), true)
  t.equal(externallyAccessible(intent({ ...none, loadBalancerIPs: ['203.0.113.1'] })), true)
})

t.test('class targets: Cluster uses the cluster list; Local the local one; empty lists reject or drop', async (t) => {
  t.same(internalTargets(intent()), { endpoints: [here, there], whenEmpty: 'reject', emptyReason: 'no endpoints' })
  t.same(externalTargets(intent()), { endpoints: [here, there], whenEmpty: 'reject', emptyReason: 'no endpoints' })
  t.same(internalTargets(intent({ internalPolicyLocal: true })), { endpoints: [here], whenEmpty: 'drop', emptyReason: 'no local endpoint on this node' })
  t.same(externalTargets(intent({ externalPolicyLocal: true })), { endpoints: [here], whenEmpty: 'drop', emptyReason: 'no local endpoint on this node' })
  t.same(externalTargets(intent({ internalPolicyLocal: true })).endpoints, [here, there], 'iTP does not steer external traffic')
  t.same(internalTargets(intent({ externalPolicyLocal: true })).endpoints, [here, there], 'eTP does not steer internal traffic')
  const none = { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }
  t.same(internalTargets(intent({ ...none, internalPolicyLocal: true })), { endpoints: [], whenEmpty: 'reject', emptyReason: 'no endpoints' },
    'Local with no endpoint anywhere rejects')
  t.same(externalTargets(intent({ ...none, externalPolicyLocal: true })).whenEmpty, 'reject')
})

t.test('clusterIP traffic: cluster endpoints; masquerade only for sources outside the cluster CIDRs, or with --masquerade-all', async (t) => {
  t.same(routePacket(intent(), 'cluster-ip', POD, DETECT), { verdict: 'endpoints', endpoints: [here, there], masquerade: false, affinityTimeoutSeconds: 0, why: 'cluster endpoints' })
  t.match(routePacket(intent(), 'cluster-ip', OUTSIDE, DETECT), { verdict: 'endpoints', masquerade: true })
  t.match(routePacket(intent(), 'cluster-ip', OUTSIDE, NO_DETECT), { verdict: 'endpoints', masquerade: false }, 'no detection: nobody is "outside"')
  t.match(routePacket(intent(), 'cluster-ip', POD, { masqueradeAll: true, hasLocalDetection: true }), { masquerade: true })
  t.match(routePacket(intent(), 'cluster-ip', POD, { masqueradeAll: true, hasLocalDetection: false }), { masquerade: true })
})

t.test('clusterIP traffic: affinity, iTP Local, no endpoints', async (t) => {
  t.match(routePacket(intent({ affinityTimeoutSeconds: 600 }), 'cluster-ip', POD, DETECT), { affinityTimeoutSeconds: 600 })
  t.same(routePacket(intent({ internalPolicyLocal: true }), 'cluster-ip', POD, DETECT),
    { verdict: 'endpoints', endpoints: [here], masquerade: false, affinityTimeoutSeconds: 0, why: 'internalTrafficPolicy Local' })
  t.same(routePacket(intent({ internalPolicyLocal: true, localEndpoints: [] }), 'cluster-ip', POD, DETECT),
    { verdict: 'drop', reason: 'no local endpoint on this node' })
  t.same(routePacket(intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), 'cluster-ip', POD, DETECT),
    { verdict: 'reject', reason: 'no endpoints' })
})

t.test('external traffic with eTP Cluster: cluster endpoints, always masqueraded (not affected by --masquerade-all)', async (t) => {
  for (const kind of EXTERNAL) {
    for (const src of [POD, OUTSIDE, NODE_ITSELF]) {
      t.same(routePacket(intent({ affinityTimeoutSeconds: 30 }), kind, src, DETECT),
        { verdict: 'endpoints', endpoints: [here, there], masquerade: true, affinityTimeoutSeconds: 30, why: 'external traffic is masqueraded' }, `${kind}`)
    }
  }
  t.same(routePacket(intent({ clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), 'node-port', OUTSIDE, DETECT), { verdict: 'reject', reason: 'no endpoints' })
})

t.test('external traffic with eTP Local from outside: local endpoints, client IP kept; none here drops', async (t) => {
  const etp = intent({ externalPolicyLocal: true, affinityTimeoutSeconds: 5 })
  for (const kind of EXTERNAL) {
    t.same(routePacket(etp, kind, OUTSIDE, DETECT),
      { verdict: 'endpoints', endpoints: [here], masquerade: false, affinityTimeoutSeconds: 5, why: 'externalTrafficPolicy Local keeps the client IP' }, kind)
  }
  t.same(routePacket(intent({ externalPolicyLocal: true, localEndpoints: [] }), 'node-port', OUTSIDE, DETECT), { verdict: 'drop', reason: 'no local endpoint on this node' })
  t.same(routePacket(intent({ externalPolicyLocal: true, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), 'node-port', OUTSIDE, DETECT),
    { verdict: 'reject', reason: 'no endpoints' })
})

t.test('eTP Local short-circuits: pods (with local detection) and the node itself use every endpoint', async (t) => {
  const etp = intent({ externalPolicyLocal: true, affinityTimeoutSeconds: 7 })
  t.same(routePacket(etp, 'load-balancer', POD, DETECT),
    { verdict: 'endpoints', endpoints: [here, there], masquerade: false, affinityTimeoutSeconds: 7, why: 'pod traffic short-circuits externalTrafficPolicy Local' })
  t.same(routePacket(etp, 'node-port', NODE_ITSELF, DETECT),
    { verdict: 'endpoints', endpoints: [here, there], masquerade: true, affinityTimeoutSeconds: 7, why: 'node traffic short-circuits externalTrafficPolicy Local' })
  t.same(routePacket(etp, 'node-port', { ...POD, fromNode: true }, NO_DETECT), routePacket(etp, 'node-port', NODE_ITSELF, DETECT),
    'without local detection a pod is not told apart: only the node short-circuits')
  t.match(routePacket(etp, 'node-port', POD, NO_DETECT), { endpoints: [here], masquerade: false, why: 'externalTrafficPolicy Local keeps the client IP' })
  t.same(routePacket(intent({ externalPolicyLocal: true, internalPolicyLocal: true }), 'node-port', POD, DETECT).verdict, 'endpoints',
    'the short-circuit ignores iTP Local too')
  const none = intent({ externalPolicyLocal: true, clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false })
  t.same(routePacket(none, 'node-port', POD, DETECT), { verdict: 'reject', reason: 'no endpoints' })
  t.same(routePacket(none, 'node-port', NODE_ITSELF, DETECT), { verdict: 'reject', reason: 'no endpoints' })
  t.same(routePacket(intent({ externalPolicyLocal: true, internalPolicyLocal: true, clusterEndpoints: [] }), 'node-port', NODE_ITSELF, DETECT),
    { verdict: 'reject', reason: 'no endpoints' }, 'short-circuits take the Cluster rule: empty rejects')
})

t.test('loadBalancerSourceRanges: only load-balancer traffic, only when ranges are set', async (t) => {
  const ranged = intent({ loadBalancerSourceRanges: ['198.51.100.0/24'] })
  t.same(routePacket(ranged, 'load-balancer', OUTSIDE, DETECT), { verdict: 'drop', reason: 'source outside loadBalancerSourceRanges' })
  t.match(routePacket(ranged, 'load-balancer', { ...OUTSIDE, inSourceRanges: true }, DETECT), { verdict: 'endpoints' })
  t.match(routePacket(ranged, 'node-port', OUTSIDE, DETECT), { verdict: 'endpoints' })
  t.match(routePacket(ranged, 'external-ip', OUTSIDE, DETECT), { verdict: 'endpoints' })
  t.match(routePacket(ranged, 'cluster-ip', OUTSIDE, DETECT), { verdict: 'endpoints' })
  t.match(routePacket(intent(), 'load-balancer', OUTSIDE, DETECT), { verdict: 'endpoints' })
  t.same(routePacket(intent({ loadBalancerSourceRanges: ['198.51.100.0/24'], clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false }), 'load-balancer', OUTSIDE, DETECT),
    { verdict: 'drop', reason: 'source outside loadBalancerSourceRanges' }, 'the range check comes first')
})
