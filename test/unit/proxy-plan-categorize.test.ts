// categorizeEndpoints: kube-proxy's endpoint slice cache + CategorizeEndpoints for one Service port.
import t from 'tap'
import type { EndpointSlice } from '../../src/cluster/model.ts'
import { categorizeEndpoints, type PortPolicy } from '../../src/proxy/plan/categorize.ts'
import {
  makeEndpoint, makePort, makeSlice, servingTerminating, slicePort, THIS_NODE, v4, v6,
} from '../lib/proxy-fixtures.ts'

const CLUSTER: PortPolicy = { internalPolicyLocal: false, externalPolicyLocal: false, externallyAccessible: false }
const NODE = { nodeName: THIS_NODE, zone: 'zone-a' }
const PORT = makePort('', 80)

function cat(slices: EndpointSlice[], policy: PortPolicy = CLUSTER, node: { nodeName: string; zone: string | null } = NODE, port = PORT, family: 4 | 6 = 4) {
  return categorizeEndpoints(port, slices, family, policy, node)
}
const ips = (list: readonly { ip: string; port: number }[]) => list.map((e) => `${e.ip}:${e.port}`)

t.test('only ready endpoints, sorted by address (numerically) then port, with their locality', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      makeEndpoint(v4.pod('node-b', 10), 'node-b'),
      makeEndpoint(v4.pod('node-a', 9), THIS_NODE),
      makeEndpoint(v4.pod('node-a', 3), 'node-a', { ready: false, serving: false }),
      makeEndpoint(v4.pod('node-b', 2), null),
    ]
  })
  const s2 = makeSlice('ns', 'web-2', 'web', (s) => {
    s.ports = [slicePort('', 81)]
    s.endpoints = [makeEndpoint(v4.pod('node-a', 9), THIS_NODE)]
  })
  const r = cat([s, s2])
  t.same(ips(r.clusterEndpoints), ['10.244.1.9:80', '10.244.1.9:81', '10.244.2.2:80', '10.244.2.10:80'])
  t.same(r.clusterEndpoints.map((e) => e.local), [true, true, false, false])
  t.same(r.localEndpoints, [], 'Cluster policies never use local endpoints')
  t.equal(r.hasAnyEndpoints, true)
  t.equal(r.zoneSensitive, false)
})

t.test('one address on several ports: sorted by port', async (t) => {
  const ip = v4.pod('node-b', 4)
  const high = makeSlice('ns', 'a', 'web', (s) => { s.ports = [slicePort('', 8443)]; s.endpoints = [makeEndpoint(ip, 'node-b')] })
  const low = makeSlice('ns', 'b', 'web', (s) => { s.ports = [slicePort('', 80)]; s.endpoints = [makeEndpoint(ip, 'node-b')] })
  const mid = makeSlice('ns', 'c', 'web', (s) => { s.ports = [slicePort('', 443)]; s.endpoints = [makeEndpoint(ip, 'node-b')] })
  t.same(ips(cat([high, low, mid]).clusterEndpoints), [`${ip}:80`, `${ip}:443`, `${ip}:8443`])
})

t.test('the same order whatever the order of slices and endpoints', async (t) => {
  const eps = [makeEndpoint(v4.pod('node-c', 7), 'node-c'), makeEndpoint(v4.pod('node-a', 200), THIS_NODE), makeEndpoint(v4.pod('node-b', 1), 'node-b')]
  const a = makeSlice('ns', 'a', 'web', (s) => { s.endpoints = eps.slice(0, 2) })
  const b = makeSlice('ns', 'b', 'web', (s) => { s.endpoints = eps.slice(2) })
  const b2 = makeSlice('ns', 'b', 'web', (s) => { s.endpoints = [...eps].reverse() })
  t.same(cat([b, a]).clusterEndpoints, cat([a, b]).clusterEndpoints)
  t.same(ips(cat([b2]).clusterEndpoints), ['10.244.1.200:80', '10.244.2.1:80', '10.244.3.7:80'])
})

