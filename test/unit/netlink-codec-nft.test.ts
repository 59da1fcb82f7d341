import t from 'tap'
import { parseAttrs } from '../../src/netlink/attrs.ts'
import { batchBegin, batchEnd, elemAttr, getGen, getTable, MAX_ELEMENTS_BYTES, nftType, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM, setElemMsgs } from '../../src/netlink/codec-nft.ts'

const bytes = (m: { payload: Buffer[] }) => Buffer.concat(m.payload)

t.test('the batch pair names the nftables subsystem', async (t) => {
  for (const [m, type] of [[batchBegin(), 0x10], [batchEnd(), 0x11]] as const) {
    t.equal(m.type, type)
    t.equal(m.flags, 0)
    t.equal(bytes(m).toString('hex'), '0000000a', 'nfgenmsg: AF_UNSPEC, v0, res_id NFNL_SUBSYS_NFTABLES (big-endian)')
  }
  t.equal(nftType(NFT_MSG_NEWSETELEM), 0x0a0c)
  t.equal(nftType(NFT_MSG_DELSETELEM), 0x0a0e)
  t.equal(getGen().type, 0x0a10)
  t.equal(bytes(getGen()).toString('hex'), '00000000')
  const gt = getTable('pontoon')
  t.equal(gt.type, 0x0a01)
  t.equal(bytes(gt).toString('hex'), '01000000' + '0c000100' + Buffer.from('pontoon\0').toString('hex'), 'inet family, NFTA_TABLE_NAME')
})

t.test('elemAttr: key, value data, verdict data, all nested', async (t) => {
  t.equal(elemAttr({ key: Buffer.from([10, 0, 0, 1]) }).toString('hex'), '10000180' + '0c000180' + '08000100' + '0a000001', 'LIST_ELEM{ KEY{ VALUE } }')
  t.equal(elemAttr({ key: Buffer.from([1]), data: { kind: 'value', bytes: Buffer.from([2, 0, 0, 0]) } }).toString('hex'),
    '1c000180' + '0c000180' + '05000100' + '01000000' + '0c000280' + '08000100' + '02000000', 'KEY and DATA{ VALUE }, padded')
  const v = elemAttr({ key: Buffer.from([1, 2, 3, 4]), data: { kind: 'verdict', code: 'goto', chain: 'c' } })
  t.equal(v.toString('hex'), '28000180' + '0c000180' + '08000100' + '01020304' + '18000280' + '14000280' + '08000100' + 'fffffffc' + '06000200' + '63000000',
    'DATA{ VERDICT{ CODE -4 (goto) big-endian, CHAIN "c" } }')
  const drop = elemAttr({ key: Buffer.from([1, 2, 3, 4]), data: { kind: 'verdict', code: 'drop' } })
  t.match(drop.toString('hex'), /0800010000000000$/, 'drop is code 0, no chain')
  t.match(elemAttr({ key: Buffer.from([0, 0, 0, 0]), data: { kind: 'verdict', code: 'accept' } }).toString('hex'), /0800010000000001$/, 'accept is 1')
  t.match(elemAttr({ key: Buffer.from([0, 0, 0, 0]), data: { kind: 'verdict', code: 'return' } }).toString('hex'), /08000100fffffffb$/, 'return is -5')
  t.match(elemAttr({ key: Buffer.from([0, 0, 0, 0]), data: { kind: 'verdict', code: 'jump', chain: 'x' } }).toString('hex'), /08000100fffffffd06000200/, 'jump is -3')
})

t.test('setElemMsgs: table, set, elements; split where the u16 length would overflow', async (t) => {
  const one = elemAttr({ key: Buffer.from([10, 0, 0, 1]) })
  const [m] = setElemMsgs('add', 'pontoon', 'cluster-ips-v4', [one])
  t.equal(m!.type, 0x0a0c)
  t.equal(m!.flags, 0x400, 'add: NLM_F_CREATE (no EXCL, as `nft add element`)')
  const a = parseAttrs(bytes(m!).subarray(4))
  t.equal(bytes(m!).subarray(0, 4).toString('hex'), '01000000', 'inet family')
  t.equal(a.get(1)!.toString(), 'pontoon\0')
  t.equal(a.get(2)!.toString(), 'cluster-ips-v4\0')
  t.same(a.get(3), one, 'the element list holds the element')
  const [d] = setElemMsgs('delete', 'pontoon', 's', [one])
  t.equal(d!.type, 0x0a0e)
  t.equal(d!.flags, 0)
  t.same(setElemMsgs('add', 'p', 's', []), [], 'no elements, no message')

  const many = Array.from({ length: 5000 }, (_, i) => elemAttr({ key: Buffer.from([10, 0, i >> 8, i & 255]) }))
  const msgs = setElemMsgs('add', 'p', 's', many)
  t.ok(msgs.length > 1, `${msgs.length} messages`)
  let total = 0
  for (const x of msgs) {
    const list = parseAttrs(bytes(x).subarray(4)).get(3)!
    t.ok(list.length <= MAX_ELEMENTS_BYTES && list.length < 65535, `an element list of ${list.length} bytes fits its u16 length`)
    total += list.length / one.length
  }
  t.equal(total, 5000, 'every element in exactly one message')
})
