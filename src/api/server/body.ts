// Reading request bodies, with a size cap, as JSON.
import type { IncomingMessage } from 'node:http'
import { badRequest, tooLarge } from '../errors.ts'

const LIMIT = 3 * 1024 * 1024 // kube-apiserver's default request size limit

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > LIMIT) throw tooLarge()
    chunks.push(c)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw badRequest(`the body of the request was not valid JSON: ${(e as Error).message}`, 'EJSON')
  }
}
