// ipset nfnetlink codecs, byte for byte against what the ipset 7.17 tool sends (captured
// with `strace -e trace=sendmsg -xx` in a test namespace; padding bytes, which the tool
// leaves uninitialised, are zero here) and against the kernel's replies.
import t from 'tap'
import { attr, nested, str, u8, u16be, u32be } from '../../src/netlink/attrs.ts'
import * as S from '../../src/netlink/codec-ipset.ts'
import { NetlinkInputError } from '../../src/netlink/errors.ts'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const cat = (parts: Buffer[]) => Buffer.concat(parts)
const HDR = '02000000 05000100 07000000' // nfgenmsg AF_INET v0, PROTOCOL 7
const name = (n: string) => attr(2, str(n)).toString('hex')
const v6 = (last: number, prefix = 'fd00') => prefix + '0'.repeat(28 - 2) + last.toString(16).padStart(2, '0')
const el = (type: S.SetType, family: S.SetFamily, s: string, line: number) => S.elementData(S.parseElement('test', type, family, s), line).toString('hex')

t.test('message type: subsystem 6 in the high byte', async (t) => {
  t.equal(S.messageType(S.CMD_ADD), 0x609)
  t.equal(S.messageType(S.CMD_LIST), 0x607)
  t.same([S.CMD_PROTOCOL, S.CMD_CREATE, S.CMD_DESTROY, S.CMD_FLUSH, S.CMD_SWAP, S.CMD_LIST, S.CMD_ADD, S.CMD_DEL, S.CMD_HEADER, S.CMD_TYPE], [1, 2, 3, 4, 6, 7, 9, 10, 12, 13])
})

t.test('elements: the DATA container of every type, as the tool sends it in a restore', async (t) => {
  t.equal(el('hash:ip,port', 4, '10.96.0.1,tcp:80', 8), '28000780 0c000180 08000140 0a600001 06000440 00500000 05000700 06000000 08000940 00000008'.replace(/ /g, ''))
  t.equal(el('hash:ip,port', 4, '10.96.0.2,udp:53', 9), '28000780 0c000180 08000140 0a600002 06000440 00350000 05000700 11000000 08000940 00000009'.replace(/ /g, ''))
  t.equal(el('hash:ip,port,ip', 6, 'fd00::1,sctp:80,fd00::2', 10),
    `4c000780 18000180 14000240 ${v6(1)} 06000440 00500000 05000700 84000000 18001480 14000240 ${v6(2)} 08000940 0000000a`.replace(/ /g, ''))
  t.equal(el('hash:ip,port,net', 4, '10.0.0.1,tcp:443,192.168.0.0/16', 11),
    '3c000780 0c000180 08000140 0a000001 06000440 01bb0000 05000700 06000000 0c001480 08000140 c0a80000 05001500 10000000 08000940 0000000b'.replace(/ /g, ''))
  t.equal(el('hash:ip,port,net', 4, '10.0.0.1,tcp:443,192.168.0.1', 11),
    '34000780 0c000180 08000140 0a000001 06000440 01bb0000 05000700 06000000 0c001480 08000140 c0a80001 08000940 0000000b'.replace(/ /g, ''), 'an address as the net part: no CIDR2')
  t.equal(el('hash:net', 6, 'fd00::/64', 12), `2c000780 18000180 14000240 ${'fd00' + '0'.repeat(28)} 05000300 40000000 08000940 0000000c`.replace(/ /g, ''))
  t.equal(el('hash:net', 6, 'fd01::1', 13), `24000780 18000180 14000240 ${v6(1, 'fd01')} 08000940 0000000d`.replace(/ /g, ''))
  t.equal(el('bitmap:port', undefined, '30080', 14), '14000780 06000440 75800000 08000940 0000000e'.replace(/ /g, ''))
  t.equal(el('hash:ip', 4, '1.2.3.4', 15), '18000780 0c000180 08000140 01020304 08000940 0000000f'.replace(/ /g, ''))
  t.equal(el('hash:ip', 4, '1.2.3.4', 0x01020304).slice(-8), '01020304', 'the line in network order')
  t.equal(el('bitmap:port', undefined, '0', 1).slice(16, 20), '0000')
  t.equal(el('bitmap:port', undefined, '65535', 1).slice(16, 20), 'ffff')
})

