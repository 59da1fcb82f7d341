// Kubernetes protobuf request bodies to the JSON objects the rest of the server
// speaks. kubectl's generators send nothing else, and client-go does not fall
// back to JSON on a 415, so this is what makes them work.
import { fields, ProtobufError, toSigned, WIRE_LEN, WIRE_VARINT } from './wire.ts'
import { KINDS, TypeMeta, type Field, type Schema } from './schemas.ts'

export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf'
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]) // "k8s\0"

function str(b: Buffer | undefined, where: string): string {
  if (!b) throw new ProtobufError(`${where}: expected a length-delimited string`)
  return b.toString('utf8')
}

function mapEntry(b: Buffer, where: string): [string, string] {
  let k = '', v = ''
  for (const f of fields(b)) {
    if (f.num === 1) k = str(f.bytes, `${where} key`)
    else if (f.num === 2) v = str(f.bytes, `${where} value`)
  }
  return [k, v]
}

function intOrString(b: Buffer, where: string): number | string | undefined {
  let type = 0, intVal = 0, strVal = ''
  for (const f of fields(b)) {
    if (f.num === 1 && f.wire === WIRE_VARINT) type = toSigned(f.int!)
    else if (f.num === 2 && f.wire === WIRE_VARINT) intVal = toSigned(f.int!)
    else if (f.num === 3) strVal = str(f.bytes, where)
  }
  if (type === 1) return strVal || undefined
  return intVal || undefined
}

/**
 * Go's generated marshallers write every non-pointer field, zero or not, where
 * JSON would omit it (omitempty). Zero strings and numbers therefore mean
 * "unset", as the JSON form of the same request would say.
 */
function isUnset(v: unknown): boolean {
  return v === undefined || v === '' || v === 0
}

function value(field: Field, f: { wire: number; int?: bigint; bytes?: Buffer }, where: string): unknown {
  const want = field.type === 'int' || field.type === 'bool' ? WIRE_VARINT : WIRE_LEN
  if (f.wire !== want) throw new ProtobufError(`${where}: wire type ${f.wire} where ${want} was expected`)
  switch (field.type) {
    case 'string': return str(f.bytes, where)
    case 'int': return toSigned(f.int!)
    case 'bool': return f.int !== 0n
    case 'intOrString': return intOrString(f.bytes!, where)
    case 'message': return decodeMessage(f.bytes!, field.message!, where)
    case 'map': return mapEntry(f.bytes!, where)
  }
}

export function decodeMessage(buf: Buffer, schema: Schema, where = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields(buf)) {
    const field = schema[f.num]
    if (!field) continue // unknown or not accepted on create: ignored, as protobuf readers do
    const at = where ? `${where}.${field.name}` : field.name
    const v = value(field, f, at)
    if (!field.repeated && !field.optional && isUnset(v)) continue
    if (field.type === 'map') {
      const [k, val] = v as [string, string]
      ;((out[field.name] ??= {}) as Record<string, string>)[k] = val
    } else if (field.repeated) {
      ;((out[field.name] ??= []) as unknown[]).push(v)
    } else {
      out[field.name] = v
    }
  }
  return out
}

/** A "k8s\0" + runtime.Unknown body, as JSON-shaped object with apiVersion and kind. */
export function decodeK8sProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ProtobufError('missing the "k8s\\0" prefix')
  let typeMeta: Record<string, unknown> = {}
  let raw: Buffer | undefined
  for (const f of fields(body.subarray(4))) {
    if (f.num === 1 && f.bytes) typeMeta = decodeMessage(f.bytes, TypeMeta)
    else if (f.num === 2 && f.bytes) raw = f.bytes
    else if (f.num === 3 && f.bytes && f.bytes.length) throw new ProtobufError(`content encoding ${JSON.stringify(f.bytes.toString())} is not supported`)
  }
  const kind = String(typeMeta.kind ?? '')
  const schema = KINDS[kind]
  if (!schema) throw new ProtobufError(`kind ${JSON.stringify(kind)} is not accepted as protobuf (only ${Object.keys(KINDS).join(', ')}); send JSON`)
  if (!raw) throw new ProtobufError('the envelope carries no object')
  return { apiVersion: typeMeta.apiVersion, kind, ...decodeMessage(raw, schema) }
}