t.test('no ready endpoint anywhere: cluster traffic falls back to serving-terminating ones', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      servingTerminating(v4.pod('node-b', 5), 'node-b'),
      makeEndpoint(v4.pod('node-b', 6), 'node-b', { ready: false, serving: false, terminating: true }),
      makeEndpoint(v4.pod('node-b', 7), 'node-b', { ready: false, serving: true, terminating: false }),
    ]
  })
  const r = cat([s])
  t.same(ips(r.clusterEndpoints), ['10.244.2.5:80'], 'serving and terminating, nothing else')
  t.equal(r.hasAnyEndpoints, true)
})

t.test('a ready endpoint anywhere: serving-terminating ones are not used', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [servingTerminating(v4.pod('node-a', 5), THIS_NODE), makeEndpoint(v4.pod('node-b', 6), 'node-b')]
  })
  t.same(ips(cat([s]).clusterEndpoints), ['10.244.2.6:80'])
})

t.test('no usable endpoint: nothing, and hasAnyEndpoints false', async (t) => {
  t.same(cat([]), { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, zoneSensitive: false })
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE, { ready: false, serving: false, terminating: true })]
  })
  t.same(cat([s], { internalPolicyLocal: true, externalPolicyLocal: true, externallyAccessible: true }),
    { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, zoneSensitive: false })
})

t.test('local endpoints: ready ones of this node, else its serving-terminating ones, independently of the cluster list', async (t) => {
  const local: PortPolicy = { internalPolicyLocal: true, externalPolicyLocal: false, externallyAccessible: true }
  const both = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      makeEndpoint(v4.pod('node-a', 1), THIS_NODE),
      servingTerminating(v4.pod('node-a', 2), THIS_NODE),
      makeEndpoint(v4.pod('node-b', 3), 'node-b'),
    ]
  })
  t.same(ips(cat([both], local).localEndpoints), ['10.244.1.1:80'])
  t.same(ips(cat([both], local).clusterEndpoints), ['10.244.1.1:80', '10.244.2.3:80'])
  const terminatingHere = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      servingTerminating(v4.pod('node-a', 2), THIS_NODE),
      makeEndpoint(v4.pod('node-a', 4), THIS_NODE, { ready: false, serving: false, terminating: true }),
      makeEndpoint(v4.pod('node-b', 3), 'node-b'),
    ]
  })
  const r = cat([terminatingHere], local)
  t.same(ips(r.localEndpoints), ['10.244.1.2:80'], 'local falls back although a remote endpoint is ready')
  t.same(ips(r.clusterEndpoints), ['10.244.2.3:80'], 'cluster keeps the ready remote one')
  t.same(r.localEndpoints.map((e) => e.local), [true])
})

t.test('which lists a port uses follows its policies (UsesClusterEndpoints / UsesLocalEndpoints)', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE), makeEndpoint(v4.pod('node-b', 2), 'node-b')]
  })
  const shape = (p: PortPolicy) => {
    const r = cat([s], p)
    return [r.clusterEndpoints.length, r.localEndpoints.length, r.hasAnyEndpoints]
  }
  t.same(shape({ internalPolicyLocal: false, externalPolicyLocal: false, externallyAccessible: true }), [2, 0, true], 'Cluster/Cluster')
  t.same(shape({ internalPolicyLocal: true, externalPolicyLocal: false, externallyAccessible: false }), [0, 1, true], 'iTP Local, internal only')
  t.same(shape({ internalPolicyLocal: true, externalPolicyLocal: false, externallyAccessible: true }), [2, 1, true], 'iTP Local, also external')
  t.same(shape({ internalPolicyLocal: false, externalPolicyLocal: true, externallyAccessible: true }), [2, 1, true], 'eTP Local keeps cluster endpoints for short-circuits')
  t.same(shape({ internalPolicyLocal: false, externalPolicyLocal: true, externallyAccessible: false }), [2, 0, true], 'eTP Local without an external frontend')
  t.same(shape({ internalPolicyLocal: true, externalPolicyLocal: true, externallyAccessible: true }), [2, 1, true])
})

t.test('iTP Local with endpoints only elsewhere: no local endpoint, but hasAnyEndpoints', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => { s.endpoints = [servingTerminating(v4.pod('node-b', 2), 'node-b')] })
  const r = cat([s], { internalPolicyLocal: true, externalPolicyLocal: false, externallyAccessible: false })
  t.same(r, { clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: true, zoneSensitive: false })
})