t.test('adds and deletes: many elements of one set in one ADT message', async (t) => {
  const d1 = S.elementData(S.parseElement('t', 'hash:ip,port', 4, '10.96.0.1,tcp:80'), 8)
  const d2 = S.elementData(S.parseElement('t', 'hash:ip,port', 4, '10.96.0.2,udp:53'), 9)
  const m = cat(S.adtMsg('A', 8, [d1, d2]))
  t.equal(m.toString('hex'), hex(`${HDR} 06000200 41000000 08000940 00000008 54000880`).toString('hex') + d1.toString('hex') + d2.toString('hex'))
  t.equal(16 + m.length, 128, 'the nlmsg_len the tool sent for these two lines')
  t.equal(cat(S.adtMsg('A', 8, [d1], 6)).readUInt8(8), 6, 'the negotiated protocol')
})

t.test('create, for hash types and for bitmap:port', async (t) => {
  t.equal(cat(S.createMsg({ name: 'A', type: 'hash:ip,port', family: 4, revision: 7, maxelem: 262144 })).toString('hex'),
    hex(`${HDR} 06000200 41000000 11000300 ${Buffer.from('hash:ip,port\0').toString('hex')}000000 05000400 07000000 05000500 02000000 0c000780 08001340 00040000`).toString('hex'))
  t.equal(cat(S.createMsg({ name: 'B', type: 'hash:ip,port,ip', family: 6, revision: 6, maxelem: 1048576 })).toString('hex'),
    hex(`${HDR} 06000200 42000000 14000300 ${Buffer.from('hash:ip,port,ip\0').toString('hex')} 05000400 06000000 05000500 0a000000 0c000780 08001340 00100000`).toString('hex'))
  t.equal(cat(S.createMsg({ name: 'E', type: 'bitmap:port', family: undefined, revision: 3, range: [0, 65535] })).toString('hex'),
    hex(`${HDR} 06000200 45000000 10000300 ${Buffer.from('bitmap:port\0').toString('hex')} 05000400 03000000 05000500 00000000 14000780 06000440 00000000 06000540 ffff0000`).toString('hex'))
})

t.test('the other commands', async (t) => {
  t.equal(cat(S.protocolMsg()).toString('hex'), hex(HDR).toString('hex'))
  t.equal(cat(S.typeMsg('hash:ip,port', 4)).toString('hex'), hex(`${HDR} 11000300 ${Buffer.from('hash:ip,port\0').toString('hex')}000000 05000500 02000000`).toString('hex'))
  t.equal(cat(S.typeMsg('bitmap:port', undefined)).toString('hex').slice(-16), '0500050000000000', 'bitmap:port: family unspecified')
  t.equal(cat(S.typeMsg('hash:net', 6)).toString('hex').slice(-16), '050005000a000000')
  t.equal(cat(S.listNamesMsg()).toString('hex'), hex(`${HDR} 08000640 00000002`).toString('hex'), 'LIST with the LIST_SETNAME flag')
  for (const f of [S.flushMsg, S.destroyMsg, S.headerMsg, S.listSetMsg]) t.equal(cat(f('A')).toString('hex'), hex(`${HDR} 06000200 41000000`).toString('hex'))
  t.equal(cat(S.swapMsg('A', 'C')).toString('hex'), hex(`${HDR} 06000200 41000000 06000300 43000000`).toString('hex'))
  t.equal(name('A'), '0600020041000000')
})

t.test('set names: 1-31 bytes of a safe alphabet', async (t) => {
  t.equal(S.checkSetName('t', 'set', 'KUBE6-LOAD-BALANCER-SOURCE-CIDR'), 'KUBE6-LOAD-BALANCER-SOURCE-CIDR')
  t.equal(S.checkSetName('t', 'set', 'a'.repeat(31)), 'a'.repeat(31))
  for (const bad of ['', 'a'.repeat(32), 'A B', 'A\n', 'é', 7, undefined, 'A/B']) t.throws(() => S.checkSetName('t', 'set', bad), { code: 'EINVAL_SET' }, String(bad))
})

