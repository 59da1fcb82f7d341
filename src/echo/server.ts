// `pontoon echo`: a TCP and a UDP listener on one port, both answering with
// echoLine. It reads nothing it has to keep: TCP input is discarded (the answer
// is written at once and the connection closed), a UDP datagram is answered and
// dropped, so no client can make it hold memory. Dual-stack on "::", or IPv4
// only where the namespace has no IPv6.
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import { echoLine } from './line.ts'

export class EchoError extends Error {
  constructor(readonly code: 'EECHO_PORT' | 'EECHO_LISTEN', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EchoError'
  }
}

export interface EchoServer {
  readonly port: number
  /** connections and datagrams answered so far */
  served(): number
  close(): Promise<void>
}

export interface EchoOptions {
  port: number
  name: string
  /** a client that sends nothing and never closes is dropped after this long (default 10 s) */
  idleMs?: number
}

// errnos that mean "no IPv6 here": fall back to an IPv4 listener
const NO_V6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT'])

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once('error', onError)
    server.listen({ host, port, ipv6Only: false, exclusive: true }, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

function bindUdp(sock: UdpSocket, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    sock.once('error', onError)
    sock.bind({ address: host, port, exclusive: true }, () => {
      sock.off('error', onError)
      resolve()
    })
  })
}

export async function startEcho(o: EchoOptions): Promise<EchoServer> {
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new EchoError('EECHO_PORT', `--port must be 1..65535, got ${o.port}`)
  const idleMs = o.idleMs ?? 10_000
  let served = 0
  const tcp = createServer({ pauseOnConnect: false }, (c) => {
    served++
    c.setTimeout(idleMs, () => c.destroy())
    c.on('error', () => { /* a reset client is not our problem */ })
    // discard input as it comes: nothing is buffered
    c.on('data', () => {})
    c.end(echoLine(o.name, c.remoteAddress ?? '', c.remotePort ?? 0))
  })
  let host = '::'
  try {
    await listenTcp(tcp, host, o.port)
  } catch (e) {
    if (!NO_V6.has((e as NodeJS.ErrnoException).code ?? '')) throw new EchoError('EECHO_LISTEN', `cannot listen on TCP port ${o.port}: ${(e as Error).message}`, { cause: e })
    host = '0.0.0.0'
    try { await listenTcp(tcp, host, o.port) } catch (e2) {
      throw new EchoError('EECHO_LISTEN', `cannot listen on TCP port ${o.port}: ${(e2 as Error).message}`, { cause: e2 })
    }
  }
  const udp = createSocket({ type: host === '::' ? 'udp6' : 'udp4', ipv6Only: false })
  try {
    await bindUdp(udp, host, o.port)
  } catch (e) {
    tcp.close()
    udp.close()
    throw new EchoError('EECHO_LISTEN', `cannot bind UDP port ${o.port}: ${(e as Error).message}`, { cause: e })
  }
  udp.on('message', (_msg, rinfo) => {
    served++
    udp.send(echoLine(o.name, rinfo.address, rinfo.port), rinfo.port, rinfo.address, () => { /* a lost reply is UDP */ })
  })
  udp.on('error', () => { /* ICMP errors for earlier replies: keep serving */ })
  return {
    port: o.port,
    served: () => served,
    close: () => new Promise<void>((resolve) => {
      udp.close()
      tcp.close(() => resolve())
    }),
  }
}
