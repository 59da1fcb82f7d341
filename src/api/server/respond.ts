import type { ServerResponse } from 'node:http'
import type { ApiError } from '../errors.ts'

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRaw(res, status, JSON.stringify(body))
}

export function sendRaw(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) })
  res.end(json)
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  // A body left unread (too large, or a bad prefix) must not be parsed as the next request.
  if (!res.req.complete) res.setHeader('Connection', 'close')
  sendJson(res, err.status, err.toStatus())
}