t.test('elements refused before anything is sent, naming the element', async (t) => {
  const bad: Array<[S.SetType, S.SetFamily, string, RegExp]> = [
    ['hash:ip', 4, 'fd00::1', /not an IPv4 address/],
    ['hash:ip', 6, '10.0.0.1', /not an IPv6 address/],
    ['hash:ip', 4, '10.0.0.0/24', /valid IP/],
    ['hash:ip', 4, '010.0.0.1', /leading 0/],
    ['hash:ip', 4, '10.0.0.1,tcp:80', /a hash:ip element is IP$/],
    ['hash:ip,port', 4, '10.0.0.1', /IP,proto:port/],
    ['hash:ip,port', 4, '10.0.0.1,icmp:80', /proto tcp, udp or sctp/],
    ['hash:ip,port', 4, '10.0.0.1,80', /proto tcp, udp or sctp/],
    ['hash:ip,port', 4, '10.0.0.1,tcp:65536', /0-65535/],
    ['hash:ip,port', 4, '10.0.0.1,tcp:080', /0-65535/],
    ['hash:ip,port', 4, '10.0.0.1,tcp:', /0-65535/],
    ['hash:ip,port', 4, '10.0.0.1,tcp:8a', /0-65535/],
    ['hash:ip,port', 4, 'fd00::1,tcp:80', /not an IPv4 address/],
    ['hash:ip,port,ip', 4, '10.0.0.1,tcp:80,fd00::1', /not an IPv4 address/],
    ['hash:ip,port,ip', 4, '10.0.0.1,tcp:80', /IP,proto:port,IP/],
    ['hash:ip,port,net', 4, '10.0.0.1,tcp:80,fd00::/64', /not an IPv4 network/],
    ['hash:ip,port,net', 4, '10.0.0.1,tcp:80,10.0.0.0/33', /prefix length/],
    ['hash:net', 4, 'fd00::/64', /not an IPv4 network/],
    ['hash:net', 6, '10.0.0.1', /not an IPv6 address/],
    ['bitmap:port', undefined, 'tcp:80', /0-65535/],
    ['bitmap:port', undefined, '65536', /0-65535/],
    ['bitmap:port', undefined, '', /0-65535/],
  ]
  for (const [type, fam, s, why] of bad) {
    const e = t.throws(() => S.parseElement('ipset.restore', type, fam, s), NetlinkInputError, `${type} ${s}`) as unknown as NetlinkInputError
    t.match(e.reason, why, `${type} ${s}: ${e.reason}`)
    t.equal(e.code, 'EINVAL_ELEMENT')
  }
  const why = (type: S.SetType, fam: S.SetFamily, x: string) => { try { S.parseElement('t', type, fam, x) } catch (e) { return (e as NetlinkInputError).reason } return 'accepted' }
  t.equal(why('hash:ip,port,net', 4, '1.2.3.4'), 'a hash:ip,port,net element is IP,proto:port,CIDR')
  t.equal(why('hash:net', 4, '1.2.3.4,1'), 'a hash:net element is CIDR')
  t.equal(why('bitmap:port', undefined, '1,2'), 'a bitmap:port element is PORT')
  t.equal(why('hash:ip,port,ip', 4, '1'), 'a hash:ip,port,ip element is IP,proto:port,IP')
  t.equal(why('hash:ip,port', 4, '1.2.3.4,:80'), 'expected proto:port with proto tcp, udp or sctp')
  t.equal(why('hash:ip,port', 4, '1.2.3.4,tcp'), 'expected proto:port with proto tcp, udp or sctp')
  t.equal(why('hash:ip,port', 4, '1.2.3.4,tcp:80:1'), 'the port must be a number 0-65535')
  t.same(S.parseElement('t', 'hash:ip,port,ip', 6, 'fd00::1,udp:1,fd00::2').ip2, { family: 6, bytes: Buffer.from('fd000000000000000000000000000002', 'hex') })
  t.same(S.parseElement('t', 'hash:ip,port,net', 6, 'fd00::1,udp:1,fd00::/8'), { ip: { family: 6, bytes: Buffer.from('fd000000000000000000000000000001', 'hex') }, proto: 'udp', port: 1, ip2: { family: 6, bytes: Buffer.from('fd000000000000000000000000000000', 'hex') }, cidr2: 8 })
  t.same(S.parseElement('t', 'hash:ip,port', 4, '10.0.0.1,sctp:0'), { ip: { family: 4, bytes: Buffer.from([10, 0, 0, 1]) }, proto: 'sctp', port: 0 })
  t.same(S.parseElement('t', 'hash:net', 4, '10.1.2.3/8').cidr, 8, 'host bits kept: the kernel masks them, as for the tool')
})

