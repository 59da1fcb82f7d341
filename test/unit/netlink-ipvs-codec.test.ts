// IPVS generic netlink codecs against hand-built kernel messages (layouts from
// include/uapi/linux/ip_vs.h and genetlink.h).
import t from 'tap'
import { attr, nested, parseAttrs, str, u16, u16be, u32 } from '../../src/netlink/attrs.ts'
import { decodeFamily, genlBody, getFamily } from '../../src/netlink/codec-genl.ts'
import * as V from '../../src/netlink/codec-ipvs.ts'

const v4 = Buffer.from([10, 96, 0, 10])
const key: V.ServiceKey = { family: 4, addr: v4, protocol: 'tcp', port: 80 }
const body = (parts: Buffer[]) => Buffer.concat(parts)
const a16 = (b: Buffer) => { const o = Buffer.alloc(16); b.copy(o); return o }

t.test('family lookup: the request, and the controller\'s answer', async (t) => {
  const req = body(getFamily('IPVS'))
  t.equal(req.readUInt8(0), 3, 'CTRL_CMD_GETFAMILY')
  t.equal(req.readUInt8(1), 1, 'version 1')
  t.equal(getStrAttr(parseAttrs(req.subarray(4)).get(2)), 'IPVS', 'CTRL_ATTR_FAMILY_NAME')
  const reply = body([Buffer.from([1, 2, 0, 0]), attr(1, u16(0x1d)), attr(2, str('IPVS')), attr(3, u32(1)), attr(5, u32(3))])
  t.same(decodeFamily(reply), { id: 0x1d, name: 'IPVS', version: 1, maxAttr: 3 })
  t.equal(decodeFamily(body([Buffer.alloc(4), attr(2, str('IPVS'))])), undefined, 'no id, no family')
  t.equal(genlBody(Buffer.alloc(0)).cmd, 0, 'an empty message decodes to nothing')
})

function getStrAttr(b: Buffer | undefined): string | undefined { return b?.subarray(0, b.indexOf(0)).toString() }

t.test('new service: the full entry the kernel requires, in one nested SERVICE attribute', async (t) => {
  const m = body(V.newService({ ...key, scheduler: 'wrr', flags: V.SVC_F_PERSISTENT, timeout: 10800 }))
  t.equal(m.readUInt8(0), V.IPVS_CMD_NEW_SERVICE)
  t.equal(m.readUInt8(1), V.IPVS_GENL_VERSION)
  const top = parseAttrs(m.subarray(4))
  t.same([...top.keys()], [1], 'only IPVS_CMD_ATTR_SERVICE')
  const s = parseAttrs(top.get(1)!)
  t.equal(s.get(1)!.readUInt16LE(0), 2, 'AF_INET')
  t.equal(s.get(2)!.readUInt16LE(0), 6, 'IPPROTO_TCP')
  t.same(s.get(3), a16(v4), 'the address as a 16-byte nf_inet_addr')
  t.equal(s.get(4)!.readUInt16BE(0), 80, 'the port in network order')
  t.equal(getStrAttr(s.get(6)), 'wrr')
  t.equal(s.get(7)!.readUInt32LE(0), 1, 'flags: persistent')
  t.equal(s.get(7)!.readUInt32LE(4), 0xfffffffd, 'mask: everything but the kernel\'s HASHED')
  t.equal(s.get(8)!.readUInt32LE(0), 10800, 'persistence timeout')
  t.equal(s.get(9)!.readUInt32LE(0), 0xffffffff, 'IPv4 netmask /32')
  const v6 = parseAttrs(parseAttrs(body(V.newService({ family: 6, addr: Buffer.alloc(16, 1), protocol: 'udp', port: 53, scheduler: 'rr', flags: 0, timeout: 0 })).subarray(4)).get(1)!)
  t.equal(v6.get(1)!.readUInt16LE(0), 10, 'AF_INET6')
  t.equal(v6.get(2)!.readUInt16LE(0), 17, 'IPPROTO_UDP')
  t.equal(v6.get(9)!.readUInt32LE(0), 128, 'IPv6: a prefix length')
  t.equal(body(V.setService({ ...key, scheduler: 'rr', flags: 0, timeout: 0 })).readUInt8(0), V.IPVS_CMD_SET_SERVICE)
})

