// The pure half of the netlink layer: attribute TLVs, input validation, and the
// message codecs, checked against byte layouts from the kernel headers.
import t from 'tap'
import { attr, nested, parseAttrs, str, u32, NLA_F_NESTED } from '../../src/netlink/attrs.ts'
import { checkIfName, formatIp, formatMac, parseCidr, parseIp, parseMac } from '../../src/netlink/input.ts'
import { decodeLink, ifinfomsg, newVeth, newVxlan, setHairpin } from '../../src/netlink/codec-link.ts'
import { decodeAddr, newAddr } from '../../src/netlink/codec-addr.ts'
import { decodeRoute, routeMsg } from '../../src/netlink/codec-route.ts'
import { decodeFdb, fdbMsg } from '../../src/netlink/codec-neigh.ts'
import { NetlinkInputError } from '../../src/netlink/errors.ts'

t.test('attributes are 4-byte aligned TLVs and parse back', async (t) => {
  const a = attr(3, str('eth0'))
  t.same([...a], [9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, 0, 0, 0])
  const n = nested(12, [attr(4, Buffer.from([1]))], true)
  t.equal(n.readUInt16LE(2), 12 | NLA_F_NESTED)
  const parsed = parseAttrs(Buffer.concat([a, n, attr(4, u32(1500))]))
  t.equal(parsed.get(4)?.readUInt32LE(0), 1500)
  t.equal(parsed.get(12)?.length, 8, 'the nested flag is stripped from the type')
  t.same(parseAttrs(Buffer.from([200, 0, 1, 0, 1, 2])), new Map(), 'a truncated attribute is dropped, not read past the end')
})

t.test('input validation names the field', async (t) => {
  t.same(parseCidr('op', 'cidr', '10.1.2.3/24'), { family: 4, bytes: Buffer.from([10, 1, 2, 3]), len: 24 })
  t.equal(parseCidr('op', 'cidr', 'fd00::1/64').bytes.length, 16)
  for (const bad of ['10.1.2.3', '10.1.2.3/33', '10.1.2.3/x', 'fd00::1/129', '300.1.1.1/8', 42, undefined]) {
    t.throws(() => parseCidr('op', 'cidr', bad), { code: 'EINVAL_CIDR', field: 'cidr' }, String(bad))
  }
  t.throws(() => parseIp('op', 'gw', 'nope'), { code: 'EINVAL_GW' })
  t.same([...parseMac('op', 'mac', '02:AB:00:00:00:01')], [2, 0xab, 0, 0, 0, 1])
  t.throws(() => parseMac('op', 'mac', '02:ab:00:00:00'), { code: 'EINVAL_MAC' })
  for (const bad of ['', 'a'.repeat(16), 'a/b', 'a b', 'a:b', '.', '..']) t.throws(() => checkIfName('op', 'name', bad), NetlinkInputError)
  t.equal(checkIfName('op', 'name', 'a'.repeat(15)), 'a'.repeat(15))
  t.equal(formatIp(Buffer.from('fd000000000000000000000000000001', 'hex')), 'fd00::1')
  t.equal(formatMac(Buffer.from([2, 0, 0, 0, 0xb, 1])), '02:00:00:00:0b:01')
})

t.test('veth request nests the peer ifinfomsg with its netns fd', async (t) => {
  const msg = Buffer.concat(newVeth({ name: 'veth0' }, { name: 'eth0', nsFd: 7, mtu: 1400 }))
  const top = parseAttrs(msg.subarray(16))
  const info = parseAttrs(top.get(18)!)
  t.equal(info.get(1)?.toString(), 'veth\0')
  const peer = parseAttrs(info.get(2)!).get(1)!
  const peerAttrs = parseAttrs(peer.subarray(16))
  t.equal(peerAttrs.get(3)?.toString(), 'eth0\0')
  t.equal(peerAttrs.get(28)?.readUInt32LE(0), 7)
  t.equal(peerAttrs.get(4)?.readUInt32LE(0), 1400)
})

t.test('hairpin goes as AF_BRIDGE with a flagged nested IFLA_PROTINFO', async (t) => {
  const msg = Buffer.concat(setHairpin(5, true))
  t.equal(msg.readUInt8(0), 7)
  t.equal(msg.readInt32LE(4), 5)
  t.equal(msg.readUInt16LE(18), 12 | NLA_F_NESTED)
  t.equal(parseAttrs(msg.subarray(16)).get(12)?.subarray(4, 5)[0], 1)
})