// a list reply as the kernel sends it: header attributes, then ADT of DATA containers
const listReply = (set: string, type: string, family: number, data: Buffer[], first = true) => cat([
  Buffer.from([2, 0, 0, 0]), attr(1, u8(7)), attr(2, str(set)),
  ...(first ? [attr(3, str(type)), attr(5, u8(family)), attr(4, u8(7)), attr(0x400b, u16be(0)), nested(7, [attr(0x4013, u32be(65536))], true)] : []),
  nested(8, data, true),
])
const a4 = (type: number, b: number[]) => nested(type, [attr(1, Buffer.from(b))], true) // replies: IPV4 without the byte-order flag
const a6 = (type: number, b: Buffer) => nested(type, [attr(2, b)], true)

t.test('list replies: header and members, formatted as the tool prints them', async (t) => {
  const m = listReply('A', 'hash:ip,port', 2, [nested(7, [a4(1, [10, 96, 0, 1]), attr(0x4004, u16be(80)), attr(7, u8(6))], true), nested(7, [a4(1, [10, 96, 0, 2]), attr(0x4004, u16be(53)), attr(7, u8(17))], true)])
  t.same(S.decodeHeader(m), { name: 'A', typeName: 'hash:ip,port', type: 'hash:ip,port', family: 4, revision: 7 })
  t.same(S.listedData(m).map((d) => S.formatElement('hash:ip,port', S.decodeElement('hash:ip,port', d)!)), ['10.96.0.1,tcp:80', '10.96.0.2,udp:53'])
  t.equal(S.decodeSetName(m), 'A')
  const cont = listReply('A', '', 0, [], false)
  t.equal(S.decodeHeader(cont), undefined, 'a continuation message has no header')
  t.same(S.listedData(cont), [])
  t.same(S.listedData(cat([Buffer.from([2, 0, 0, 0]), attr(2, str('A'))])), [], 'a names-only reply has no members')

  const fmt = (type: S.SetType, d: Buffer) => { const e = S.decodeElement(type, d); return e ? S.formatElement(type, e) : undefined }
  const f6 = Buffer.from('fd000000000000000000000000000001', 'hex')
  const n6 = Buffer.from('fd000000000000000000000000000000', 'hex')
  t.equal(fmt('hash:ip,port,ip', cat([a6(1, f6), attr(0x4004, u16be(80)), attr(7, u8(132)), a6(20, f6)])), 'fd00::1,sctp:80,fd00::1')
  t.equal(fmt('hash:ip,port,net', cat([a4(1, [10, 0, 0, 1]), attr(0x4004, u16be(443)), attr(7, u8(6)), a4(20, [192, 168, 0, 0]), attr(21, u8(16))])), '10.0.0.1,tcp:443,192.168.0.0/16')
  t.equal(fmt('hash:ip,port,net', cat([a4(1, [10, 0, 0, 1]), attr(0x4004, u16be(443)), attr(7, u8(6)), a4(20, [192, 168, 0, 1]), attr(21, u8(32))])), '10.0.0.1,tcp:443,192.168.0.1', 'a host prefix is left off')
  t.equal(fmt('hash:net', cat([a6(1, n6), attr(3, u8(64))])), 'fd00::/64')
  t.equal(fmt('hash:net', cat([a6(1, f6), attr(3, u8(128))])), 'fd00::1')
  t.equal(fmt('hash:net', a6(1, f6)), 'fd00::1')
  t.equal(fmt('hash:ip', a4(1, [1, 2, 3, 4])), '1.2.3.4')
  t.equal(fmt('bitmap:port', attr(0x4004, u16be(30080))), '30080')
  t.equal(fmt('bitmap:port', Buffer.alloc(0)), undefined)
  t.equal(fmt('hash:ip,port,ip', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1)), attr(7, u8(6)), a4(20, [5, 6, 7, 8]), attr(21, u8(24))])), '1.2.3.4,tcp:1,5.6.7.8', 'hash:ip,port,ip has no CIDR2')
  t.same(S.decodeElement('hash:ip,port,ip', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1)), attr(7, u8(6)), a4(20, [5, 6, 7, 8]), attr(21, u8(24))]))!.cidr2, undefined)
  t.same(S.decodeElement('hash:net', cat([a4(1, [10, 0, 0, 0]), attr(3, u8(8))])), { ip: { family: 4, bytes: Buffer.from([10, 0, 0, 0]) }, cidr: 8 })
  t.same(S.decodeElement('hash:net', a4(1, [10, 0, 0, 1])), { ip: { family: 4, bytes: Buffer.from([10, 0, 0, 1]) } }, 'no CIDR: no cidr key')
  t.equal(S.decodeElement('hash:ip', a6(1, Buffer.alloc(15))), undefined, 'a short IPv6 address')
  t.same(S.decodeElement('hash:ip', a6(1, Buffer.alloc(16)))!.ip!.family, 6)
  t.equal(fmt('hash:ip,port', cat([a4(1, [1, 2, 3, 4]), attr(7, u8(6))])), undefined, 'a protocol but no port')
  t.equal(fmt('hash:ip,port', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1))])), undefined, 'a port but no protocol')
  t.equal(fmt('hash:ip,port', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1)), attr(7, u8(255))])), undefined, 'protocol 255')
  t.equal(fmt('hash:ip', attr(0x4004, u16be(1))), undefined, 'no address')
  t.equal(fmt('hash:ip', a4(1, [1, 2, 3])), undefined, 'a short address')
  t.equal(fmt('hash:ip,port', a4(1, [1, 2, 3, 4])), undefined, 'no port')
  t.equal(fmt('hash:ip,port', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1)), attr(7, u8(1))])), undefined, 'a protocol pontoon does not write')
  t.equal(fmt('hash:ip,port,ip', cat([a4(1, [1, 2, 3, 4]), attr(0x4004, u16be(1)), attr(7, u8(6))])), undefined, 'no second address')
  t.same(S.decodeHeader(listReply('X', 'list:set', 0, [])), { name: 'X', typeName: 'list:set', family: undefined, revision: 7 }, 'an unknown type has no `type`')
  t.equal(S.decodeHeader(listReply('X', 'hash:ip', 7, []))!.family, null, 'an unknown family')
  t.equal(S.decodeHeader(listReply('X', 'bitmap:port', 0, []))!.family, undefined, 'no family')
  t.equal(S.decodeHeader(cat([Buffer.from([2, 0, 0, 0]), attr(3, str('hash:ip'))])), undefined, 'no name')
  t.equal(S.decodeHeader(listReply('X', 'hash:ip', 10, []))!.family, 6)
})

