// The overlay planner: Nodes -> the device and per-remote entries, flannel's
// layout, for vxlan and host-gw, and every reason a node is left out.
import t from 'tap'
import type { Node } from '../../src/cluster/model.ts'
import { isUnicastMac, planOverlay, remoteAddress, type OverlayInput, type OverlayPlan, type UnderlayFacts } from '../../src/overlay/plan.ts'

const U4: UnderlayFacts = { localIP: '172.19.0.11', publicIP: '172.19.0.11', subnet: '172.19.0.11/24', mtu: 1500 }
const U6: UnderlayFacts = { localIP: 'fd00:19::11', publicIP: 'fd00:19::11', subnet: 'fd00:19::11/64', mtu: 1500 }
const MAC1 = '02:00:00:00:00:01'

function node(name: string, podCIDRs: string[], o: { ips?: string[]; mac?: string; publicIP?: string; annotations?: Record<string, string> } = {}): Node {
  const annotations: Record<string, string> = { ...(o.annotations ?? {}) }
  if (o.mac) annotations['pontoon.io/vtep-mac'] = o.mac
  if (o.publicIP) annotations['pontoon.io/public-ip'] = o.publicIP
  return { name, podCIDRs, internalIPs: o.ips ?? [], externalIPs: [], ready: true, zone: null, annotations }
}

const self = node('node-1', ['10.244.1.0/24'], { ips: ['172.19.0.11'] })
const n2 = node('node-2', ['10.244.2.0/24'], { ips: ['172.19.0.12'], mac: '02:00:00:00:00:02' })
const n3 = node('node-3', ['10.244.3.0/24'], { ips: ['172.19.0.13'], mac: '02:00:00:00:00:03' })

function plan(nodes: Node[], o: Partial<OverlayInput> = {}): OverlayPlan {
  const r = planOverlay({ mode: 'vxlan', nodeName: 'node-1', nodes, underlay: U4, vtepMac: MAC1, ...o })
  if (r.kind !== 'ready') throw new Error(`waiting: ${r.reason}`)
  return r.plan
}

const reasons = (p: OverlayPlan) => Object.fromEntries(p.skipped.map((s) => [s.node, s.reason]))

t.test('waits until this node is in the API with a podCIDR', async (t) => {
  t.same(planOverlay({ mode: 'vxlan', nodeName: 'node-1', nodes: [n2], underlay: U4, vtepMac: MAC1 }), { kind: 'waiting', reason: 'node node-1 is not in the API yet' })
  t.same(planOverlay({ mode: 'vxlan', nodeName: 'node-1', nodes: [node('node-1', []), n2], underlay: U4, vtepMac: MAC1 }), { kind: 'waiting', reason: 'node node-1 has no podCIDR yet' })
})

t.test('the vxlan device: VNI 1, port 8472, MTU underlay - 50, the subnet network address /32', async (t) => {
  const p = plan([self, n2])
  t.same(p.device, { vni: 1, port: 8472, mtu: 1450, mac: MAC1, local: '172.19.0.11', addresses: ['10.244.1.0/32'] })
  t.equal(p.mode, 'vxlan')
  t.equal(plan([self], { underlay: { ...U4, mtu: 9000 } }).device!.mtu, 8950)
  const dual = plan([node('node-1', ['10.244.1.0/24', 'fd00:10:244:1::/64'])])
  t.same(dual.device!.addresses, ['10.244.1.0/32', 'fd00:10:244:1::/128'], 'one device, each family its own address')
  const v6 = plan([node('node-1', ['10.244.1.0/24'])], { underlay: U6 })
  t.equal(v6.device!.mtu, 1430, 'an IPv6 underlay header is 20 bytes longer')
  t.equal(v6.device!.local, 'fd00:19::11')
  t.equal(plan([self], { underlay: { ...U4, mtu: 118 } }).device!.mtu, 68, 'the smallest MTU IPv4 allows')
  t.throws(() => plan([self], { underlay: { ...U4, mtu: 117 } }), { code: 'EOVERLAY_PLAN', message: /underlay MTU 117 leaves 67/ })
})

t.test('vxlan refuses to plan without a unicast VTEP MAC of its own', async (t) => {
  for (const bad of [undefined, 'nope', '01:00:5e:00:00:01', '00:00:00:00:00:00', '02:00:00:00:00:0A']) {
    t.throws(() => planOverlay({ mode: 'vxlan', nodeName: 'node-1', nodes: [self], underlay: U4, ...(bad === undefined ? {} : { vtepMac: bad }) }), { code: 'EOVERLAY_PLAN', message: /VTEP MAC/ }, String(bad))
  }
})

