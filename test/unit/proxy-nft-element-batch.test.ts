// The nfnetlink element encoder, byte by byte. The expected registers are what
// nft 1.0.6 itself sent for the same elements on this kernel (`nft --debug=netlink`,
// which prints each 32-bit register in host order); the integration test
// proxy-nft-raw.test.ts writes elements with this encoder and reads them back.
import t from 'tap'
import { parseAttrs, getStr } from '../../src/netlink/attrs.ts'
import {
  ElementEncodeError, MAX_LIST_BYTES, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM, encodeChanges, encodeElement, encodeValue,
  parseVerdict, setChanges, valueLength, type ElementLayout,
} from '../../src/proxy/nftables/element-batch.ts'
import { frameBatch, parseAnswers } from '../../src/netlink/nfnl-batch.ts'
import { NetlinkError } from '../../src/netlink/errors.ts'

/** registers as nft --debug=netlink prints them: 32-bit words, host (little-endian) order */
function regs(words: string): Buffer {
  const ws = words.trim().split(/\s+/)
  const b = Buffer.alloc(ws.length * 4)
  ws.forEach((w, i) => b.writeUInt32LE(parseInt(w, 16), i * 4))
  return b
}

const BACKENDS: ElementLayout = { key: ['addr4', 'proto', 'port', 'slot'], data: ['addr4', 'port'] }
const NP6: ElementLayout = { key: ['proto', 'port', 'slot'], data: ['addr6', 'port'] }
const VMAP: ElementLayout = { key: ['addr4', 'proto', 'port'], data: 'verdict' }

t.test('keys and values match what nft sends, register by register', async (t) => {
  // add element inet t bk { 10.96.0.1 . tcp . 80 . 3 : 10.244.1.2 . 8080 }
  t.same(encodeValue('bk', BACKENDS.key, '10.96.0.1 . tcp . 80 . 3'), regs('0100600a 00000006 00005000 00000003'))
  t.same(encodeValue('bk', BACKENDS.data as never, '10.244.1.2 . 8080'), regs('0201f40a 0000901f'))
  // add element inet t np { sctp . 30080 . 258 : fd00::5 . 8443 }
  t.same(encodeValue('np', NP6.key, 'sctp . 30080 . 258'), regs('00000084 00008075 00000102'))
  t.same(encodeValue('np', NP6.data as never, 'fd00::5 . 8443'), regs('000000fd 00000000 00000000 05000000 0000fb20'))
  t.same(encodeValue('vm', VMAP.key, '10.96.0.1 . udp . 53'), regs('0100600a 00000011 00003500'))
  // set hp { type ipv6_addr . ipv6_addr }, set ci { type ipv4_addr }: a lone field is not padded
  t.same(encodeValue('hp', ['addr6', 'addr6'], 'fd00::1 . fd00::1'), regs('000000fd 00000000 00000000 01000000 000000fd 00000000 00000000 01000000'))
  t.same(encodeValue('ci', ['addr4'], '10.96.0.1'), Buffer.from([10, 96, 0, 1]))
  t.same(encodeValue('p', ['port'], '443'), Buffer.from([1, 187]), 'a lone port is its two bytes')
  t.same(encodeValue('p', ['proto'], 'udp'), Buffer.from([17]))
  t.same([valueLength(['addr4']), valueLength(['port']), valueLength(['proto', 'port']), valueLength(['addr6', 'port'])], [4, 2, 8, 20])
  t.same(encodeValue('s', ['slot'], '4294967295'), Buffer.from([255, 255, 255, 255]))
  t.same(encodeValue('s', ['port'], '65535'), Buffer.from([255, 255]))
})

