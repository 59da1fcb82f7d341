// The answer cache on its own and in front of respond(): a hit is the stored
// reply with the asker's ID, keys are the bytes after the ID per transport (so
// EDNS sizes and flags differ), a new snapshot object empties it, and both
// bounds hold (oldest stored goes first).
import t from 'tap'
import * as packet from 'dns-packet'
import { AnswerCache, DEFAULT_ANSWER_CACHE_LIMITS } from '../../src/dns/answer-cache.ts'
import { buildSnapshot } from '../../src/cluster/snapshot.ts'
import type { DnsEndpointSlice, DnsService } from '../../src/dns/model.ts'
import { normalizeDnsService } from '../../src/dns/normalize.ts'
import { respond } from '../../src/dns/respond.ts'

const q = (id: number, name: string, extra: Partial<packet.Packet> = {}) =>
  packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }], ...extra })
const edns = (udpPayloadSize: number) => ({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize, ednsVersion: 0, extendedRcode: 0, flags: 0, flag_do: false, options: [] } as packet.OptAnswer] })
/** a stand-in reply: 12+ bytes, the query's ID first, a marker byte last */
const fakeReply = (query: Buffer, marker: number, len = 20) => { const b = Buffer.alloc(len, marker); query.copy(b, 0, 0, 2); return b }
const big = { maxEntries: 1000, maxBytes: 1 << 20, maxQueryBytes: 512 }

t.test('a miss, then a hit: the stored bytes with the asker\'s ID, in a fresh buffer', async (t) => {
  const c = new AnswerCache<string>(big)
  const snap = {}
  const a = q(0x1111, 'web.default.svc.cluster.local')
  t.equal(c.get(a, 'udp', snap), undefined, 'empty: a miss')
  const reply = fakeReply(a, 0xab)
  c.set(a, 'udp', snap, reply, 'meta-1')
  t.equal(c.size, 1)
  const b = q(0xbeef, 'web.default.svc.cluster.local')
  const hit = c.get(b, 'udp', snap)!
  t.ok(hit, 'the same question under another ID: a hit')
  t.equal(hit.meta, 'meta-1')
  t.equal(hit.bytes.readUInt16BE(0), 0xbeef, 'the asker\'s ID')
  t.same(hit.bytes.subarray(2), reply.subarray(2), 'the rest as stored')
  t.equal(hit.bytes.length, reply.length)
  t.not(hit.bytes, reply, 'a copy, not the stored buffer')
  t.equal(reply.readUInt16BE(0), 0x1111, 'the stored reply keeps its own ID')
  hit.bytes[5] = 0
  t.equal(c.get(b, 'udp', snap)!.bytes[5], 0xab, 'changing a hit changes nothing stored')
  const lowByte = q(0x11ee, 'web.default.svc.cluster.local')
  t.equal(c.get(lowByte, 'udp', snap)!.bytes.readUInt16BE(0), 0x11ee, 'both ID bytes are written')
  const highByte = q(0xee11, 'web.default.svc.cluster.local')
  t.equal(c.get(highByte, 'udp', snap)!.bytes.readUInt16BE(0), 0xee11)
})

t.test('keys: every byte after the ID counts, and the transport', async (t) => {
  const c = new AnswerCache<number>(big)
  const snap = {}
  const base = q(1, 'web.default.svc.cluster.local')
  c.set(base, 'udp', snap, fakeReply(base, 1), 1)
  t.equal(c.get(base, 'tcp', snap), undefined, 'the same bytes over TCP: another key')
  t.equal(c.get(q(1, 'web.default.svc.cluster.locam'), 'udp', snap), undefined, 'the last byte of the name')
  t.equal(c.get(q(1, 'Web.default.svc.cluster.local'), 'udp', snap), undefined, 'case: the reply echoes the question as asked')
  t.equal(c.get(q(1, 'web.default.svc.cluster.local', edns(1232)), 'udp', snap), undefined, 'with EDNS')
  const e1 = q(1, 'web.default.svc.cluster.local', edns(1232))
  c.set(e1, 'udp', snap, fakeReply(e1, 2), 2)
  t.equal(c.get(q(1, 'web.default.svc.cluster.local', edns(4096)), 'udp', snap), undefined, 'another EDNS payload size: another limit')
  t.equal(c.get(q(9, 'web.default.svc.cluster.local', edns(1232)), 'udp', snap)!.meta, 2)
  const noRd = packet.encode({ id: 1, type: 'query', flags: 0, questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }] })
  t.equal(c.get(noRd, 'udp', snap), undefined, 'another flags byte (RD is echoed)')
  const tail = Buffer.from(base)
  tail[tail.length - 1] = 0xff
  t.equal(c.get(tail, 'udp', snap), undefined, 'the very last byte')
  const third = Buffer.from(base)
  third[2] = third[2]! ^ 0x01
  t.equal(c.get(third, 'udp', snap), undefined, 'the first byte after the ID')
  c.set(base, 'tcp', snap, fakeReply(base, 3), 3)
  t.equal(c.get(base, 'tcp', snap)!.meta, 3, 'TCP keeps its own')
  t.equal(c.get(base, 'udp', snap)!.meta, 1, 'and UDP its own')
})