t.test('per remote node: neighbour, FDB entry, onlink route, flannel style', async (t) => {
  const p = plan([n3, self, n2])
  t.same([...p.remotes.keys()], ['node-2', 'node-3'], 'in name order')
  t.same(p.remotes.get('node-2'), {
    node: 'node-2',
    neighs: [{ ip: '10.244.2.0', mac: '02:00:00:00:00:02' }],
    fdb: [{ mac: '02:00:00:00:00:02', dst: '172.19.0.12' }],
    routes: [{ dst: '10.244.2.0/24', gw: '10.244.2.0', dev: 'overlay', onlink: true }],
  })
  t.same(p.skipped, [])
})

t.test('a dual-stack remote: one FDB entry, a neighbour and a route per family', async (t) => {
  const d = node('node-2', ['10.244.2.0/24', 'fd00:10:244:2::/64'], { ips: ['172.19.0.12'], mac: '02:00:00:00:00:02' })
  const r = plan([self, d]).remotes.get('node-2')!
  t.same(r.neighs, [{ ip: '10.244.2.0', mac: '02:00:00:00:00:02' }, { ip: 'fd00:10:244:2::', mac: '02:00:00:00:00:02' }])
  t.same(r.fdb, [{ mac: '02:00:00:00:00:02', dst: '172.19.0.12' }])
  t.same(r.routes.map((x) => `${x.dst} via ${x.gw}`), ['10.244.2.0/24 via 10.244.2.0', 'fd00:10:244:2::/64 via fd00:10:244:2::'])
})

t.test('remote address: pontoon.io/public-ip, else the first InternalIP of the underlay family', async (t) => {
  t.equal(remoteAddress(node('x', [], { ips: ['fd00::2', '172.19.0.12', '172.19.0.99'] }), 4), '172.19.0.12')
  t.equal(remoteAddress(node('x', [], { ips: ['fd00:0::2', '172.19.0.12'] }), 6), 'fd00::2', 'canonical form')
  t.equal(remoteAddress(node('x', [], { ips: ['172.19.0.12'], publicIP: '203.0.113.9' }), 4), '203.0.113.9')
  t.equal(remoteAddress(node('x', [], { ips: ['172.19.0.12'], publicIP: 'fd00::9' }), 4), undefined, 'an annotation of the other family is not overridden by an InternalIP')
  t.equal(remoteAddress(node('x', [], { ips: ['172.19.0.12'], publicIP: '1.2.3' }), 4), '172.19.0.12', 'a broken annotation is ignored')
  t.equal(remoteAddress(node('x', [], { ips: ['bogus', '172.19.0.12'] }), 4), '172.19.0.12')
  t.equal(remoteAddress(node('x', [], { ips: ['172.19.0.12'] }), 6), undefined)
  const p = plan([self, node('node-2', ['10.244.2.0/24'], { ips: ['172.19.0.12'], mac: '02:00:00:00:00:02', publicIP: '198.51.100.2' })])
  t.same(p.remotes.get('node-2')!.fdb, [{ mac: '02:00:00:00:00:02', dst: '198.51.100.2' }])
})

t.test('nodes left out, each with its reason', async (t) => {
  const p = plan([
    self,
    node('a-nocidr', [], { ips: ['172.19.0.20'], mac: '02:00:00:00:00:20' }),
    node('b-noaddr', ['10.244.21.0/24'], { ips: ['fd00::21'], mac: '02:00:00:00:00:21' }),
    node('c-mine', ['10.244.22.0/24'], { ips: ['172.19.0.11'], mac: '02:00:00:00:00:22' }),
    node('d-nomac', ['10.244.23.0/24'], { ips: ['172.19.0.23'] }),
    node('e-badmac', ['10.244.24.0/24'], { ips: ['172.19.0.24'], mac: '03:00:00:00:00:24' }),
    node('f-ownmac', ['10.244.25.0/24'], { ips: ['172.19.0.25'], mac: MAC1 }),
    node('g-overlap-self', ['10.244.1.128/25'], { ips: ['172.19.0.26'], mac: '02:00:00:00:00:26' }),
    node('h-ok', ['10.244.27.0/24'], { ips: ['172.19.0.27'], mac: '02:00:00:00:00:27' }),
    node('i-samemac', ['10.244.28.0/24'], { ips: ['172.19.0.28'], mac: '02:00:00:00:00:27' }),
    node('j-samecidr', ['10.244.27.0/24'], { ips: ['172.19.0.29'], mac: '02:00:00:00:00:29' }),
    node('k-wider', ['10.244.0.0/16'], { ips: ['172.19.0.30'], mac: '02:00:00:00:00:30' }),
  ])
  t.same([...p.remotes.keys()], ['h-ok'])
  const r = reasons(p)
  t.equal(r['a-nocidr'], 'no podCIDR yet')
  t.equal(r['b-noaddr'], 'no IPv4 address to reach it (pontoon.io/public-ip or an InternalIP)')
  t.equal(r['c-mine'], "its address 172.19.0.11 is this node's")
  t.equal(r['d-nomac'], 'no pontoon.io/vtep-mac yet')
  t.equal(r['e-badmac'], 'pontoon.io/vtep-mac "03:00:00:00:00:24" is not a unicast MAC')
  t.equal(r['f-ownmac'], `VTEP MAC ${MAC1} is already another node's`)
  t.match(r['g-overlap-self'], /^a podCIDR of 10\.244\.1\.128\/25 overlaps a subnet already routed/)
  t.equal(r['i-samemac'], "VTEP MAC 02:00:00:00:00:27 is already another node's")
  t.match(r['j-samecidr'], /overlaps/)
  t.match(r['k-wider'], /overlaps/)
  t.equal(p.skipped.length, 10)
})