t.test('protocol and type replies', async (t) => {
  const r = (attrs: Buffer[]) => cat([Buffer.from([2, 0, 0, 0]), ...attrs])
  t.same(S.decodeProtocol(r([attr(1, u8(7)), attr(10, u8(6))])), { protocol: 7, min: 6 })
  t.same(S.decodeProtocol(r([attr(1, u8(6))])), { protocol: 6, min: 6 })
  t.equal(S.decodeProtocol(r([])), undefined)
  t.same(S.decodeType(r([attr(1, u8(7)), attr(3, str('hash:ip')), attr(5, u8(2)), attr(4, u8(6)), attr(10, u8(0))])), { revision: 6, revisionMin: 0 })
  t.same(S.decodeType(r([attr(4, u8(3))])), { revision: 3, revisionMin: 3 })
  t.equal(S.decodeType(r([attr(1, u8(7))])), undefined)
})

t.test('the line an error echo blames', async (t) => {
  const req = cat(S.adtMsg('A', 8, [S.elementData(S.parseElement('t', 'hash:ip', 4, '1.2.3.4'), 8)]))
  const hdr = Buffer.alloc(16)
  hdr.writeUInt32LE(16 + req.length, 0)
  const echo = cat([hdr, req])
  t.equal(S.errorLine(echo), 8)
  echo.writeUInt32BE(12345, 16 + 4 + 8 + 8 + 4) // the kernel patches the command-level LINENO
  t.equal(S.errorLine(echo), 12345)
  t.equal(S.errorLine(undefined), undefined)
  t.equal(S.errorLine(Buffer.alloc(19)), undefined)
  t.equal(S.errorLine(Buffer.alloc(20)), undefined, 'headers only')
  const long = Buffer.from(echo)
  long.writeUInt32LE(0xffff, 0)
  t.equal(S.errorLine(long), 12345, 'a length past the buffer is read as far as the buffer goes')
  const short = Buffer.from(echo)
  short.writeUInt32LE(20 + 8, 0)
  t.equal(S.errorLine(short), undefined, 'attributes past the declared length are not read')
  t.equal(S.errorLine(cat([hdr, cat(S.flushMsg('A'))])), undefined, 'a message without a line')
})