t.test('a new snapshot object empties the cache; the same one keeps it', async (t) => {
  const c = new AnswerCache<number>(big)
  const s1 = {}
  const a = q(1, 'web.default.svc.cluster.local')
  c.set(a, 'udp', s1, fakeReply(a, 1), 1)
  t.ok(c.get(a, 'udp', s1), 'same snapshot: a hit')
  const s2 = {}
  t.equal(c.get(a, 'udp', s2), undefined, 'an equal-looking but new snapshot: a miss')
  t.equal(c.size, 0, 'and everything went')
  t.equal(c.bytes, 0)
  t.equal(c.get(a, 'udp', s1), undefined, 'back to the old one: still gone (never served across snapshots)')
  c.set(a, 'udp', s1, fakeReply(a, 1), 1)
  c.set(a, 'udp', s2, fakeReply(a, 2), 2)
  t.equal(c.size, 1, 'a set under a new snapshot drops the old entries too')
  t.equal(c.get(a, 'udp', s2)!.meta, 2)
})

t.test('bounds: entries and bytes, the oldest stored going first', async (t) => {
  const names = Array.from({ length: 5 }, (_, i) => q(i, `svc-${i}.default.svc.cluster.local`))
  const snap = {}
  const byCount = new AnswerCache<number>({ maxEntries: 3, maxBytes: 1 << 20, maxQueryBytes: 512 })
  names.forEach((n, i) => byCount.set(n, 'udp', snap, fakeReply(n, i), i))
  t.equal(byCount.size, 3, 'never past maxEntries')
  t.same(names.map((n) => byCount.get(n, 'udp', snap)?.meta), [undefined, undefined, 2, 3, 4], 'the first two stored went')
  const keyLen = names[0]!.length - 2 + 1
  const cost = keyLen + 20
  const byBytes = new AnswerCache<number>({ maxEntries: 100, maxBytes: cost * 2, maxQueryBytes: 512 })
  names.forEach((n, i) => byBytes.set(n, 'udp', snap, fakeReply(n, i), i))
  t.equal(byBytes.bytes, cost * 2, 'bytes counted as key plus reply')
  t.same(names.map((n) => byBytes.get(n, 'udp', snap)?.meta), [undefined, undefined, undefined, 3, 4], 'two fit exactly')
  const exact = new AnswerCache<number>({ maxEntries: 100, maxBytes: cost * 2 + 1, maxQueryBytes: 512 })
  names.forEach((n, i) => exact.set(n, 'udp', snap, fakeReply(n, i), i))
  t.equal(exact.size, 2, 'one byte short of a third: still two')
  const tooBig = new AnswerCache<number>({ maxEntries: 100, maxBytes: cost - 1, maxQueryBytes: 512 })
  tooBig.set(names[0]!, 'udp', snap, fakeReply(names[0]!, 0), 0)
  t.equal(tooBig.size, 0, 'an entry bigger than the whole budget is not stored')
  const fits = new AnswerCache<number>({ maxEntries: 100, maxBytes: cost, maxQueryBytes: 512 })
  fits.set(names[0]!, 'udp', snap, fakeReply(names[0]!, 0), 0)
  t.equal(fits.size, 1, 'one that is the whole budget is')
  const none = new AnswerCache<number>({ maxEntries: 0, maxBytes: 1 << 20, maxQueryBytes: 512 })
  none.set(names[0]!, 'udp', snap, fakeReply(names[0]!, 0), 0)
  t.equal(none.size, 0, 'maxEntries 0: off')
  const one = new AnswerCache<number>({ maxEntries: 1, maxBytes: 1 << 20, maxQueryBytes: 512 })
  names.forEach((n, i) => one.set(n, 'udp', snap, fakeReply(n, i), i))
  t.same(names.map((n) => one.get(n, 'udp', snap)?.meta), [undefined, undefined, undefined, undefined, 4], 'maxEntries 1: the newest')
})

