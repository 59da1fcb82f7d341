// The wire decisions, on bytes as a client sends them: answers, FORMERR for
// what does not parse, NOTIMP, silence for responses and short messages, EDNS0
// payload sizes and BADVERS, truncation to the UDP limit, and outside names.
import t from 'tap'
import * as packet from 'dns-packet'
import { buildSnapshot } from '../../src/cluster/snapshot.ts'
import type { DnsEndpointSlice, DnsService } from '../../src/dns/model.ts'
import { normalizeDnsEndpointSlice, normalizeDnsService } from '../../src/dns/normalize.ts'
import type { ZoneConfig } from '../../src/dns/records.ts'
import { outsideFailure, rcodeOf, respond, SERVER_UDP_PAYLOAD, type Decision } from '../../src/dns/respond.ts'

const cfg: ZoneConfig = { domain: 'cluster.local', ttl: 5, serial: 1 }
const ok = <T>(n: { kind: string; value?: T }) => n.value as T
const web = ok<DnsService>(normalizeDnsService({ metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.96.0.20' } }))
const big = ok<DnsService>(normalizeDnsService({ metadata: { namespace: 'default', name: 'big' }, spec: { clusterIP: 'None' } }))
const bigSlice = ok<DnsEndpointSlice>(normalizeDnsEndpointSlice({
  metadata: { namespace: 'default', name: 'big-1', labels: { 'kubernetes.io/service-name': 'big' } },
  addressType: 'IPv4',
  endpoints: Array.from({ length: 100 }, (_, i) => ({ addresses: [`10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`] })),
}))
const snap = buildSnapshot<DnsService, DnsEndpointSlice>([['default/web', web], ['default/big', big]], [bigSlice], [])

const query = (name: string, type = 'A', extra: Partial<packet.Packet> = {}) =>
  packet.encode({ id: 0x1234, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra })
const edns = (udpPayloadSize: number, ednsVersion = 0) => ({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize, ednsVersion, extendedRcode: 0, flags: 0, flag_do: false, options: [] } as packet.OptAnswer] })

function replied(d: Decision) {
  if (d.kind !== 'reply') throw new Error(`expected a reply, got ${d.kind}`)
  return { ...d, msg: packet.decode(d.bytes) }
}

t.test('an answer: ID, question and RD echoed, AA set, no EDNS unless asked', async (t) => {
  const r = replied(respond(query('web.default.svc.cluster.local'), 'udp', snap, cfg))
  t.same([r.rcode, r.qtype, r.truncated], ['NOERROR', 'A', false])
  t.equal(r.msg.id, 0x1234)
  t.equal(r.msg.type, 'response')
  t.same(r.msg.questions, [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }])
  t.same(r.msg.answers?.map((a) => (a as { data?: unknown }).data), ['10.96.0.20'])
  t.equal(r.msg.flag_aa, true)
  t.equal(r.msg.flag_rd, true)
  t.equal(r.msg.flag_tc, false)
  t.same(r.msg.additionals, [])
  const nx = replied(respond(query('nope.default.svc.cluster.local'), 'udp', snap, cfg))
  t.same([nx.rcode, (nx.msg as { rcode?: string }).rcode, nx.msg.authorities?.map((a) => a.type)], ['NXDOMAIN', 'NXDOMAIN', ['SOA']])
  const noRd = replied(respond(packet.encode({ id: 1, type: 'query', flags: 0, questions: [{ name: 'web.default.svc.cluster.local', type: 'A' }] }), 'udp', snap, cfg))
  t.equal(noRd.msg.flag_rd, false)
})