t.test('identity-only messages: delete and get carry no scheduler', async (t) => {
  for (const [m, cmd] of [[V.delService(key), V.IPVS_CMD_DEL_SERVICE], [V.getService(key), V.IPVS_CMD_GET_SERVICE], [V.getDests(key), V.IPVS_CMD_GET_DEST]] as const) {
    const b = body(m)
    t.equal(b.readUInt8(0), cmd)
    t.same([...parseAttrs(parseAttrs(b.subarray(4)).get(1)!).keys()], [1, 2, 3, 4], 'AF, protocol, address, port')
  }
  t.equal(body(V.getServices()).length, 4, 'a dump of all services is the header alone')
  t.equal(body(V.flush()).readUInt8(0), V.IPVS_CMD_FLUSH)
})

t.test('dests: service identity plus a full DEST attribute', async (t) => {
  const addr = Buffer.from([10, 244, 1, 5])
  const d: V.DestSpec = { family: 4, addr, port: 8080, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0 }
  for (const [m, cmd] of [[V.newDest(key, d), V.IPVS_CMD_NEW_DEST], [V.setDest(key, { ...d, forward: 'tunnel', weight: 7 }), V.IPVS_CMD_SET_DEST]] as const) {
    const b = body(m)
    t.equal(b.readUInt8(0), cmd)
    const top = parseAttrs(b.subarray(4))
    t.same([...top.keys()], [1, 2], 'SERVICE then DEST')
    const x = parseAttrs(top.get(2)!)
    t.same(x.get(1), a16(addr))
    t.equal(x.get(2)!.readUInt16BE(0), 8080)
    t.equal(x.get(3)!.readUInt32LE(0), cmd === V.IPVS_CMD_NEW_DEST ? 0 : 2, 'IP_VS_CONN_F_MASQUERADE 0, TUNNEL 2')
    t.equal(x.get(4)!.readUInt32LE(0), cmd === V.IPVS_CMD_NEW_DEST ? 0 : 7, 'weight')
    t.ok(x.has(5) && x.has(6), 'thresholds: the kernel refuses a full dest without them')
    t.equal(x.get(11)!.readUInt16LE(0), 2, 'the real server\'s own family')
  }
  t.same(body(V.newDest({ ...key, addr: 0x0a600001 }, { ...d, addr: 0x0af40105 })), body(V.newDest({ ...key, addr: Buffer.from([10, 96, 0, 1]) }, d)), 'an IPv4 address as a number: the same bytes')
  t.same(body(V.newDest(V.serviceKeyNest(key), d)), body(V.newDest(key, d)), 'a shared key nest: the same bytes')
  const del = parseAttrs(parseAttrs(body(V.delDest(key, d)).subarray(4)).get(2)!)
  t.same([...del.keys()], [1, 2, 11], 'delete names the real server only')
  const cfg = parseAttrs(body(V.setConfig({ tcp: 900, tcpFin: 120, udp: 300 })).subarray(4))
  t.same([4, 5, 6].map((k) => cfg.get(k)!.readUInt32LE(0)), [900, 120, 300])
})

const svcReply = (attrs: Buffer[]) => body([Buffer.from([V.IPVS_CMD_NEW_SERVICE, 1, 0, 0]), nested(1, attrs, true)])
const destReply = (attrs: Buffer[]) => body([Buffer.from([V.IPVS_CMD_NEW_DEST, 1, 0, 0]), nested(2, attrs, true)])

