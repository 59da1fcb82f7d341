// The thin adapter: UDP and TCP listeners around respond(). Every query reads
// the newest snapshot (O(1)), so answers follow the watch as soon as the cache
// does. Bounds: TCP connections (maxConnections), one message per frame
// (<= 65535 bytes by the framing itself), bytes queued to a slow TCP reader,
// idle TCP connections, and forwards in flight.
import { createSocket } from 'node:dgram'
import { createServer, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Counter } from 'prom-client'
import { ipFamily } from '../net/address.ts'
import { queryTypeLabel, type DnsMetrics } from '../metrics/dns-metrics.ts'
import type { DnsSnapshot, ZoneConfig } from './records.ts'
import { AnswerCache, type AnswerCacheLimits } from './answer-cache.ts'
import { outsideFailure, rcodeOf, respond, type Decision, type Transport } from './respond.ts'
import { forward, type Upstream } from './upstream.ts'
import { boundUdpFd } from '../api/server/netns-socket.ts'
import { UdpBatch } from './udp-batch.ts'

export interface DnsServerOptions {
  host: string
  port: number
  snapshot: () => DnsSnapshot
  zone: ZoneConfig
  upstreams: readonly Upstream[]
  metrics: DnsMetrics
  log: Logger
  maxTcpConnections?: number
  tcpIdleMs?: number
  /** bytes of answers queued to one TCP client that does not read; past this it is cut off */
  maxTcpBacklog?: number
  maxForwardsInFlight?: number
  forwardTimeoutMs?: number
  /** the in-zone answer cache's bounds (answer-cache.ts's defaults otherwise) */
  answerCache?: AnswerCacheLimits
  /** read and answer queued UDP queries in batches (udp-batch.ts); default on where the platform has it */
  udpBatch?: boolean
}

export interface RunningDnsServer {
  port: number
  close(): Promise<void>
}

