// Netlink attribute (TLV) encoding and decoding. Pure: no sockets here.
// node-netlink's own attribute writer masks NLA_F_NESTED away, and the
// kernel needs that flag for AF_BRIDGE IFLA_PROTINFO, so we keep our own.

export const NLA_F_NESTED = 0x8000
const NLA_TYPE_MASK = 0x3fff

export const align4 = (n: number): number => (n + 3) & ~3

/** One attribute: header, payload, padding to 4 bytes. */
export function attr(type: number, payload: Buffer | Buffer[]): Buffer {
  const data = Array.isArray(payload) ? Buffer.concat(payload) : payload
  const len = 4 + data.length
  const out = Buffer.alloc(align4(len))
  out.writeUInt16LE(len, 0)
  out.writeUInt16LE(type, 2)
  data.copy(out, 4)
  return out
}

export const nested = (type: number, children: Buffer[], flagged = false): Buffer =>
  attr(flagged ? type | NLA_F_NESTED : type, children)

export const u8 = (v: number): Buffer => Buffer.from([v & 0xff])
export function u16be(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b }
export function u32(v: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b }
export const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)])

/**
 * Decode a run of attributes into a map by type (the nested flag stripped).
 * A repeated type keeps its last value, which is what every attribute we read wants.
 */
export function parseAttrs(buf: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  let off = 0
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off)
    if (len < 4 || off + len > buf.length) break // truncated: keep what parsed cleanly
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len))
    off += align4(len)
  }
  return out
}

export const getStr = (b: Buffer | undefined): string | undefined => {
  if (!b) return undefined
  const nul = b.indexOf(0)
  return b.toString('utf8', 0, nul < 0 ? b.length : nul)
}
export const getU8 = (b: Buffer | undefined): number | undefined => (b && b.length >= 1 ? b.readUInt8(0) : undefined)
export const getU16be = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined)
export const getU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined)
export const getS32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readInt32LE(0) : undefined)