t.test('decode: services and dests as the kernel dumps them', async (t) => {
  const flags = Buffer.alloc(8); flags.writeUInt32LE(3, 0); flags.writeUInt32LE(0xffffffff, 4)
  t.same(V.decodeService(svcReply([attr(1, u16(2)), attr(2, u16(6)), attr(3, a16(v4)), attr(4, u16be(80)), attr(6, str('rr')), attr(7, flags), attr(8, u32(600)), attr(9, u32(0xffffffff))])),
    { protocol: 'tcp', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 3, timeout: 600, netmask: 0xffffffff })
  const six = Buffer.from('fd000000000000000000000000000010', 'hex')
  t.match(V.decodeService(svcReply([attr(1, u16(10)), attr(2, u16(132)), attr(3, six), attr(4, u16be(9))])), { protocol: 'sctp', address: 'fd00::10', port: 9, scheduler: '', flags: 0 })
  t.equal(V.decodeService(svcReply([attr(1, u16(2)), attr(5, u32(7))])), undefined, 'a fwmark service is not one pontoon describes')
  t.equal(V.decodeService(svcReply([attr(1, u16(2)), attr(2, u16(1)), attr(3, a16(v4)), attr(4, u16be(80))])), undefined, 'nor an unknown protocol')
  t.equal(V.decodeService(destReply([])), undefined, 'no SERVICE attribute')

  const d = V.decodeDest(destReply([attr(1, a16(Buffer.from([10, 244, 1, 5]))), attr(2, u16be(8080)), attr(3, u32(3)), attr(4, u32(5)), attr(5, u32(9)), attr(6, u32(1)), attr(7, u32(4)), attr(8, u32(6)), attr(9, u32(2)), attr(11, u16(2))]), 4)
  t.same(d, { address: '10.244.1.5', port: 8080, forward: 'route', weight: 5, upperThreshold: 9, lowerThreshold: 1, activeConns: 4, inactiveConns: 6, persistConns: 2 })
  t.match(V.decodeDest(destReply([attr(1, six), attr(2, u16be(53)), attr(3, u32(0))]), 6), { address: 'fd00::10', forward: 'masq', weight: 0 }, 'no ADDR_FAMILY (old kernels): the service\'s family')
  t.equal(V.decodeDest(destReply([attr(2, u16be(53)), attr(3, u32(0))]), 4), undefined, 'no address, no dest')
  t.equal(V.decodeDest(destReply([attr(1, Buffer.alloc(2)), attr(2, u16be(53)), attr(3, u32(0))]), 4), undefined, 'a short address is not read past')
  t.same(V.decodeTimeouts(body([Buffer.from([V.IPVS_CMD_SET_CONFIG, 1, 0, 0]), attr(4, u32(900)), attr(5, u32(120)), attr(6, u32(300))])), { tcp: 900, tcpFin: 120, udp: 300 })
})

// Whole messages, byte for byte (checked by hand against ip_vs.h: nlattr len/type little-endian,
// values padded to 4, the address a 16-byte nf_inet_addr, ports in network order).
t.test('encodings, byte-exact', async (t) => {
  const hex = (m: Buffer[]) => body(m).toString('hex')
  const keyHex = '060001000200000006000200060000001400030' + '00a60000a000000000000000000000000' + '0600040000500000'
  t.equal(hex(V.newService({ ...key, scheduler: 'wrr', flags: V.SVC_F_PERSISTENT, timeout: 10800 })),
    '01010000' + '54000100' + keyHex + '0800060077727200' + '0c00070001000000fdffffff' + '08000800302a0000' + '08000900ffffffff')
  const d: V.DestSpec = { family: 4, addr: Buffer.from([10, 244, 1, 5]), port: 8080, forward: 'tunnel', weight: 7, upperThreshold: 100, lowerThreshold: 3 }
  const destAddr = '140001000af40105000000000000000000000000' + '060002001f900000'
  t.equal(hex(V.newDest(key, d)), '05010000' + '30000100' + keyHex + '48000200' + destAddr +
    '0800030002000000' + '0800040007000000' + '0800050064000000' + '0800060003000000' + '06000b0002000000')
  t.equal(hex(V.delDest(key, d)), '07010000' + '30000100' + keyHex + '28000200' + destAddr + '06000b0002000000')
  t.equal(hex(V.setConfig({ tcp: 900, tcpFin: 120, udp: 300 })), '0c010000' + '0800040084030000' + '0800050078000000' + '080006002c010000')
  t.equal(hex(V.getConfig()), '0d010000', 'GET_CONFIG: the header alone')
  t.equal(hex(V.getServices()), '04010000')
  t.equal(hex(V.flush()), '11010000')
  // a scheduler name whose NUL fills the word exactly, and one that needs padding
  const sched = (name: string) => parseAttrs(parseAttrs(body(V.newService({ ...key, scheduler: name, flags: 0, timeout: 0 })).subarray(4)).get(1)!).get(6)!
  t.equal(sched('sed').toString('hex'), '73656400')
  t.equal(sched('lblcr').toString('hex'), '6c626c637200', 'length 4 + 6: the padding is not part of the value')
  // IPv6: all 16 address bytes; ports at the top of the range
  const six = Buffer.from('fd000000000000000000000000000010', 'hex')
  const v6 = parseAttrs(parseAttrs(body(V.delService({ family: 6, addr: six, protocol: 'sctp', port: 65535 })).subarray(4)).get(1)!)
  t.equal(v6.get(3)!.toString('hex'), six.toString('hex'))
  t.equal(v6.get(2)!.readUInt16LE(0), 132)
  t.equal(v6.get(4)!.toString('hex'), 'ffff')
  const dk = parseAttrs(parseAttrs(body(V.delDest(key, { family: 6, addr: six, port: 1 })).subarray(4)).get(2)!)
  t.same([dk.get(1)!.toString('hex'), dk.get(2)!.toString('hex'), dk.get(11)!.readUInt16LE(0)], [six.toString('hex'), '0001', 10])
})

