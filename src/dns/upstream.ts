// Forwarding names outside the cluster domain to the --upstream resolvers: the
// query's own bytes under a fresh ID, over the client's transport, each
// upstream in turn until one answers in time. The reply is relayed as it came
// (its TTLs kept), with the client's ID put back.
import { randomInt } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { ipFamily } from '../net/address.ts'
import type { Transport } from './respond.ts'

export interface Upstream { host: string; port: number }

export class UpstreamError extends Error {
  readonly code = 'EUPSTREAM'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'UpstreamError'
  }
}

const MAX_MESSAGE = 65535

export async function forward(query: Buffer, transport: Transport, upstreams: readonly Upstream[], timeoutMs: number): Promise<Buffer> {
  const clientId = query.readUInt16BE(0)
  const id = randomInt(0, 0x10000)
  const out = Buffer.from(query)
  out.writeUInt16BE(id, 0)
  let last: unknown
  for (const u of upstreams) {
    try {
      const answer = transport === 'udp' ? await viaUdp(out, u, id, timeoutMs) : await viaTcp(out, u, id, timeoutMs)
      answer.writeUInt16BE(clientId, 0)
      return answer
    } catch (e) {
      last = e
    }
  }
  throw new UpstreamError(`no upstream answered (${upstreams.map((u) => `${u.host}:${u.port}`).join(', ')})`, { cause: last })
}

function viaUdp(query: Buffer, u: Upstream, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(ipFamily(u.host) === 'IPv6' ? 'udp6' : 'udp4')
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer)
      sock.close()
      if (err) reject(err)
      else resolve(msg!)
    }
    const timer = setTimeout(() => done(new UpstreamError(`${u.host}:${u.port} did not answer within ${timeoutMs} ms`)), timeoutMs)
    sock.on('error', (e) => done(e))
    // a reply with another ID is someone else's (or spoofed): keep waiting for ours
    sock.on('message', (msg) => { if (msg.length >= 12 && msg.readUInt16BE(0) === id) done(null, msg) })
    sock.send(query, u.port, u.host)
  })
}

function viaTcp(query: Buffer, u: Upstream, id: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.host, port: u.port })
    let buf = Buffer.alloc(0)
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err)
      else resolve(msg!)
    }
    const timer = setTimeout(() => done(new UpstreamError(`${u.host}:${u.port} did not answer within ${timeoutMs} ms`)), timeoutMs)
    sock.on('error', (e) => done(e))
    sock.on('connect', () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(query.length)
      sock.write(Buffer.concat([len, query]))
    })
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (buf.length > MAX_MESSAGE + 2) return done(new UpstreamError(`${u.host}:${u.port} sent more than one message`))
      if (buf.length < 2) return
      const n = buf.readUInt16BE(0)
      if (buf.length < n + 2) return
      const msg = buf.subarray(2, n + 2)
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return done(new UpstreamError(`${u.host}:${u.port} answered another query`))
      done(null, Buffer.from(msg))
    })
    sock.on('end', () => done(new UpstreamError(`${u.host}:${u.port} closed the connection before answering`)))
  })
}