t.test('EDNS0: answered with an OPT of our size; BADVERS for version 1', async (t) => {
  const r = replied(respond(query('web.default.svc.cluster.local', 'A', edns(4096)), 'udp', snap, cfg))
  const opt = r.msg.additionals?.find((a) => a.type === 'OPT') as packet.OptAnswer
  t.equal(opt.udpPayloadSize, SERVER_UDP_PAYLOAD)
  t.equal(opt.ednsVersion, 0)
  const bad = replied(respond(query('web.default.svc.cluster.local', 'A', edns(4096, 1)), 'udp', snap, cfg))
  t.equal(bad.rcode, 'BADVERS')
  t.same(bad.msg.answers, [])
  const badOpt = bad.msg.additionals?.find((a) => a.type === 'OPT') as packet.OptAnswer
  t.equal(badOpt.extendedRcode, 1, 'BADVERS is 16: 1 in the OPT\'s upper bits')
  t.equal(bad.bytes[3]! & 0xf, 0, 'and 0 in the header')
  const two = query('web.default.svc.cluster.local', 'A', { additionals: [...edns(4096).additionals, ...edns(512).additionals] })
  t.equal(replied(respond(two, 'udp', snap, cfg)).rcode, 'FORMERR', 'two OPT records')
  // dns-packet will not encode a non-root OPT: splice the owner name "x" in for the root byte (11 bytes from the end)
  const rooted = query('web.default.svc.cluster.local', 'A', edns(4096))
  const at = rooted.length - 11
  const named = Buffer.concat([rooted.subarray(0, at), Buffer.from([1, 0x78, 0]), rooted.subarray(at + 1)])
  t.equal(replied(respond(named, 'udp', snap, cfg)).rcode, 'FORMERR', 'an OPT not at the root')
})

t.test('truncation: over the UDP limit -> TC and no records; the same query over TCP is whole', async (t) => {
  const q = query('big.default.svc.cluster.local')
  const udp = replied(respond(q, 'udp', snap, cfg))
  t.equal(udp.truncated, true)
  t.equal(udp.msg.flag_tc, true)
  t.same(udp.msg.answers, [])
  t.ok(udp.bytes.length <= 512)
  const tcp = replied(respond(q, 'tcp', snap, cfg))
  t.equal(tcp.truncated, false)
  t.equal(tcp.msg.answers?.length, 100)
  const e = replied(respond(query('big.default.svc.cluster.local', 'A', edns(4096)), 'udp', snap, cfg))
  t.equal(e.truncated, true, '100 A records pass 1232 bytes too')
  t.ok(e.bytes.length <= SERVER_UDP_PAYLOAD)
  const small = bigSlice.endpoints.slice(0, 20)
  const mid = buildSnapshot<DnsService, DnsEndpointSlice>([['default/big', big]], [{ ...bigSlice, endpoints: small }], [])
  const fits = replied(respond(query('big.default.svc.cluster.local', 'A', edns(1232)), 'udp', mid, cfg))
  t.same([fits.truncated, fits.msg.answers?.length], [false, 20], '20 records: > 512 bytes, fit in the EDNS size')
  t.ok(fits.bytes.length > 512)
  const classic = replied(respond(query('big.default.svc.cluster.local'), 'udp', mid, cfg))
  t.equal(classic.truncated, true, 'the same without EDNS: 512')
  const tiny = replied(respond(query('big.default.svc.cluster.local', 'A', edns(100)), 'udp', mid, cfg))
  t.equal(tiny.truncated, true, 'a payload size under 512 counts as 512')
  const exactly = replied(respond(query('big.default.svc.cluster.local', 'A', edns(fits.bytes.length)), 'udp', mid, cfg))
  t.equal(exactly.truncated, false, 'a reply exactly at the limit fits')
})