t.test('endpoint ports come from the slice port of the same name and protocol (named targetPorts)', async (t) => {
  const http = makePort('http', 80, { targetPort: 'web' })
  const a = makeSlice('ns', 'a', 'web', (s) => {
    s.ports = [slicePort('metrics', 9090), slicePort('http', 8080)]
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE)]
  })
  const b = makeSlice('ns', 'b', 'web', (s) => {
    s.ports = [slicePort('http', 8081)]
    s.endpoints = [makeEndpoint(v4.pod('node-b', 1), 'node-b')]
  })
  const udp = makeSlice('ns', 'c', 'web', (s) => {
    s.ports = [slicePort('http', 5353, 'UDP')]
    s.endpoints = [makeEndpoint(v4.pod('node-c', 1), 'node-c')]
  })
  const unnamed = makeSlice('ns', 'd', 'web', (s) => { s.endpoints = [makeEndpoint(v4.pod('node-c', 2), 'node-c')] })
  t.same(ips(cat([a, b, udp, unnamed], CLUSTER, NODE, http).clusterEndpoints), ['10.244.1.1:8080', '10.244.2.1:8081'])
  t.same(ips(cat([a, b, udp, unnamed], CLUSTER, NODE, makePort('http', 53, { protocol: 'UDP' })).clusterEndpoints), ['10.244.3.1:5353'])
  t.same(ips(cat([a, b, udp, unnamed], CLUSTER, NODE, makePort('', 80, { protocol: 'SCTP' })).clusterEndpoints), [])
})

t.test("only slices of the port's family, only an endpoint's first address, canonical text", async (t) => {
  const v4s = makeSlice('ns', 'v4', 'web', (s) => {
    s.endpoints = [
      { ...makeEndpoint(v4.pod('node-a', 1), THIS_NODE), addresses: [v4.pod('node-a', 1), v4.pod('node-a', 99)] },
      { ...makeEndpoint('', 'node-b'), addresses: [] },
      makeEndpoint('10.244.2.01', 'node-b'),
      makeEndpoint(v6.pod('node-b', 3), 'node-b'),
    ]
  })
  const v6s = makeSlice('ns', 'v6', 'web', (s) => {
    s.addressType = 'IPv6'
    s.endpoints = [makeEndpoint('FD00:10:244:1:0:0:0:A', THIS_NODE), makeEndpoint(v4.pod('node-b', 4), 'node-b')]
  })
  t.same(ips(cat([v4s, v6s]).clusterEndpoints), ['10.244.1.1:80'])
  t.same(ips(cat([v4s, v6s], CLUSTER, NODE, PORT, 6).clusterEndpoints), ['fd00:10:244:1::a:80'])
})