t.test('decode: the forwarding method is the low three bits; short or missing values', async (t) => {
  const base = [attr(1, a16(Buffer.from([10, 244, 1, 5]))), attr(2, u16be(8080))]
  t.equal(V.decodeDest(destReply([...base, attr(3, u32(0x101))]), 4)?.forward, 'local', 'flags above the mask are ignored')
  t.equal(V.decodeDest(destReply([...base, attr(3, u32(4))]), 4)?.forward, 'bypass')
  t.equal(V.decodeDest(destReply([...base, attr(3, u32(5))]), 4), undefined, 'a method pontoon does not know')
  t.equal(V.decodeDest(destReply(base), 4), undefined, 'no method')
  t.equal(V.decodeDest(destReply([base[0]!, attr(3, u32(0))]), 4), undefined, 'no port')
  t.equal(V.decodeDest(svcReply([]), 4), undefined, 'no DEST attribute')
  t.same(V.decodeDest(destReply([...base, attr(3, u32(0))]), 4),
    { address: '10.244.1.5', port: 8080, forward: 'masq', weight: 0, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0, persistConns: 0 }, 'counters absent: zero')
  t.equal(V.decodeDest(destReply([attr(1, Buffer.alloc(15)), attr(2, u16be(1)), attr(3, u32(0)), attr(11, u16(10))]), 4), undefined, 'an IPv6 address one byte short')
  t.equal(V.decodeDest(destReply([attr(1, Buffer.alloc(4)), attr(2, u16be(1)), attr(3, u32(0)), attr(11, u16(7))]), 4), undefined, 'an unknown family')
  t.equal(V.decodeDest(destReply([attr(1, Buffer.from([1, 2, 3, 4])), attr(2, u16be(1)), attr(3, u32(0))]), 4)?.address, '1.2.3.4', 'exactly four bytes for IPv4')
  const svc = [attr(1, u16(2)), attr(2, u16(17)), attr(3, a16(v4)), attr(4, u16be(53))]
  t.same(V.decodeService(svcReply([...svc, attr(7, Buffer.alloc(2, 0xff))])),
    { protocol: 'udp', address: '10.96.0.10', port: 53, scheduler: '', flags: 0, timeout: 0, netmask: 0 }, 'a short flags value is not read')
  t.equal(V.decodeService(svcReply([...svc, attr(7, Buffer.from([1, 0, 0, 0]))]))?.flags, 1, 'flags of exactly four bytes')
  t.equal(V.decodeService(svcReply(svc.slice(0, 3))), undefined, 'no port')
  t.equal(V.decodeService(svcReply([svc[0]!, svc[1]!, svc[3]!])), undefined, 'no address')
  t.same(V.decodeTimeouts(body([Buffer.from([V.IPVS_CMD_SET_CONFIG, 1, 0, 0])])), { tcp: 0, tcpFin: 0, udp: 0 }, 'no timeouts: zero')
})