t.test('storing the same key again replaces it and counts its bytes once', async (t) => {
  const c = new AnswerCache<number>({ maxEntries: 3, maxBytes: 1 << 20, maxQueryBytes: 512 })
  const snap = {}
  const [a, b, d, e] = ['a', 'b', 'd', 'e'].map((n, i) => q(i, `${n}.default.svc.cluster.local`)) as [Buffer, Buffer, Buffer, Buffer]
  c.set(a, 'udp', snap, fakeReply(a, 1, 30), 1)
  c.set(b, 'udp', snap, fakeReply(b, 2), 2)
  const before = c.bytes
  c.set(a, 'udp', snap, fakeReply(a, 3, 20), 3)
  t.equal(c.size, 2, 'still two entries')
  t.equal(c.bytes, before - 10, 'the old reply\'s bytes given back')
  t.equal(c.get(a, 'udp', snap)!.meta, 3)
  t.equal(c.get(b, 'udp', snap)!.meta, 2, 'the other one stays')
  c.set(d, 'udp', snap, fakeReply(d, 4), 4)
  c.set(e, 'udp', snap, fakeReply(e, 5), 5)
  t.same([a, b, d, e].map((x) => c.get(x, 'udp', snap)?.meta), [3, undefined, 4, 5], 'a replaced entry counts as newest: b was the oldest')
})

t.test('what is never stored: short messages, long queries, short replies', async (t) => {
  const c = new AnswerCache<number>({ maxEntries: 10, maxBytes: 1 << 20, maxQueryBytes: 100 })
  const snap = {}
  const short = Buffer.alloc(11, 1)
  c.set(short, 'udp', snap, Buffer.alloc(12), 1)
  t.equal(c.size, 0, 'under a header')
  t.equal(c.get(short, 'udp', snap), undefined)
  const header = Buffer.alloc(12, 1)
  c.set(header, 'udp', snap, Buffer.alloc(12), 1)
  t.equal(c.size, 1, 'exactly a header is')
  const sameHeader = Buffer.alloc(12, 1)
  sameHeader.writeUInt16BE(0x0202, 0)
  t.equal(c.get(sameHeader, 'udp', snap)!.bytes.readUInt16BE(0), 0x0202, 'and found again')
  const long = Buffer.concat([header, Buffer.alloc(88)])
  c.set(long, 'udp', snap, Buffer.alloc(12), 2)
  t.equal(c.size, 2, 'maxQueryBytes exactly is')
  const longer = Buffer.concat([header, Buffer.alloc(89)])
  c.set(longer, 'udp', snap, Buffer.alloc(12), 3)
  t.equal(c.size, 2, 'past maxQueryBytes is not')
  c.set(q(1, 'x.cluster.local'), 'udp', snap, Buffer.alloc(11), 4)
  t.equal(c.size, 2, 'a reply under a header is not')
  t.ok(DEFAULT_ANSWER_CACHE_LIMITS.maxEntries >= 10_000, 'the default holds a 10k-Service zone')
  t.ok(DEFAULT_ANSWER_CACHE_LIMITS.maxBytes >= 10_000 * 256, 'in entries and in bytes (10k answers of 256 bytes)')
  t.ok(DEFAULT_ANSWER_CACHE_LIMITS.maxBytes <= 32 * 1024 * 1024, 'and stays well inside issue 12\'s 60 MB')
  t.ok(DEFAULT_ANSWER_CACHE_LIMITS.maxQueryBytes >= 300, 'a query with EDNS options still fits')
})

t.test('in front of respond(): a hit equals what respond() gives the new ID', async (t) => {
  const ok = (n: { value?: DnsService }) => n.value!
  const cfg = { domain: 'cluster.local', ttl: 5, serial: 1 }
  const snap = buildSnapshot<DnsService, DnsEndpointSlice>([['default/web', ok(normalizeDnsService({ metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.96.0.20' } }) as { value: DnsService })]], [], [])
  const c = new AnswerCache<string>(big)
  for (const [name, transport, extra] of [['web.default.svc.cluster.local', 'udp', {}], ['nope.default.svc.cluster.local', 'udp', {}], ['web.default.svc.cluster.local', 'tcp', edns(4096)]] as const) {
    const first = q(7, name, extra)
    const d = respond(first, transport, snap, cfg)
    if (d.kind !== 'reply') throw new Error(d.kind)
    c.set(first, transport, snap, d.bytes, d.rcode)
    const again = q(0x9876, name, extra)
    const fresh = respond(again, transport, snap, cfg)
    if (fresh.kind !== 'reply') throw new Error(fresh.kind)
    const hit = c.get(again, transport, snap)!
    t.same(hit.bytes, fresh.bytes, `${name} over ${transport}: byte for byte`)
    t.equal(hit.meta, fresh.rcode)
  }
})
