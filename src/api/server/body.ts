// Reading request bodies, with a size cap, as JSON (or, for the two kinds
// kubectl's generators send that way, Kubernetes protobuf). Every decoded body
// passes the shape check (depth, hostile keys) before anything walks it.
import type { IncomingMessage } from 'node:http'
import { badRequest, tooLarge, unsupportedMediaType } from '../errors.ts'
import { decodeK8sProtobuf, PROTOBUF_TYPE } from '../protobuf/decode.ts'
import { checkBodyShape } from './body-shape.ts'
import { DEFAULT_BODY_LIMIT } from '../limits.ts'


export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8')
}

/**
 * The whole body, or a 413 as soon as it is known to exceed `limit`: from
 * Content-Length before a byte is read, else when the running count passes it.
 * Reading stops there; the answer closes the connection (see sendError), so
 * the unread rest is never parsed as a next request.
 */
export function readBodyBytes(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '')
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
    }
    const onData = (c: Buffer) => {
      size += c.length
      if (size > limit) {
        cleanup()
        req.pause()
        reject(tooLarge(limit))
        return
      }
      chunks.push(c)
    }
    const onEnd = () => {
      cleanup()
      resolve(Buffer.concat(chunks))
    }
    const onError = (e: Error) => {
      cleanup()
      reject(badRequest(`reading the request body failed: ${e.message}`, 'EBODYREAD'))
    }
    const onAborted = () => onError(new Error('the client went away'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

/** JSON text to a value whose shape was checked (depth, no "__proto__" keys). */
export function parseJson(text: string): unknown {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`, 'EJSON')
  }
  checkBodyShape(v)
  return v
}

/** A POST or PUT body: JSON, or Kubernetes protobuf for the kinds that accept it. Anything else is 415. */
export async function objectBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
  if (type === PROTOBUF_TYPE) {
    const v = decodeK8sProtobuf(await readBodyBytes(req, limit))
    checkBodyShape(v)
    return v
  }
  if (type && type !== 'application/json' && type !== '*/*') throw unsupportedMediaType(type)
  return parseJson(await readBody(req, limit))
}