t.test('kernel errors in the tool\'s words, by command and set type', async (t) => {
  const d = (errno: number, cmd: number, type?: string) => S.describeError(errno, cmd, type)
  t.same(d(4352, S.CMD_ADD, 'hash:ip'), { code: 'IPSET_ERR_HASH_FULL', message: 'Hash is full, cannot add more elements' })
  t.same(d(4353, S.CMD_ADD, 'hash:ip,port'), { code: 'IPSET_ERR_HASH_ELEM', message: 'Null-valued element, cannot be stored in a hash type of set' })
  t.equal(d(4357, S.CMD_ADD, 'hash:net')!.code, 'IPSET_ERR_HASH_RANGE')
  t.equal(d(4358, S.CMD_ADD, 'hash:net'), undefined)
  t.same(d(4352, S.CMD_ADD, 'bitmap:port'), { code: 'IPSET_ERR_BITMAP_RANGE', message: 'Element is out of the range of the set' })
  t.equal(d(4353, S.CMD_CREATE, 'bitmap:port')!.code, 'IPSET_ERR_BITMAP_RANGE_SIZE')
  t.equal(d(4352, S.CMD_ADD, 'list:set'), undefined)
  t.equal(d(4352, S.CMD_ADD), undefined)
  t.equal(d(4103, S.CMD_ADD)!.message, "Element cannot be added to the set: it's already added")
  t.equal(d(4103, S.CMD_DEL)!.message, "Element cannot be deleted from the set: it's not added")
  t.same(d(4102, S.CMD_SWAP), { code: 'IPSET_ERR_TYPE_MISMATCH', message: 'The sets cannot be swapped: their type does not match' })
  t.same(d(4101, S.CMD_SWAP), { code: 'IPSET_ERR_EXIST_SETNAME2', message: 'Sets cannot be swapped: the second set does not exist' })
  t.equal(d(4100, S.CMD_DESTROY)!.code, 'IPSET_ERR_BUSY')
  t.equal(d(4097, S.CMD_ADD)!.code, 'IPSET_ERR_PROTOCOL')
  t.equal(d(4098, S.CMD_CREATE)!.message, 'Kernel error received: set type not supported')
  t.equal(d(4109, S.CMD_ADD)!.code, 'IPSET_ERR_IPADDR_IPV4')
  t.same(d(4099, S.CMD_CREATE), { code: 'IPSET_ERR_MAX_SETS', message: 'Kernel error received: maximal number of sets reached, cannot create more.' })
  t.same(d(4100, S.CMD_DESTROY), { code: 'IPSET_ERR_BUSY', message: 'Set cannot be destroyed: it is in use by a kernel component' })
  t.same(d(4104, S.CMD_ADD), { code: 'IPSET_ERR_INVALID_CIDR', message: 'The value of the CIDR parameter of the IP address is invalid' })
  t.same(d(4106, S.CMD_CREATE), { code: 'IPSET_ERR_INVALID_FAMILY', message: 'Protocol family not supported by the set type' })
  t.same(d(4108, S.CMD_DESTROY), { code: 'IPSET_ERR_REFERENCED', message: 'Set is in use by another system' })
  t.same(d(4109, S.CMD_ADD), { code: 'IPSET_ERR_IPADDR_IPV4', message: 'An IPv4 address is expected, but not received' })
  t.same(d(4110, S.CMD_ADD), { code: 'IPSET_ERR_IPADDR_IPV6', message: 'An IPv6 address is expected, but not received' })
  t.same(d(4097, S.CMD_ADD), { code: 'IPSET_ERR_PROTOCOL', message: 'Kernel error received: ipset protocol error' })
  t.same(d(4354, S.CMD_ADD, 'hash:ip,port'), { code: 'IPSET_ERR_INVALID_PROTO', message: 'Invalid protocol specified' })
  t.same(d(4355, S.CMD_ADD, 'hash:ip,port'), { code: 'IPSET_ERR_MISSING_PROTO', message: 'Protocol missing, but must be specified' })
  t.same(d(4356, S.CMD_ADD, 'hash:net'), { code: 'IPSET_ERR_HASH_RANGE_UNSUPPORTED', message: 'Range is not supported in the "net" component of the element' })
  t.same(d(4357, S.CMD_ADD, 'hash:net'), { code: 'IPSET_ERR_HASH_RANGE', message: 'Invalid range, covers the whole address space' })
  t.same(d(4353, S.CMD_CREATE, 'bitmap:port'), { code: 'IPSET_ERR_BITMAP_RANGE_SIZE', message: 'The range you specified exceeds the size limit of the set type' })
  t.equal(d(4354, S.CMD_ADD, 'bitmap:port'), undefined)
  t.same(d(4103, S.CMD_TYPE)!.code, 'IPSET_ERR_EXIST')
  t.same(d(2, S.CMD_ADD), { code: 'ENOENT', message: 'The set with the given name does not exist' })
  t.same(d(17, S.CMD_CREATE), { code: 'EEXIST', message: 'Set cannot be created: set with the same name already exists' })
  t.equal(d(17, S.CMD_ADD), undefined)
  t.equal(d(4096, S.CMD_ADD), undefined)
  t.equal(d(12, S.CMD_ADD), undefined)
})