t.test('verdicts: the kernel codes, a chain only for goto and jump', async (t) => {
  t.same(parseVerdict('m', 'goto lb-v4-ip-main-keep-2'), { code: -4, chain: 'lb-v4-ip-main-keep-2' })
  t.same(parseVerdict('m', 'jump sticky-update-v4-tcp-10'), { code: -3, chain: 'sticky-update-v4-tcp-10' })
  t.same(parseVerdict('m', 'return'), { code: -5 })
  t.same(parseVerdict('m', 'drop'), { code: 0 })
  t.same(parseVerdict('m', 'accept'), { code: 1 })
  t.same(parseVerdict('m', 'continue'), { code: -1 })
  for (const bad of ['goto', 'jump', 'goto ', 'goto a b', 'reject', 'toString', '', 'GOTO x', `goto ${'x'.repeat(256)}`]) {
    t.throws(() => parseVerdict('m', bad), { code: 'NFT_ELEMENT' }, JSON.stringify(bad.slice(0, 20)))
  }
  t.ok(parseVerdict('m', `goto ${'x'.repeat(255)}`), 'a name of 255 characters fits')
})

function elementAttrs(b: Buffer) {
  t.equal(b.readUInt16LE(0), b.length, 'the element attribute spans the buffer')
  t.equal(b.readUInt16LE(2), 0x8001, 'NFTA_LIST_ELEM, nested')
  return parseAttrs(b.subarray(4))
}

