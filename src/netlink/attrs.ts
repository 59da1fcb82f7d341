// Netlink attribute (TLV) encoding and decoding. Pure: no sockets here.
// node-netlink's own attribute writer masks NLA_F_NESTED away, and the
// kernel needs that flag for AF_BRIDGE IFLA_PROTINFO, so we keep our own.

export const NLA_F_NESTED = 0x8000
const NLA_TYPE_MASK = 0x3fff

export const align4 = (n: number): number => (n + 3) & ~3

const SLAB_BYTES = 64 * 1024
const SLICE_MAX = 1024
let slab = Buffer.alloc(0)
let slabOff = 0

/**
 * A zero-filled buffer of n bytes, as Buffer.alloc gives, but for small ones a slice of a
 * shared zeroed slab: Buffer.alloc makes a backing store per call, and the ~200,000 small
 * buffers of a cold sync's messages made that, and the garbage collector, a large part of
 * its time in a slow guest. Each slice is handed out once; a kept slice keeps its slab.
 */
export function zeroed(n: number): Buffer {
  if (n > SLICE_MAX) return Buffer.alloc(n)
  if (slabOff + n > slab.length) {
    slab = Buffer.alloc(SLAB_BYTES)
    slabOff = 0
  }
  const b = slab.subarray(slabOff, slabOff + n)
  slabOff = (slabOff + n + 7) & ~7
  return b
}

/** An attribute header written at off into a buffer being filled in place; returns where its payload starts. */
export function putHdr(b: Buffer, off: number, len: number, type: number): number {
  b.writeUInt16LE(len, off)
  b.writeUInt16LE(type, off + 2)
  return off + 4
}

/** One attribute: header, payload, padding to 4 bytes. */
export function attr(type: number, payload: Buffer | Buffer[]): Buffer {
  const data = Array.isArray(payload) ? Buffer.concat(payload) : payload
  const len = 4 + data.length
  const out = zeroed(align4(len))
  out.writeUInt16LE(len, 0)
  out.writeUInt16LE(type, 2)
  data.copy(out, 4)
  return out
}

export const nested = (type: number, children: Buffer[], flagged = false): Buffer =>
  attr(flagged ? type | NLA_F_NESTED : type, children)

// rtnetlink is host-endian (little on every machine we run on); ports, VNIs in
// nfnetlink and IPVS attributes are network byte order, hence the *be pairs.
export const u8 = (v: number): Buffer => Buffer.from([v & 0xff])
export function u16(v: number): Buffer { const b = zeroed(2); b.writeUInt16LE(v & 0xffff); return b }
export function u16be(v: number): Buffer { const b = zeroed(2); b.writeUInt16BE(v & 0xffff); return b }
export function u32(v: number): Buffer { const b = zeroed(4); b.writeUInt32LE(v >>> 0); return b }
export function u32be(v: number): Buffer { const b = zeroed(4); b.writeUInt32BE(v >>> 0); return b }
export function u64be(v: bigint): Buffer { const b = zeroed(8); b.writeBigUInt64BE(BigInt.asUintN(64, v)); return b }
export const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)])

/**
 * Attributes by type (the nested flag stripped). `get` gives the last of a
 * repeated type, which is what single-valued attributes want; `all` keeps every
 * one in order, for lists such as multipath nexthops or a set's elements.
 */
export class Attrs extends Map<number, Buffer> {
  private readonly lists = new Map<number, Buffer[]>()

  add(type: number, value: Buffer): void {
    this.set(type, value)
    const l = this.lists.get(type)
    if (l) l.push(value)
    else this.lists.set(type, [value])
  }

  all(type: number): Buffer[] {
    return this.lists.get(type) ?? []
  }
}

/** Decode a run of attributes. A truncated tail is dropped, never read past. */
export function parseAttrs(buf: Buffer): Attrs {
  const out = new Attrs()
  let off = 0
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off)
    if (len < 4 || off + len > buf.length) break // truncated: keep what parsed cleanly
    out.add(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len))
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
export const getU16 = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16LE(0) : undefined)
export const getU16be = (b: Buffer | undefined): number | undefined => (b && b.length >= 2 ? b.readUInt16BE(0) : undefined)
export const getU32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32LE(0) : undefined)
export const getU32be = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readUInt32BE(0) : undefined)
export const getU64be = (b: Buffer | undefined): bigint | undefined => (b && b.length >= 8 ? b.readBigUInt64BE(0) : undefined)
export const getS32 = (b: Buffer | undefined): number | undefined => (b && b.length >= 4 ? b.readInt32LE(0) : undefined)