t.test('bad input: FORMERR with the ID, silence when there is no header or it is a response, NOTIMP for other opcodes', async (t) => {
  t.same(respond(Buffer.alloc(11), 'udp', snap, cfg), { kind: 'drop', reason: 'shorter than a DNS header' })
  const resp = Buffer.from(query('web.default.svc.cluster.local'))
  resp[2] = resp[2]! | 0x80
  t.same(respond(resp, 'udp', snap, cfg), { kind: 'drop', reason: 'a response, not a query' })
  const cut = query('web.default.svc.cluster.local').subarray(0, 20)
  const f = replied(respond(cut, 'udp', snap, cfg))
  t.same([f.rcode, f.msg.id, f.msg.type, (f.msg as { rcode?: string }).rcode, f.msg.flag_rd, f.bytes.length], ['FORMERR', 0x1234, 'response', 'FORMERR', true, 12])
  const none = Buffer.alloc(12)
  none.writeUInt16BE(7, 0)
  t.equal(replied(respond(none, 'udp', snap, cfg)).rcode, 'FORMERR', 'no question')
  const two = packet.encode({ id: 2, type: 'query', questions: [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }] })
  t.equal(replied(respond(two, 'udp', snap, cfg)).rcode, 'FORMERR', 'two questions')
  const notify = Buffer.from(query('web.default.svc.cluster.local'))
  notify[2] = (notify[2]! & 0x87) | (4 << 3)
  const n = replied(respond(notify, 'udp', snap, cfg))
  t.same([n.rcode, (n.msg as { opcode?: string }).opcode], ['NOTIMP', 'NOTIFY'])
  const chaos = packet.encode({ id: 3, type: 'query', questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] })
  t.equal(replied(respond(chaos, 'udp', snap, cfg)).rcode, 'REFUSED', 'class CHAOS')
  const anyClass = packet.encode({ id: 3, type: 'query', questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'ANY' }] })
  t.equal(replied(respond(anyClass, 'udp', snap, cfg)).rcode, 'NOERROR')
})

t.test('outside the zone: handed back with the client limit; REFUSED / SERVFAIL replies; rcodes of upstream replies', async (t) => {
  const d = respond(query('example.com', 'A', edns(1400)), 'udp', snap, cfg)
  t.equal(d.kind, 'outside')
  if (d.kind !== 'outside') return
  t.same([d.qtype, d.limit], ['A', 1232])
  const r = outsideFailure(d, 'REFUSED')
  const msg = packet.decode(r.bytes)
  t.same([r.rcode, (msg as { rcode?: string }).rcode, msg.flag_aa, msg.id], ['REFUSED', 'REFUSED', false, 0x1234])
  t.equal(outsideFailure(d, 'SERVFAIL').rcode, 'SERVFAIL')
  const tcp = respond(query('example.com'), 'tcp', snap, cfg)
  t.equal(tcp.kind === 'outside' && tcp.limit, 65535)
  const plain = respond(query('example.com'), 'udp', snap, cfg)
  t.equal(plain.kind === 'outside' && plain.limit, 512)
  t.equal(rcodeOf(r.bytes), 'REFUSED')
  t.equal(rcodeOf(Buffer.from([0, 0, 0x81, 0x83])), 'NXDOMAIN')
  t.equal(rcodeOf(Buffer.from([0, 0, 0x81, 0x80])), 'NOERROR')
  t.equal(rcodeOf(Buffer.from([0, 0, 0x81, 0x8b])), 'RCODE11')
  t.equal(rcodeOf(Buffer.from([0, 0, 0])), 'SERVFAIL')
})

t.test('cacheable: the zone\'s answers to queries that decoded, truncated or not; no error reply', async (t) => {
  const c = (bytes: Buffer, transport: 'udp' | 'tcp' = 'udp') => replied(respond(bytes, transport, snap, cfg)).cacheable
  t.equal(c(query('web.default.svc.cluster.local')), true, 'NOERROR')
  t.equal(c(query('nope.default.svc.cluster.local')), true, 'NXDOMAIN')
  t.equal(c(query('big.default.svc.cluster.local')), true, 'truncated over UDP')
  t.equal(c(query('big.default.svc.cluster.local'), 'tcp'), true, 'whole over TCP')
  t.equal(c(query('web.default.svc.cluster.local').subarray(0, 20)), false, 'FORMERR: does not decode')
  t.equal(c(Buffer.alloc(12)), false, 'FORMERR: no question')
  const notify = Buffer.from(query('web.default.svc.cluster.local'))
  notify[2] = (notify[2]! & 0x87) | (4 << 3)
  t.equal(c(notify), false, 'NOTIMP')
  t.equal(c(query('web.default.svc.cluster.local', 'A', edns(4096, 1))), false, 'BADVERS')
  t.equal(c(packet.encode({ id: 3, type: 'query', questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] })), false, 'REFUSED: class CHAOS')
  const d = respond(query('example.com'), 'udp', snap, cfg)
  t.equal(d.kind === 'outside' && outsideFailure(d, 'REFUSED').cacheable, false, 'REFUSED outside the zone')
})
