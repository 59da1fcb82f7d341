// The protobuf wire format, read-only: enough to walk a message's fields.
import { ApiError } from '../errors.ts'

export const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5

export class ProtobufError extends ApiError {
  constructor(msg: string) {
    super('EPROTOBUF', 400, 'BadRequest', `the protobuf body could not be decoded: ${msg}`)
  }
}

export interface WireField {
  num: number
  wire: number
  /** varint value (wire 0) */
  int?: bigint
  /** payload (wire 2) */
  bytes?: Buffer
}

export function* fields(buf: Buffer): Generator<WireField> {
  let pos = 0
  const varint = (): bigint => {
    let v = 0n, shift = 0n
    for (;;) {
      if (pos >= buf.length) throw new ProtobufError('truncated varint')
      const b = buf[pos++]!
      v |= BigInt(b & 0x7f) << shift
      if (!(b & 0x80)) return v
      shift += 7n
      if (shift > 63n) throw new ProtobufError('varint longer than 10 bytes')
    }
  }
  while (pos < buf.length) {
    const key = varint()
    const num = Number(key >> 3n), wire = Number(key & 7n)
    if (num === 0) throw new ProtobufError('field number 0')
    switch (wire) {
      case WIRE_VARINT: yield { num, wire, int: varint() }; break
      case WIRE_I64: pos += 8; break
      case WIRE_I32: pos += 4; break
      case WIRE_LEN: {
        const len = Number(varint())
        if (pos + len > buf.length) throw new ProtobufError(`field ${num} runs past the end`)
        yield { num, wire, bytes: buf.subarray(pos, pos + len) }
        pos += len
        break
      }
      default: throw new ProtobufError(`unsupported wire type ${wire} for field ${num}`)
    }
    if (pos > buf.length) throw new ProtobufError(`field ${num} runs past the end`)
  }
}

/** A varint field as a signed 32/64-bit number (protobuf int32/int64 are two's complement). */
export function toSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v))
}
