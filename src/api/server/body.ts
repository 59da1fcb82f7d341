// Reading request bodies, with a size cap, as JSON (or, for the two kinds
// kubectl's generators send that way, Kubernetes protobuf).
import type { IncomingMessage } from 'node:http'
import { badRequest, tooLarge, unsupportedMediaType } from '../errors.ts'
import { decodeK8sProtobuf, PROTOBUF_TYPE } from '../protobuf/decode.ts'

const LIMIT = 3 * 1024 * 1024 // kube-apiserver's default request size limit

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8')
}

export async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > LIMIT) throw tooLarge()
    chunks.push(c)
  }
  return Buffer.concat(chunks)
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`, 'EJSON')
  }
}

/** A POST or PUT body: JSON, or Kubernetes protobuf for the kinds that accept it. Anything else is 415. */
export async function objectBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
  if (type === PROTOBUF_TYPE) return decodeK8sProtobuf(await readBodyBytes(req))
  if (type && type !== 'application/json' && type !== '*/*') throw unsupportedMediaType(type)
  return parseJson(await readBody(req))
}