t.test('the first claimant by name wins; a node left out claims nothing', async (t) => {
  const a = node('node-a', ['10.244.5.0/24'], { ips: ['172.19.0.50'], mac: '02:00:00:00:00:50' })
  const b = node('node-b', ['10.244.5.0/24'], { ips: ['172.19.0.51'], mac: '02:00:00:00:00:51' })
  t.same([...plan([self, b, a]).remotes.keys()], ['node-a'])
  // node-b's subnet clashes, so its MAC stays free for node-c
  const c = node('node-c', ['10.244.6.0/24'], { ips: ['172.19.0.52'], mac: '02:00:00:00:00:51' })
  t.same([...plan([self, a, b, c]).remotes.keys()], ['node-a', 'node-c'])
  // a node without a MAC claims no subnet either
  const bare = node('node-0', ['10.244.5.0/24'], { ips: ['172.19.0.49'] })
  t.same([...plan([self, bare, a]).remotes.keys()], ['node-a'])
})

t.test('host-gw: plain routes via the remote address on the segment, no device', async (t) => {
  const far = node('node-9', ['10.244.9.0/24'], { ips: ['10.9.9.9'] })
  const v6 = node('node-6', ['fd00:10:244:6::/64'], { ips: ['172.19.0.16'] })
  const p = plan([self, node('node-2', ['10.244.2.0/24'], { ips: ['172.19.0.12'] }), far, v6], { mode: 'host-gw', vtepMac: undefined })
  t.equal(p.device, null)
  t.equal(p.mode, 'host-gw')
  t.same(p.remotes.get('node-2'), { node: 'node-2', neighs: [], fdb: [], routes: [{ dst: '10.244.2.0/24', gw: '172.19.0.12', dev: 'underlay', onlink: false }] })
  t.same(reasons(p), {
    'node-9': "its address 10.9.9.9 is not on this node's segment 172.19.0.11/24 (host-gw needs one L2 segment)",
    'node-6': 'host-gw routes only IPv4 podCIDRs over an IPv4 underlay',
  })
  const clash = plan([self, node('node-2', ['10.244.2.0/24'], { ips: ['172.19.0.12'] }), node('node-3', ['10.244.2.0/25'], { ips: ['172.19.0.13'] })], { mode: 'host-gw' })
  t.same([...clash.remotes.keys()], ['node-2'], 'host-gw claims subnets too')
})

t.test('bad underlay or own subnets are errors, not plans', async (t) => {
  t.throws(() => plan([self], { underlay: { ...U4, publicIP: 'fd00::1' } }), { code: 'EOVERLAY_PLAN', message: /two families/ })
  t.throws(() => plan([self], { underlay: { ...U4, subnet: 'fd00::11/64' } }), { code: 'EOVERLAY_PLAN', message: /two families/ })
  t.throws(() => plan([node('node-1', ['10.244.1.0/24', '10.244.1.0/25'])]), { code: 'EOVERLAY_PLAN', message: /overlap each other/ })
  t.equal(plan([self], { underlay: { ...U4, publicIP: '203.0.113.1' } }).device!.local, '172.19.0.11', 'the tunnel leaves from the local address')
  const behindNat = plan([self, node('node-2', ['10.244.2.0/24'], { ips: ['172.19.0.12'], mac: '02:00:00:00:00:02', publicIP: '203.0.113.1' })], { underlay: { ...U4, publicIP: '203.0.113.1' } })
  t.same(reasons(behindNat), { 'node-2': "its address 203.0.113.1 is this node's" })
})

t.test('isUnicastMac', async (t) => {
  t.ok(isUnicastMac('02:00:00:00:00:01'))
  t.ok(isUnicastMac('fe:ff:ff:ff:ff:ff'))
  t.notOk(isUnicastMac('ff:ff:ff:ff:ff:ff'))
  t.notOk(isUnicastMac('01:00:00:00:00:00'))
  t.notOk(isUnicastMac('00:00:00:00:00:00'))
  t.notOk(isUnicastMac('02:00:00:00:00'))
  t.notOk(isUnicastMac('02:00:00:00:00:01:02'))
  t.notOk(isUnicastMac(' 02:00:00:00:00:01'))
  t.notOk(isUnicastMac(2))
})
