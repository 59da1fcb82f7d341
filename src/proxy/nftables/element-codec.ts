// Our maps' and sets' elements in the kernel's binary form, for writing them
// over nfnetlink (src/netlink/codec-nft.ts) instead of through libnftables'
// parser. The renderer's element text stays the one currency (the ledger keys
// on it); this turns it into bytes using the set's own declaration, so the two
// cannot disagree on a type. Pure: no I/O.
//
// Layout rules (the kernel's, as nft applies them): a concatenation's parts are
// each padded to 4 bytes (one 32-bit register each), a single-part key is its
// type's own length; addresses and ports are big-endian, numgen's slot is a
// host-order u32. Sets this does not know how to encode (intervals, timeouts,
// dynamic sets) get no layout, and their elements go through libnftables.
import { endianness } from 'node:os'
import { ipToBytes, ipv4Value, tryParseIp } from '../../net/address.ts'
import type { ElemData, SetElem } from '../../netlink/codec-nft.ts'

export type Part = 'ip4' | 'ip6' | 'proto' | 'port' | 'u32'

export interface SetLayout {
  key: Part[]
  /** maps only: a verdict, or a value of these parts */
  data?: 'verdict' | Part[]
}

export class ElementCodecError extends Error {
  readonly code = 'ENFTELEM'
  constructor(message: string) {
    super(message)
    this.name = 'ElementCodecError'
  }
}

const TYPE_PARTS: Record<string, Part> = { ipv4_addr: 'ip4', ipv6_addr: 'ip6', inet_proto: 'proto', inet_service: 'port' }

/** one `typeof` expression -> its part */
function exprPart(expr: string): Part | undefined {
  if (/^ip (s|d)addr$/.test(expr)) return 'ip4'
  if (/^ip6 (s|d)addr$/.test(expr)) return 'ip6'
  if (expr === 'meta l4proto') return 'proto'
  if (/^(th|tcp|udp|sctp) (s|d)port$/.test(expr)) return 'port'
  if (/^numgen (random|inc) mod \d+$/.test(expr)) return 'u32'
  return undefined
}

function partsOf(s: string, typed: boolean): Part[] | undefined {
  const parts = s.split(' . ').map((x) => (typed ? TYPE_PARTS[x.trim()] : exprPart(x.trim())))
  return parts.every((p) => p !== undefined) ? (parts as Part[]) : undefined
}

/**
 * The layout a set or map declaration (the text between the braces of `add
 * set/map`) gives its elements, or undefined when its elements must go through
 * libnftables (flags, timeouts, sizes, or a type not listed here).
 */
export function layoutOf(spec: string): SetLayout | undefined {
  const m = /^\s*(type|typeof) ([^:;]+?)(?: : ([^;]+?))? ;\s*$/.exec(spec)
  if (!m) return undefined
  const typed = m[1] === 'type'
  const key = partsOf(m[2]!, typed)
  if (!key) return undefined
  if (m[3] === undefined) return { key }
  if (m[3].trim() === 'verdict') return { key, data: 'verdict' }
  const data = partsOf(m[3], typed)
  return data ? { key, data } : undefined
}

const PROTOS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 }
const LE = endianness() === 'LE'

/** The size of a part alone (a concatenation pads each to 4). */
const SIZE: Record<Part, number> = { ip4: 4, ip6: 16, proto: 1, port: 2, u32: 4 }

/** Writes one part's bytes at `at`. */
function writePart(p: Part, text: string, out: Buffer, at: number): void {
  switch (p) {
    case 'ip4': {
      const v = ipv4Value(text)
      if (v === undefined) throw new ElementCodecError(`"${text}" is not an IPv4 address`)
      out.writeUInt32BE(v, at)
      return
    }
    case 'ip6': {
      const a = tryParseIp(text)
      if (!a || a.family !== 6) throw new ElementCodecError(`"${text}" is not an IPv6 address`)
      ipToBytes(a).copy(out, at)
      return
    }
    case 'proto': {
      const n = PROTOS[text] ?? (/^\d{1,3}$/.test(text) ? Number(text) : NaN)
      if (!(n >= 0 && n <= 255)) throw new ElementCodecError(`"${text}" is not a protocol`)
      out[at] = n
      return
    }
    case 'port': {
      const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN
      if (!(n >= 0 && n <= 65535)) throw new ElementCodecError(`"${text}" is not a port`)
      out.writeUInt16BE(n, at)
      return
    }
    case 'u32': {
      const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN
      if (!(n >= 0 && n <= 0xffffffff)) throw new ElementCodecError(`"${text}" is not a 32-bit integer`)
      if (LE) out.writeUInt32LE(n, at)
      else out.writeUInt32BE(n, at)
    }
  }
}

/** "a . b . c" in these parts -> the kernel's bytes (each part padded to 4 when there are several). */
export function encodeParts(parts: readonly Part[], text: string): Buffer {
  const items = text.split(' . ')
  if (items.length !== parts.length) throw new ElementCodecError(`"${text}" has ${items.length} parts, the set ${parts.length}`)
  const one = parts.length === 1
  let size = 0
  for (const p of parts) size += one ? SIZE[p] : (SIZE[p] + 3) & ~3
  const out = Buffer.alloc(size)
  let at = 0
  parts.forEach((p, i) => {
    writePart(p, items[i]!.trim(), out, at)
    at += (SIZE[p] + 3) & ~3
  })
  return out
}

const VERDICTS = new Set(['accept', 'drop', 'return', 'continue'])

function verdictOf(text: string): ElemData {
  const m = /^(goto|jump) (\S+)$/.exec(text)
  if (m) return { kind: 'verdict', code: m[1] as 'goto' | 'jump', chain: m[2]! }
  if (VERDICTS.has(text)) return { kind: 'verdict', code: text as 'accept' }
  throw new ElementCodecError(`"${text}" is not a verdict`)
}

/** One element (key text, and value text for maps) in the set's layout. */
export function encodeElement(layout: SetLayout, key: string, value: string | undefined): SetElem {
  const k = encodeParts(layout.key, key)
  if (layout.data === undefined) {
    if (value !== undefined) throw new ElementCodecError(`a set element has no value, got "${value}"`)
    return { key: k }
  }
  if (value === undefined) throw new ElementCodecError(`a map element needs a value: "${key}"`)
  // a delete names the key alone; the renderer still carries the value, which the kernel ignores there
  return { key: k, data: layout.data === 'verdict' ? verdictOf(value.trim()) : { kind: 'value', bytes: encodeParts(layout.data, value) } }
}