t.test('revisions this code creates sets with', async (t) => {
  t.same(S.MAX_REVISION, { 'hash:ip': 6, 'hash:ip,port': 7, 'hash:ip,port,ip': 6, 'hash:ip,port,net': 8, 'hash:net': 7, 'bitmap:port': 3 })
  t.ok(S.isSetType('hash:ip,port,net'))
  t.notOk(S.isSetType('list:set'))
  t.notOk(S.isSetType('hash:ip,port,'))
})

t.test('fastElementData: the same bytes as the checked path, and no answer for anything it does not take', async (t) => {
  const same: Array<[S.SetType, S.SetFamily, string]> = [
    ['hash:ip', 4, '10.96.0.1'], ['hash:ip', 4, '0.0.0.0'], ['hash:ip', 4, '255.255.255.255'],
    ['hash:ip,port', 4, '10.96.0.10,udp:53'], ['hash:ip,port', 4, '10.96.0.10,tcp:0'], ['hash:ip,port', 4, '10.96.0.10,sctp:65535'],
    ['hash:ip,port,ip', 4, '10.244.1.5,tcp:8080,10.244.1.5'],
    ['bitmap:port', undefined, '30080'], ['bitmap:port', undefined, '0'],
  ]
  for (const [type, family, s] of same) t.equal(S.fastElementData(type, family, s, 77)?.toString('hex'), el(type, family, s, 77), `${type} ${s}`)
  const refused: Array<[S.SetType, S.SetFamily, string]> = [
    ['hash:ip', 4, '10.96.0.01'], ['hash:ip', 4, '10.96.0'], ['hash:ip', 6, 'fd00::1'], ['hash:ip', 4, '10.96.0.1,tcp:80'],
    ['hash:ip,port', 4, '10.96.0.10,udp:053'], ['hash:ip,port', 4, '10.96.0.10,udp:65536'], ['hash:ip,port', 4, '10.96.0.10,icmp:1'],
    ['hash:ip,port', 4, '10.96.0.10,udp'], ['hash:ip,port', 4, '10.96.0.10,udp:53,10.0.0.1'], ['hash:ip,port,ip', 4, '10.244.1.5,tcp:8080'],
    ['hash:ip,port,ip', 4, '10.244.1.5,tcp:8080,10.244.1.5,1.1.1.1'], ['hash:ip,port,ip', 4, '10.244.1.5,tcp:8080,fd00::1'],
    ['hash:ip,port,net', 4, '10.0.0.1,tcp:80,10.0.0.0/8'], ['hash:net', 4, '10.0.0.0/8'], ['bitmap:port', undefined, '-1'], ['bitmap:port', undefined, ''],
  ]
  for (const [type, family, s] of refused) t.equal(S.fastElementData(type, family, s, 1), undefined, `${type} ${s}`)
})