t.test('an element is LIST_ELEM { KEY { VALUE }, DATA { VALUE | VERDICT { CODE, CHAIN } } }', async (t) => {
  const b = encodeElement('bk', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 3', value: '10.244.1.2 . 8080' }, true)
  t.equal(b.length, 4 + (4 + 4 + 16) + (4 + 4 + 8))
  t.same([...b.subarray(4, 12)], [24, 0, 0x01, 0x80, 20, 0, 1, 0], 'KEY nested, then DATA_VALUE of 16 bytes')
  const a = elementAttrs(b)
  t.same(parseAttrs(a.get(1)!).get(1), regs('0100600a 00000006 00005000 00000003'))
  t.same(parseAttrs(a.get(2)!).get(1), regs('0201f40a 0000901f'))
  t.equal(b.readUInt16LE(30), 0x8002, 'DATA is nested')
  t.equal(b.readUInt16LE(28), 16, 'its length covers its value')

  const g = encodeElement('vm', VMAP, { key: '10.96.0.1 . udp . 53', value: 'goto lb' }, true)
  const data = parseAttrs(elementAttrs(g).get(2)!)
  const v = parseAttrs(data.get(2)!)
  t.equal(v.get(1)!.readInt32BE(0), -4, 'the code is big-endian')
  t.equal(getStr(v.get(2)), 'lb')
  t.equal(v.get(2)!.length, 3, 'the chain name ends in one NUL')
  t.equal(g.length, 4 + 20 + 4 + 4 + 8 + 8)

  const r = encodeElement('vm', VMAP, { key: '10.96.0.2 . tcp . 443', value: 'return' }, true)
  const rv = parseAttrs(parseAttrs(elementAttrs(r).get(2)!).get(2)!)
  t.equal(rv.get(1)!.readInt32BE(0), -5)
  t.notOk(rv.has(2), 'no chain for return')
  t.equal(r.length, 4 + 20 + 16)

  const d = encodeElement('bk', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 3', value: '10.244.1.2 . 8080' }, false)
  t.equal(d.length, 4 + 24, 'a delete carries the key only')
  t.notOk(elementAttrs(d).has(2))
  const s = encodeElement('ci', { key: ['addr4'] }, { key: '10.96.0.1' }, true)
  t.same([...s], [16, 0, 1, 0x80, 12, 0, 1, 0x80, 8, 0, 1, 0, 10, 96, 0, 1])
  const p = encodeElement('p', { key: ['port'] }, { key: '80' }, true)
  t.same([...p], [16, 0, 1, 0x80, 12, 0, 1, 0x80, 6, 0, 1, 0, 0, 80, 0, 0], 'a 2-byte value is padded to 4, and its nest covers the padding')
})

t.test('bad elements are refused with the set and the element named', async (t) => {
  const bad: Array<[string, ElementLayout, { key: string; value?: string }]> = [
    ['not an address', BACKENDS, { key: '10.96.0 . tcp . 80 . 0', value: '10.1.1.1 . 80' }],
    ['v6 in a v4 field', BACKENDS, { key: 'fd00::1 . tcp . 80 . 0', value: '10.1.1.1 . 80' }],
    ['v4 in a v6 field', NP6, { key: 'tcp . 80 . 0', value: '10.1.1.1 . 80' }],
    ['protocol', BACKENDS, { key: '10.96.0.1 . icmp . 80 . 0', value: '10.1.1.1 . 80' }],
    ['port too big', BACKENDS, { key: '10.96.0.1 . tcp . 65536 . 0', value: '10.1.1.1 . 80' }],
    ['port not a number', BACKENDS, { key: '10.96.0.1 . tcp . 8O . 0', value: '10.1.1.1 . 80' }],
    ['negative port', BACKENDS, { key: '10.96.0.1 . tcp . -1 . 0', value: '10.1.1.1 . 80' }],
    ['empty port', BACKENDS, { key: '10.96.0.1 . tcp .  . 0', value: '10.1.1.1 . 80' }],
    ['slot too big', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 4294967296', value: '10.1.1.1 . 80' }],
    ['slot of 11 digits', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 00000000001', value: '10.1.1.1 . 80' }],
    ['too few fields', BACKENDS, { key: '10.96.0.1 . tcp . 80', value: '10.1.1.1 . 80' }],
    ['too many value fields', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 1', value: '10.1.1.1 . 80 . 1' }],
    ['no value for a map', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 1' }],
    ['no verdict for a vmap', VMAP, { key: '10.96.0.1 . tcp . 80' }],
    ['a value for a set', { key: ['addr4'] }, { key: '10.96.0.1', value: 'drop' }],
    ['a bad verdict', VMAP, { key: '10.96.0.1 . tcp . 80', value: 'reject' }],
  ]
  for (const [what, layout, e] of bad) {
    const err = (() => { try { encodeElement('s-x', layout, e, true) } catch (x) { return x } })()
    t.type(err, ElementEncodeError, what)
    t.equal((err as ElementEncodeError).code, 'NFT_ELEMENT')
    t.match((err as Error).message, /^s-x: element "/, `${what}: names the set`)
    t.equal((err as ElementEncodeError).set, 's-x')
  }
  t.match(String((() => { try { encodeValue('s', ['port'], '70000') } catch (x) { return x } })()), /70000 is not a port/)
  t.match(String((() => { try { encodeValue('s', ['slot'], 'x') } catch (x) { return x } })()), /x is not a slot number/)
  t.match(String((() => { try { encodeValue('s', ['proto'], 'gre') } catch (x) { return x } })()), /gre is not tcp, udp or sctp/)
  t.match(String((() => { try { encodeValue('s', ['addr4'], 'fd00::1') } catch (x) { return x } })()), /fd00::1 is not an IPv4 address/)
  t.match(String((() => { try { encodeValue('s', ['addr6'], '10.0.0.1') } catch (x) { return x } })()), /10.0.0.1 is not an IPv6 address/)
  t.match(String((() => { try { encodeValue('s', ['addr4', 'port'], '10.0.0.1') } catch (x) { return x } })()), /1 fields, the set has 2/)
  // deletes carry no value, so a value-less element of a map is fine there
  t.ok(encodeElement('bk', BACKENDS, { key: '10.96.0.1 . tcp . 80 . 1' }, false))
})

function list(payload: Buffer) {
  t.same([...payload.subarray(0, 4)], [1, 0, 0, 0], 'nfgenmsg: NFPROTO_INET, version 0, res_id 0')
  return parseAttrs(payload.subarray(4))
}

t.test('messages: table and set named, flushes, then deletes, then adds; adds create', async (t) => {
  const msgs = encodeChanges({ family: 1, table: 'pontoon' }, [
    { set: 'a', layout: { key: ['addr4'] }, add: [{ key: '10.0.0.1' }], delete: [{ key: '10.0.0.2' }] },
    { set: 'b', layout: VMAP, flush: true, add: [{ key: '10.96.0.1 . tcp . 80', value: 'drop' }] },
    { set: 'c', layout: { key: ['addr4'] }, flush: true },
    { set: 'd', layout: { key: ['addr4'] }, add: [], delete: [] },
  ])
  t.same(msgs.map((m) => [m.set, m.type & 0xff, m.type >> 8, m.flags]), [
    ['b', NFT_MSG_DELSETELEM, 10, 0], ['c', NFT_MSG_DELSETELEM, 10, 0],
    ['a', NFT_MSG_DELSETELEM, 10, 0],
    ['a', NFT_MSG_NEWSETELEM, 10, 0x400], ['b', NFT_MSG_NEWSETELEM, 10, 0x400],
  ])
  const flush = list(msgs[0]!.payload)
  t.same([getStr(flush.get(1)), getStr(flush.get(2)), flush.has(3)], ['pontoon', 'b', false], 'a flush is a delete without elements')
  const del = list(msgs[2]!.payload)
  t.same([getStr(del.get(1)), getStr(del.get(2))], ['pontoon', 'a'])
  const elems = parseAttrs(del.get(3)!).all(1)
  t.equal(elems.length, 1)
  t.same(parseAttrs(parseAttrs(elems[0]!).get(1)!).get(1), Buffer.from([10, 0, 0, 2]))
  t.equal(msgs[2]!.payload.readUInt16LE(4 + 12 + 8 + 2), 0x8003, 'ELEMENTS is nested')
  const add = list(msgs[4]!.payload)
  t.equal(parseAttrs(add.get(3)!).all(1).length, 1)
  t.same(encodeChanges({ family: 10, table: 'x' }, [{ set: 's', layout: { key: ['addr4'] }, add: [{ key: '1.2.3.4' }] }])[0]!.payload[0], 10, 'the family goes into nfgenmsg')
})

t.test('a long list is cut into messages whose element list fits a 16-bit length', async (t) => {
  const n = 5000
  const add = Array.from({ length: n }, (_, i) => ({ key: `10.96.${i >> 8}.${i & 255} . tcp . 80 . ${i % 10}`, value: `10.244.${i >> 8}.${i & 255} . 8080` }))
  const msgs = encodeChanges({ family: 1, table: 'pontoon' }, [{ set: 'bk', layout: BACKENDS, add }])
  t.ok(msgs.length > 1, `${msgs.length} messages`)
  let seen = 0
  const keys: string[] = []
  for (const m of msgs) {
    const a = list(m.payload)
    const l = a.get(3)!
    t.ok(l.length <= MAX_LIST_BYTES, 'fits')
    const elems = parseAttrs(l).all(1)
    seen += elems.length
    for (const e of elems) keys.push(parseAttrs(parseAttrs(e).get(1)!).get(1)!.toString('hex'))
  }
  t.equal(seen, n, 'every element once')
  t.same(keys, add.map((e) => encodeValue('bk', BACKENDS.key, e.key).toString('hex')), 'in order')
  const per = 4 + 24 + 16
  t.equal(parseAttrs(list(msgs[0]!.payload).get(3)!).all(1).length, Math.floor(MAX_LIST_BYTES / per), 'each message as full as it can be')
})

t.test('setChanges groups by set in first-seen order and needs a layout for each', async (t) => {
  const layouts = new Map<string, ElementLayout>([['a', { key: ['addr4'] }], ['b', { key: ['addr4'] }]])
  const c = setChanges(layouts, { flush: ['b'], delete: [{ set: 'a', key: '1.1.1.1' }], add: [{ set: 'b', key: '2.2.2.2' }, { set: 'a', key: '3.3.3.3' }] })
  t.same(c.map((x) => [x.set, x.flush, (x.delete ?? []).map((e) => e.key), (x.add ?? []).map((e) => e.key)]), [['b', true, [], ['2.2.2.2']], ['a', false, ['1.1.1.1'], ['3.3.3.3']]])
  t.equal(c[0]!.layout, layouts.get('b'))
  t.same(setChanges(layouts, {}), [])
  t.throws(() => setChanges(layouts, { add: [{ set: 'zz', key: '1.1.1.1' }] }), { code: 'NFT_ELEMENT', message: /zz: .*no element layout/ })
})

t.test('the batch frame: BEGIN and END around the messages, each asking for an ack', async (t) => {
  const { buf, seqs } = frameBatch([{ type: 0x0a0c, flags: 0x400, payload: Buffer.from([1, 0, 0, 0]) }, { type: 0x0a0e, flags: 0, payload: Buffer.from([1, 0, 0, 0, 9, 9, 9, 9]) }], 100)
  t.same(seqs, [101, 102])
  const at = [0, 20, 40, 64]
  t.equal(buf.length, 84)
  t.same(at.map((o) => buf.readUInt32LE(o)), [20, 20, 24, 20], 'lengths')
  t.same(at.map((o) => buf.readUInt16LE(o + 4)), [0x10, 0x0a0c, 0x0a0e, 0x11], 'types')
  t.same(at.map((o) => buf.readUInt16LE(o + 6)), [1, 0x405, 5, 1], 'flags: REQUEST everywhere, ACK on the messages')
  t.same(at.map((o) => buf.readUInt32LE(o + 8)), [100, 101, 102, 103], 'sequence numbers')
  t.same([...buf.subarray(16, 20)], [0, 0, 0, 10], 'BEGIN: AF_UNSPEC, res_id = NFNL_SUBSYS_NFTABLES big-endian')
  t.same([...buf.subarray(80, 84)], [0, 0, 0, 10])
  t.equal(frameBatch([], 0xffffffff).buf.readUInt32LE(20 + 8), 0, 'sequence numbers wrap')
})

t.test('answers: acks, errnos and the kernel message by sequence number', async (t) => {
  const ans = (seq: number, errno: number, msg?: string) => {
    const tlv = msg === undefined ? Buffer.alloc(0) : (() => {
      const s = Buffer.from(msg + '\0')
      const b = Buffer.alloc(4 + ((s.length + 3) & ~3))
      b.writeUInt16LE(4 + s.length, 0)
      b.writeUInt16LE(1, 2)
      s.copy(b, 4)
      return b
    })()
    const b = Buffer.alloc(36 + tlv.length)
    b.writeUInt32LE(b.length, 0)
    b.writeUInt16LE(2, 4)
    b.writeUInt16LE(msg === undefined ? 0x100 : 0x300, 6)
    b.writeUInt32LE(seq, 8)
    b.writeInt32LE(-errno, 16)
    tlv.copy(b, 36)
    return b
  }
  const other = Buffer.alloc(20)
  other.writeUInt32LE(20, 0)
  other.writeUInt16LE(3, 4)
  other.writeUInt32LE(9, 8)
  const into = new Map<number, NetlinkError | null>()
  parseAnswers(Buffer.concat([ans(5, 0), ans(6, 17), other, ans(7, 22, 'bad key')]), 'op', into)
  t.same([...into.keys()], [5, 6, 7], 'only NLMSG_ERROR answers count')
  t.equal(into.get(5), null)
  t.equal(into.get(6)!.code, 'EEXIST')
  t.equal(into.get(7)!.code, 'EINVAL')
  t.match(into.get(7)!.message, /bad key/)
  const cut = ans(8, 1)
  parseAnswers(cut.subarray(0, 30), 'op', into)
  t.notOk(into.has(8), 'a truncated answer is not read')
})