t.test('vxlan request carries VNI, big-endian port, learning and local', async (t) => {
  const msg = Buffer.concat(newVxlan({ name: 'vx0' }, { vni: 42, port: 8472, learning: false, local: Buffer.from([172, 30, 0, 1]), dev: 3 }))
  const data = parseAttrs(parseAttrs(parseAttrs(msg.subarray(16)).get(18)!).get(2)!)
  t.equal(data.get(1)?.readUInt32LE(0), 42)
  t.equal(data.get(15)?.readUInt16BE(0), 8472)
  t.equal(data.get(7)?.[0], 0)
  t.same([...data.get(4)!], [172, 30, 0, 1])
  t.equal(data.get(3)?.readUInt32LE(0), 3)
})

t.test('decoders read what encoders would receive', async (t) => {
  const link = Buffer.concat([ifinfomsg(0, 4, 0x101, 0), attr(3, str('br0')), attr(4, u32(1400)), attr(1, Buffer.from([2, 0, 0, 0, 0, 1])), attr(10, u32(9)), attr(18, attr(1, str('bridge')))])
  t.same(decodeLink(link), { index: 4, name: 'br0', mac: '02:00:00:00:00:01', mtu: 1400, up: true, promisc: true, masterIndex: 9, kind: 'bridge' })

  const v6 = parseCidr('t', 'cidr', 'fd00::5/64')
  t.same(decodeAddr(Buffer.concat(newAddr(3, v6, true))), { index: 3, cidr: 'fd00::5/64', family: 6, tentative: false })
  const v4 = Buffer.concat(newAddr(3, parseCidr('t', 'cidr', '10.9.8.7/24'), false))
  t.same(parseAttrs(v4.subarray(8)).get(4), Buffer.from([10, 9, 8, 255]), 'IPv4 broadcast is derived')

  const spec = { family: 4 as const, dst: parseCidr('t', 'dst', '10.2.0.0/16'), gw: parseIp('t', 'gw', '10.1.0.1'), index: 2, table: 1000, onlink: true }
  const added = Buffer.concat(routeMsg(spec, false))
  t.equal(added.readUInt8(4), 252, 'tables above 255 go in RTA_TABLE with RT_TABLE_COMPAT in the header')
  t.match(decodeRoute(added), { dst: '10.2.0.0/16', gw: '10.1.0.1', index: 2, table: 1000, onlink: true, scope: 0, protocol: 3, type: 1 })
  const deleted = Buffer.concat(routeMsg({ ...spec, gw: undefined, table: 254 }, true))
  t.match(decodeRoute(deleted), { scope: 255, protocol: 0, type: 0 }, 'delete leaves scope, protocol and type open')
  t.equal(decodeRoute(Buffer.concat(routeMsg({ ...spec, dst: parseCidr('t', 'dst', '0.0.0.0/0') }, false)))?.dst, '0.0.0.0/0')

  t.same(decodeFdb(Buffer.concat(fdbMsg(6, parseMac('t', 'mac', '02:00:00:00:00:09'), parseIp('t', 'dst', '172.30.0.2')))),
    { index: 6, mac: '02:00:00:00:00:09', permanent: true, self: true, dst: '172.30.0.2' })
})

t.test('IFLA_IFALIAS is encoded on set and decoded on read', async (t) => {
  const { setAlias, setMac } = await import('../../src/netlink/codec-link.ts')
  const msg = Buffer.concat(setAlias(7, 'pontoon:c1/eth0'))
  t.equal(msg.readInt32LE(4), 7)
  t.equal(parseAttrs(msg.subarray(16)).get(20)?.toString(), 'pontoon:c1/eth0\0')
  t.same([...parseAttrs(Buffer.concat(setMac(7, Buffer.from([2, 0, 0, 0, 0, 1]))).subarray(16)).get(1)!], [2, 0, 0, 0, 0, 1])
  const reply = Buffer.concat([ifinfomsg(0, 7), attr(3, str('pnv1')), attr(20, str('pontoon:c1/eth0'))])
  t.equal(decodeLink(reply).alias, 'pontoon:c1/eth0')
  t.notOk('alias' in decodeLink(Buffer.concat([ifinfomsg(0, 7), attr(3, str('pnv1'))])), 'no alias, no field')
})