export async function startDnsServer(o: DnsServerOptions): Promise<RunningDnsServer> {
  const idleMs = o.tcpIdleMs ?? 10_000
  const backlog = o.maxTcpBacklog ?? 256 * 1024
  const maxForwards = o.maxForwardsInFlight ?? 1024
  const forwardTimeoutMs = o.forwardTimeoutMs ?? 2000
  let forwarding = 0

  const cache = new AnswerCache<Counter.Internal>(o.answerCache)
  // prom-client hashes a label object on every inc(): bind each series once
  const answered = new Map<string, Counter.Internal>()
  const answeredSeries = (transport: Transport, qtype: string, rcode: string) => {
    // the type label, not the wire's type: a fixed set, so this map stays small whatever clients send
    const type = queryTypeLabel(qtype)
    const key = `${transport} ${type} ${rcode}`
    let c = answered.get(key)
    if (!c) answered.set(key, (c = o.metrics.queries.labels({ transport, type, rcode })))
    return c
  }
  const durations = { udp: o.metrics.duration.labels({ transport: 'udp' }), tcp: o.metrics.duration.labels({ transport: 'tcp' }) }
  const done = (transport: Transport, series: Counter.Internal, t0: number) => {
    series.inc()
    durations[transport].observe((performance.now() - t0) / 1000)
  }

  /**
   * One query -> its answer, or null for silence. Never throws. In-zone answers
   * (cached or not) return synchronously: only forwarding pays for a promise.
   */
  const answer = (msg: Buffer, transport: Transport): Buffer | null | Promise<Buffer | null> => {
    const t0 = performance.now()
    const snap = o.snapshot()
    const hit = cache.get(msg, transport, snap)
    if (hit) {
      o.metrics.answerCacheHits.inc()
      done(transport, hit.meta, t0)
      return hit.bytes
    }
    let d
    try {
      d = respond(msg, transport, snap, o.zone)
    } catch (e) {
      // a bug in the mapping must cost one answer, not the server
      o.log.error({ err: (e as Error).message }, 'answering a query failed')
      o.metrics.dropped.inc({ transport, reason: 'internal-error' })
      return null
    }
    if (d.kind === 'drop') {
      o.metrics.dropped.inc({ transport, reason: d.reason })
      return null
    }
    if (d.kind === 'reply') {
      const series = answeredSeries(transport, d.qtype, d.rcode)
      if (d.cacheable) cache.set(msg, transport, snap, d.bytes, series)
      done(transport, series, t0)
      return d.bytes
    }
    // outside the zone: never cached (a forwarded answer is the upstream's, with its TTLs)
    if (o.upstreams.length === 0 || forwarding >= maxForwards) {
      if (o.upstreams.length !== 0) o.metrics.forwarded.inc({ result: 'over-limit' })
      const r = outsideFailure(d, o.upstreams.length === 0 ? 'REFUSED' : 'SERVFAIL')
      done(transport, answeredSeries(transport, d.qtype, r.rcode), t0)
      return r.bytes
    }
    return forwardOne(msg, transport, d, t0)
  }

  const forwardOne = async (msg: Buffer, transport: Transport, d: Extract<Decision, { kind: 'outside' }>, t0: number): Promise<Buffer> => {
    let bytes: Buffer
    let rcode: string
    forwarding++
    try {
      bytes = await forward(msg, transport, o.upstreams, forwardTimeoutMs)
      rcode = rcodeOf(bytes)
      o.metrics.forwarded.inc({ result: 'answered' })
    } catch (e) {
      o.log.warn({ err: (e as Error).message }, 'forwarding failed')
      o.metrics.forwarded.inc({ result: 'failed' })
      const r = outsideFailure(d, 'SERVFAIL')
      bytes = r.bytes
      rcode = r.rcode
    } finally {
      forwarding--
    }
    done(transport, answeredSeries(transport, d.qtype, rcode), t0)
    return bytes
  }

  const v6 = ipFamily(o.host) === 'IPv6'
  // Replies go to rinfo.address, always an address literal: dgram's default lookup
  // would still defer every send by a tick (dns.lookup's nextTick), so answer at once.
  const literal = (host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void) => cb(null, host, v6 ? 6 : 4)
  const udp = createSocket({ type: v6 ? 'udp6' : 'udp4', lookup: literal })
  const fd = boundUdpFd(o.host, o.port)
  let batch: UdpBatch | null = null
  if (o.udpBatch !== false) {
    try {
      batch = UdpBatch.open(fd)
    } catch (e) {
      o.log.warn({ err: (e as Error).message }, 'batched UDP unavailable: one datagram at a time')
    }
  }
  const sendTo = (b: Buffer, peer: { address: string; port: number }) => udp.send(b, peer.port, peer.address)
  const answerUdp = (m: Buffer) => answer(m, 'udp')
  udp.on('message', (msg, rinfo) => {
    const out = answer(msg, 'udp')
    if (out instanceof Promise) void out.then((b) => { if (b) sendTo(b, rinfo) })
    else if (out) sendTo(out, rinfo)
    if (!batch) return
    // the rest of what is queued, in batches, before libuv reads it one by one
    const r = batch.drain(answerUdp, sendTo)
    if (r.received > 0) o.metrics.udpBatched.inc(r.received)
    if (r.oversized > 0) o.metrics.dropped.inc({ transport: 'udp', reason: 'oversized' }, r.oversized)
    if (r.unsent > 0) o.metrics.dropped.inc({ transport: 'udp', reason: 'send-failed' }, r.unsent)
  })
  udp.on('error', (e) => o.log.warn({ err: e.message }, 'udp socket error'))

  const conns = new Set<Socket>()
  const tcp = createServer({ noDelay: true }, (sock) => {
    conns.add(sock)
    sock.on('close', () => conns.delete(sock))
    serveTcp(sock, answer, idleMs, backlog, o.metrics)
  })
  tcp.maxConnections = o.maxTcpConnections ?? 256
  tcp.on('error', (e) => o.log.warn({ err: e.message }, 'tcp listener error'))

  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject)
    udp.bind({ fd }, () => { udp.off('error', reject); resolve() })
  })
  const port = udp.address().port
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject)
      tcp.listen(port, o.host, () => { tcp.off('error', reject); resolve() })
    })
  } catch (e) {
    udp.close()
    throw e
  }
  return {
    port,
    close: () => new Promise((resolve) => {
      udp.close()
      tcp.close(() => resolve())
      // open connections would hold close() back
      for (const c of conns) c.destroy()
    }),
  }
}

const MAX_PIPELINED = 128

/** RFC 7766: length-prefixed messages, pipelined, answered in order. */
function serveTcp(sock: Socket, answer: (m: Buffer, t: Transport) => Buffer | null | Promise<Buffer | null>, idleMs: number, backlog: number, metrics: DnsMetrics): void {
  let buf: Buffer = Buffer.alloc(0)
  let chain: Promise<void> = Promise.resolve()
  let pending = 0
  sock.setTimeout(idleMs, () => sock.destroy())
  sock.on('error', () => sock.destroy())
  sock.on('data', (chunk: Buffer) => {
    // A frame is at most 2 + 65535 bytes: a peer that sends more than one frame's worth unanswered waits for us.
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
    while (buf.length >= 2) {
      const n = buf.readUInt16BE(0)
      if (buf.length < n + 2) break
      const msg = buf.subarray(2, n + 2)
      buf = buf.subarray(n + 2)
      if (++pending > MAX_PIPELINED) {
        metrics.dropped.inc({ transport: 'tcp', reason: 'too-many-pipelined' })
        sock.destroy()
        return
      }
      chain = chain.then(async () => {
        pending--
        const out = await answer(Buffer.from(msg), 'tcp')
        if (!out || sock.destroyed) return
        if (sock.writableLength > backlog) {
          metrics.dropped.inc({ transport: 'tcp', reason: 'client-not-reading' })
          sock.destroy()
          return
        }
        const len = Buffer.alloc(2)
        len.writeUInt16BE(out.length)
        sock.write(Buffer.concat([len, out]))
      })
    }
  })
}