t.test('an ip:port listed twice counts once; the ready copy wins whatever the order', async (t) => {
  const ip = v4.pod('node-b', 5)
  const ready = makeSlice('ns', 'b', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b')] })
  const notReady = makeSlice('ns', 'a', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b', { ready: false })] })
  t.same(ips(cat([ready, notReady]).clusterEndpoints), [`${ip}:80`])
  t.same(ips(cat([notReady, ready]).clusterEndpoints), [`${ip}:80`])
  const otherPort = makeSlice('ns', 'c', 'web', (s) => {
    s.ports = [slicePort('', 81)]
    s.endpoints = [makeEndpoint(ip, 'node-b')]
  })
  t.same(ips(cat([ready, otherPort]).clusterEndpoints), [`${ip}:80`, `${ip}:81`], 'another port is another endpoint')
})

t.test('duplicates: a terminating copy yields to one that is not (a reused pod IP)', async (t) => {
  const ip = v4.pod('node-a', 5)
  const old = makeSlice('ns', 'a', 'web', (s) => { s.endpoints = [servingTerminating(ip, THIS_NODE)] })
  const fresh = makeSlice('ns', 'b', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b', { ready: false })] })
  // the fresh pod is not ready yet: the cluster list is empty rather than the terminating copy's
  t.same(cat([old, fresh]).clusterEndpoints, [])
  t.same(cat([fresh, old]).clusterEndpoints, [])
  t.equal(cat([fresh, old]).hasAnyEndpoints, false)
})

t.test('duplicates: between equals, the local copy; then the slice whose name sorts first', async (t) => {
  const ip = v4.pod('node-a', 5)
  const remote = makeSlice('ns', 'a', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b')] })
  const local = makeSlice('ns', 'b', 'web', (s) => { s.endpoints = [makeEndpoint(ip, THIS_NODE)] })
  t.same(cat([remote, local]).clusterEndpoints.map((e) => e.local), [true])
  t.same(cat([local, remote]).clusterEndpoints.map((e) => e.local), [true])
  // equal copies but for their hints: which one counts shows in the topology filter
  const hinted = makeSlice('ns', 'a', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b', { zoneHints: ['zone-a'] })] })
  const other = makeSlice('ns', 'z', 'web', (s) => { s.endpoints = [makeEndpoint(ip, 'node-b', { zoneHints: ['zone-b'] })] })
  const more = makeSlice('ns', 'm', 'web', (s) => { s.endpoints = [makeEndpoint(v4.pod('node-c', 1), 'node-c', { zoneHints: ['zone-a'] })] })
  t.same(ips(cat([hinted, other, more]).clusterEndpoints), ['10.244.1.5:80', '10.244.3.1:80'])
  t.same(ips(cat([other, more, hinted]).clusterEndpoints), ['10.244.1.5:80', '10.244.3.1:80'])
})

t.test('topology: every ready endpoint hinted and one for this zone: only those for this zone', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }),
      makeEndpoint(v4.pod('node-b', 1), 'node-b', { zoneHints: ['zone-b'] }),
      makeEndpoint(v4.pod('node-c', 1), 'node-c', { zoneHints: ['zone-a', 'zone-c'] }),
      makeEndpoint(v4.pod('node-c', 2), 'node-c', { ready: false, serving: false }),
    ]
  })
  const r = cat([s])
  t.same(ips(r.clusterEndpoints), ['10.244.1.1:80', '10.244.3.1:80'])
  t.equal(r.zoneSensitive, true)
  const local = cat([s], { internalPolicyLocal: true, externalPolicyLocal: false, externallyAccessible: true })
  t.same(ips(local.localEndpoints), ['10.244.1.1:80'], 'local endpoints ignore hints')
  t.same(ips(cat([s], CLUSTER, { nodeName: THIS_NODE, zone: 'zone-b' }).clusterEndpoints), ['10.244.2.1:80'])
})

t.test('topology is ignored when a ready endpoint has no hint, none is for this zone, or the node has no zone', async (t) => {
  const all = ['10.244.1.1:80', '10.244.2.1:80']
  const missing = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }), makeEndpoint(v4.pod('node-b', 1), 'node-b')]
  })
  t.same(ips(cat([missing]).clusterEndpoints), all, 'a ready endpoint without hints')
  const emptyHints = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }), makeEndpoint(v4.pod('node-b', 1), 'node-b', { zoneHints: [] })]
  })
  t.same(ips(cat([emptyHints]).clusterEndpoints), all, 'an empty hint list is no hint')
  const elsewhere = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-b'] }), makeEndpoint(v4.pod('node-b', 1), 'node-b', { zoneHints: ['zone-b'] })]
  })
  t.same(ips(cat([elsewhere]).clusterEndpoints), all, 'no hint for this zone')
  t.equal(cat([elsewhere]).zoneSensitive, true)
  const hinted = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }), makeEndpoint(v4.pod('node-b', 1), 'node-b', { zoneHints: ['zone-b'] })]
  })
  t.same(ips(cat([hinted], CLUSTER, { nodeName: THIS_NODE, zone: null }).clusterEndpoints), all, 'the node has no zone label')
  const unhintedNotReady = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [...hinted.endpoints, makeEndpoint(v4.pod('node-c', 1), 'node-c', { ready: false })]
  })
  t.same(ips(cat([unhintedNotReady]).clusterEndpoints), ['10.244.1.1:80'], 'a not-ready endpoint without hints does not count')
})

t.test('topology: the serving-terminating fallback ignores hints', async (t) => {
  const s = makeSlice('ns', 'web-1', 'web', (s) => {
    s.endpoints = [
      servingTerminating(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }),
      servingTerminating(v4.pod('node-b', 1), 'node-b', { zoneHints: ['zone-b'] }),
    ]
  })
  t.same(ips(cat([s]).clusterEndpoints), ['10.244.1.1:80', '10.244.2.1:80'])
})
