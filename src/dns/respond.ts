// Pure: one query's bytes -> what the server does with it. Decoding and
// encoding are dns-packet's; this module owns the protocol decisions: FORMERR
// for what does not parse, NOTIMP for other opcodes, EDNS0 (payload size,
// BADVERS), truncation to the client's UDP limit (TC: the client retries over
// TCP), and whether a name is ours or goes upstream.
import * as packet from 'dns-packet'
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet'
import { lookup, type DnsRecord, type DnsSnapshot, type ZoneConfig } from './records.ts'

export type Transport = 'udp' | 'tcp'

/** The UDP payload this server offers in its OPT record, and the most it sends (RFC 9715's safe size). */
export const SERVER_UDP_PAYLOAD = 1232
const CLASSIC_UDP_LIMIT = 512
const MAX_TCP_MESSAGE = 65535
const OPCODE_QUERY = 0
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
const BADVERS = 16

export type RcodeName = keyof typeof RCODE | 'BADVERS'

export type Decision =
  /** nothing to say: too short to carry an ID, or a response (answering those makes loops) */
  | { kind: 'drop'; reason: string }
  /**
   * `cacheable`: an answer from the zone to a query that decoded. Error replies
   * are not: a flood of garbage would otherwise cycle the bounded answer cache
   * and evict the answers real clients ask for again.
   */
  | { kind: 'reply'; bytes: Buffer; qtype: string; rcode: RcodeName; truncated: boolean; cacheable: boolean }
  /** a name outside the cluster domain: the caller forwards the query bytes, or refuses */
  | { kind: 'outside'; qtype: string; query: DecodedPacket; limit: number }

export function respond(bytes: Buffer, transport: Transport, snap: DnsSnapshot, cfg: ZoneConfig): Decision {
  if (bytes.length < 12) return { kind: 'drop', reason: 'shorter than a DNS header' }
  const flags = bytes.readUInt16BE(2)
  if (flags & 0x8000) return { kind: 'drop', reason: 'a response, not a query' }
  const opcode = (flags >> 11) & 0xf
  if (opcode !== OPCODE_QUERY) return errorReply(bytes, 'NOTIMP', 'none')
  let query: DecodedPacket
  try {
    query = packet.decode(bytes)
  } catch {
    return errorReply(bytes, 'FORMERR', 'none')
  }
  const q = query.questions?.[0]
  const qtype = q ? String(q.type) : 'none'
  if (query.questions?.length !== 1 || !q) return errorReply(bytes, 'FORMERR', qtype)
  const opts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT')
  if (opts.length > 1 || (opts[0] && opts[0].name !== '.')) return errorReply(bytes, 'FORMERR', qtype)
  const opt = opts[0]
  const limit = transport === 'tcp' ? MAX_TCP_MESSAGE : opt ? Math.min(Math.max(opt.udpPayloadSize ?? CLASSIC_UDP_LIMIT, CLASSIC_UDP_LIMIT), SERVER_UDP_PAYLOAD) : CLASSIC_UDP_LIMIT
  if (opt && (opt.ednsVersion ?? 0) !== 0) return reply(query, 'BADVERS', [], [], [], limit, false)
  if (q.class !== undefined && q.class !== 'IN' && q.class !== 'ANY') return reply(query, 'REFUSED', [], [], [], limit, false)
  const found = lookup(snap, q.name, qtype, cfg)
  if (found.kind === 'outside') return { kind: 'outside', qtype, query, limit }
  try {
    return reply(query, found.rcode, found.answers, found.authority, found.additionals, limit, true)
  } catch {
    // dns-packet decodes some names it cannot encode again (a label holding a dot, one past 63 bytes): the question is bad.
    return errorReply(bytes, 'FORMERR', qtype)
  }
}

/** A reply to a query that decoded: its question echoed, EDNS answered with EDNS, cut to the limit with TC set. */
export function reply(query: DecodedPacket, rcode: RcodeName, answers: DnsRecord[], authorities: DnsRecord[], additionals: DnsRecord[], limit: number, authoritative: boolean): Decision {
  const qtype = String(query.questions?.[0]?.type ?? 'none')
  const wantsEdns = (query.additionals ?? []).some((a) => a.type === 'OPT')
  const code = rcode === 'BADVERS' ? BADVERS : RCODE[rcode]
  const opt: OptAnswer[] = wantsEdns ? [{ type: 'OPT', name: '.', udpPayloadSize: SERVER_UDP_PAYLOAD, extendedRcode: code >> 4, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : []
  const build = (truncated: boolean, ans: DnsRecord[], auth: DnsRecord[], add: DnsRecord[]): Buffer => packet.encode({
    id: query.id,
    type: 'response',
    flags: headerFlags(query, code, authoritative, truncated),
    questions: query.questions,
    answers: ans as Answer[],
    authorities: auth as Answer[],
    additionals: [...(add as Answer[]), ...opt],
  } as Packet)
  const full = build(false, answers, authorities, additionals)
  if (full.length <= limit) return { kind: 'reply', bytes: full, qtype, rcode, truncated: false, cacheable: authoritative }
  // RFC 2181 9: a truncated reply carries no partial RRsets; the client asks again over TCP.
  return { kind: 'reply', bytes: build(true, [], [], []), qtype, rcode, truncated: true, cacheable: authoritative }
}

function headerFlags(query: Packet, rcode: number, authoritative: boolean, truncated: boolean): number {
  const rd = (query.flags ?? 0) & packet.RECURSION_DESIRED
  return rd | (authoritative ? packet.AUTHORITATIVE_ANSWER : 0) | (truncated ? packet.TRUNCATED_RESPONSE : 0) | (rcode & 0xf)
}

/** FORMERR / NOTIMP for a query that may not decode: the header's ID and opcode, nothing else. */
function errorReply(bytes: Buffer, rcode: 'FORMERR' | 'NOTIMP', qtype: string): Decision {
  const out = Buffer.alloc(12)
  out.writeUInt16BE(bytes.readUInt16BE(0), 0)
  const flags = bytes.readUInt16BE(2)
  out.writeUInt16BE(0x8000 | (flags & 0x7800) | (flags & 0x0100) | RCODE[rcode], 2)
  return { kind: 'reply', bytes: out, qtype, rcode, truncated: false, cacheable: false }
}

/** REFUSED for a name outside the zone when there is nowhere to forward it (or forwarding failed: SERVFAIL). */
export function outsideFailure(d: Extract<Decision, { kind: 'outside' }>, rcode: 'REFUSED' | 'SERVFAIL'): Extract<Decision, { kind: 'reply' }> {
  return reply(d.query, rcode, [], [], [], d.limit, false) as Extract<Decision, { kind: 'reply' }>
}

/** The rcode in an upstream's reply header, for the metrics. */
export function rcodeOf(bytes: Buffer): string {
  if (bytes.length < 4) return 'SERVFAIL'
  const code = bytes[3]! & 0xf
  return (Object.keys(RCODE) as Array<keyof typeof RCODE>).find((k) => RCODE[k] === code) ?? `RCODE${code}`
}
