// The overlay's kernel programming done through Rtnl, flannel style: two
// "nodes" on an underlay veth, a vxlan device each with learning off, and per
// remote node a permanent neighbour, an FDB entry and an onlink route. Read back
// with ip/bridge, then a ping crosses the tunnel.
import t from 'tap'
import { linkNamespaces, makeNetns } from '../lib/netns.ts'
import { Rtnl, type Link } from '../../src/netlink/index.ts'

const a = makeNetns('nxa')
const b = makeNetns('nxb')
t.teardown(() => { a.destroy(); b.destroy() })
const { aIf, bIf } = linkNamespaces(a, '172.30.0.1/24', b, '172.30.0.2/24', 'u')

interface Node { ns: typeof a; nl: Rtnl; under: string; vx: Link; pod: string }

async function node(ns: typeof a, underIf: string, under: string, podNet: string, mac: string): Promise<Node> {
  const nl = await Rtnl.open(ns.path)
  const u = await nl.linkByName(underIf)
  if (!u) throw new Error(`no ${underIf}`)
  const vx = await nl.addVxlan('vx0', { vni: 1, port: 8472, local: under, dev: u.index, learning: false, mtu: 1450, mac })
  await nl.setUp(vx.index)
  await nl.addAddr(vx.index, `${podNet}/32`)
  return { ns, nl, under, vx, pod: podNet }
}

async function peer(self: Node, other: Node): Promise<void> {
  await self.nl.setNeigh({ index: self.vx.index, ip: other.pod, mac: other.vx.mac })
  await self.nl.setFdb({ index: self.vx.index, mac: other.vx.mac, dst: other.under })
  await self.nl.addRoute({ dst: `${other.pod}/24`, gw: other.pod, index: self.vx.index, onlink: true })
}

t.test('vxlan device, neighbours, FDB, onlink routes, traffic', async (t) => {
  const na = await node(a, aIf, '172.30.0.1', '10.244.0.0', '02:00:00:00:0a:01')
  const nb = await node(b, bIf, '172.30.0.2', '10.244.1.0', '02:00:00:00:0b:01')
  t.teardown(() => { na.nl.close(); nb.nl.close() })

  const [shown] = JSON.parse(a.run('ip', ['-j', '-d', 'link', 'show', 'vx0']))
  t.match(shown, { mtu: 1450, address: '02:00:00:00:0a:01', linkinfo: { info_kind: 'vxlan', info_data: { id: 1, port: 8472, local: '172.30.0.1', link: aIf } } })
  t.equal(shown.linkinfo.info_data.learning, false)
  t.match(na.vx, { kind: 'vxlan', mtu: 1450, vxlan: { vni: 1, port: 8472, learning: false, local: '172.30.0.1' } })
  t.equal(na.vx.vxlan?.linkIndex, (await na.nl.linkByName(aIf))?.index)

  const again = await na.nl.addVxlan('vx0', { vni: 1 })
  t.equal(again.index, na.vx.index, 'an existing vxlan device is returned for the caller to judge')

  await peer(na, nb)
  await peer(nb, na)
  await peer(na, nb) // programming twice changes nothing

  const neigh = JSON.parse(a.run('ip', ['-j', 'neigh', 'show', 'dev', 'vx0'])) as any[]
  t.equal(neigh.length, 1)
  t.match(neigh[0], { dst: '10.244.1.0', lladdr: '02:00:00:00:0b:01', state: ['PERMANENT'] })
  t.match(await na.nl.neighs(na.vx.index), [{ ip: '10.244.1.0', mac: '02:00:00:00:0b:01', permanent: true }])

  const fdb = (JSON.parse(a.run('bridge', ['-j', 'fdb', 'show', 'dev', 'vx0'])) as any[]).filter((e) => e.mac === '02:00:00:00:0b:01')
  t.equal(fdb.length, 1)
  t.match(fdb[0], { dst: '172.30.0.2', state: 'permanent' })
  t.ok(fdb[0].flags.includes('self'))
  t.match((await na.nl.fdb(na.vx.index)).filter((e) => e.mac === '02:00:00:00:0b:01'), [{ dst: '172.30.0.2', permanent: true, self: true }])
  t.match(JSON.parse(a.run('ip', ['-j', 'route', 'show', '10.244.1.0/24']))[0], { gateway: '10.244.1.0', dev: 'vx0', flags: ['onlink'] })

  const ping = a.try('busybox', ['ping', '-c', '1', '-W', '2', '10.244.1.0'])
  t.equal(ping.status, 0, `ping across the tunnel: ${ping.stdout}${ping.stderr}`)
  t.match(ping.stdout, /1 packets received/)

  // Flood list: several destinations on the all-zero MAC, appended side by side.
  await na.nl.appendFdb({ index: na.vx.index, mac: '00:00:00:00:00:00', dst: '172.30.0.2' })
  await na.nl.appendFdb({ index: na.vx.index, mac: '00:00:00:00:00:00', dst: '172.30.0.9' })
  await na.nl.appendFdb({ index: na.vx.index, mac: '00:00:00:00:00:00', dst: '172.30.0.9' })
  const flood = (JSON.parse(a.run('bridge', ['-j', 'fdb', 'show', 'dev', 'vx0'])) as any[]).filter((e) => e.mac === '00:00:00:00:00:00')
  t.same(flood.map((e) => e.dst).sort(), ['172.30.0.2', '172.30.0.9'])

  t.equal(await na.nl.delFdb({ index: na.vx.index, mac: '00:00:00:00:00:00', dst: '172.30.0.9' }), true)
  // The kernel reports success for an absent destination while the MAC has others left,
  // so "false" can only be promised for a MAC with no entry at all.
  t.equal(await na.nl.delFdb({ index: na.vx.index, mac: '02:00:00:00:0b:01', dst: '172.30.0.2' }), true)
  t.equal(await na.nl.delFdb({ index: na.vx.index, mac: '02:00:00:00:0b:01', dst: '172.30.0.2' }), false)
  t.equal(await na.nl.delNeigh({ index: na.vx.index, ip: '10.244.1.0' }), true)
  t.equal(await na.nl.delNeigh({ index: na.vx.index, ip: '10.244.1.0' }), false)
  t.same(JSON.parse(a.run('ip', ['-j', 'neigh', 'show', 'dev', 'vx0'])), [])
  const left = (JSON.parse(a.run('bridge', ['-j', 'fdb', 'show', 'dev', 'vx0'])) as any[]).filter((e) => e.dst)
  t.same(left.map((e) => `${e.mac} ${e.dst}`), ['00:00:00:00:00:00 172.30.0.2'])

  await t.rejects(na.nl.addVxlan('vx1', { vni: 1 << 24 }), { code: 'EINVAL_VNI' })
  await t.rejects(na.nl.setNeigh({ index: na.vx.index, ip: '10.244.1.0', mac: 'nope' }), { code: 'EINVAL_MAC' })
  await t.rejects(na.nl.addBridge('vx0'), { code: 'EEXIST' })
})
