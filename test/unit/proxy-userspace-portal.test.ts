// The userspace proxy's copiers on the loopback address only (no namespace, no
// rule, no packet leaves 127.0.0.1): TCP failover past a refused endpoint,
// bytes both ways with backpressure, a reset when nothing takes the client, the
// idle timeout; UDP flows per client, their bound, idle expiry and moving off
// a removed endpoint. The same code carries real traffic in the lab
// (test/integration/proxy-e2e-userspace.test.ts).
import t, { type Test } from 'tap'
import dgram from 'node:dgram'
import net from 'node:net'
import type { EndpointTarget } from '../../src/proxy/plan/intent.ts'
import { DEFAULT_LIMITS, plainIp, type Decision, type PortalLimits } from '../../src/proxy/userspace/portal.ts'
import { TcpPortal } from '../../src/proxy/userspace/tcp-portal.ts'
import { UdpPortal } from '../../src/proxy/userspace/udp-portal.ts'
import { waitFor } from '../lib/wait.ts'

const LO = '127.0.0.1'
const ep = (port: number): EndpointTarget => ({ ip: LO, port, local: true })

/** A TCP server on loopback that says its name, then echoes. */
async function tcpEcho(t: Test, name: string): Promise<number> {
  const s = net.createServer((c) => {
    c.write(`${name}\n`)
    c.pipe(c)
    c.on('error', () => c.destroy())
  })
  await new Promise<void>((r) => s.listen(0, LO, () => r()))
  t.teardown(() => s.close())
  return (s.address() as net.AddressInfo).port
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, LO, () => r()))
  const port = (s.address() as net.AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

function talk(port: number, send?: Buffer): Promise<{ text: string; error?: string; bytes: number }> {
  return new Promise((resolve) => {
    const c = net.connect(port, LO)
    const chunks: Buffer[] = []
    let bytes = 0
    c.on('data', (d: Buffer) => {
      bytes += d.length
      if (chunks.length < 4) chunks.push(d)
    })
    c.on('connect', () => { if (send) c.end(send); else c.end() })
    c.on('error', (e: NodeJS.ErrnoException) => resolve({ text: Buffer.concat(chunks).toString(), error: e.code, bytes }))
    c.on('close', () => resolve({ text: Buffer.concat(chunks).toString(), bytes }))
  })
}

const limits = (over: Partial<PortalLimits> = {}): PortalLimits => ({ ...DEFAULT_LIMITS, ...over })
const to = (endpoints: EndpointTarget[], affinityTimeoutSeconds = 0): (() => Decision) => () => ({ verdict: 'endpoints', endpoints, affinityTimeoutSeconds })

t.test('TCP: a refused endpoint is skipped, the next one answers, bytes flow both ways', async (t) => {
  const dead = await closedPort()
  const live = await tcpEcho(t, 'live')
  const failed: string[] = []
  const p = await TcpPortal.open(4, to([ep(dead), ep(live)]), limits(), { onConnectFailed: (e, why) => failed.push(`${e.port} ${why}`) }, LO)
  t.teardown(() => p.close())
  t.equal(p.family, 4)
  for (let i = 0; i < 4; i++) {
    const r = await talk(p.port, Buffer.from('ping\n'))
    t.equal(r.text, 'live\nping\n', `connection ${i}: answered by the live endpoint, and the echo came back`)
  }
  t.ok(failed.length >= 2 && failed.every((f) => f === `${dead} ECONNREFUSED`), `the refusals were seen: ${failed}`)
})

t.test('TCP: 8 MiB each way arrive whole (pipes with backpressure)', async (t) => {
  const live = await tcpEcho(t, 'bulk')
  const p = await TcpPortal.open(4, to([ep(live)]), limits(), {}, LO)
  t.teardown(() => p.close())
  const big = Buffer.alloc(8 << 20, 7)
  const r = await talk(p.port, big)
  t.equal(r.bytes, 'bulk\n'.length + big.length, 'every byte echoed through the proxy')
})

t.test('TCP: an endpoint that writes and closes at once: a slow client still reads every byte', async (t) => {
  // The endpoint's close must not cut off what is still queued for the client.
  const big = Buffer.alloc(32 << 20, 9)
  const s = net.createServer((c) => { c.on('error', () => c.destroy()); c.end(big) })
  await new Promise<void>((r) => s.listen(0, LO, () => r()))
  t.teardown(() => s.close())
  const p = await TcpPortal.open(4, to([ep((s.address() as net.AddressInfo).port)]), limits(), {}, LO)
  t.teardown(() => p.close())
  const got = await new Promise<{ bytes: number; error?: string }>((resolve) => {
    const c = net.connect(p.port, LO)
    let bytes = 0
    c.pause()
    c.on('connect', () => { c.end(); setTimeout(() => c.resume(), 300) })
    c.on('data', (d: Buffer) => { bytes += d.length })
    c.on('error', (e: NodeJS.ErrnoException) => resolve({ bytes, error: e.code }))
    c.on('close', () => resolve({ bytes }))
  })
  t.same(got, { bytes: big.length }, 'all of it, then a clean close')
})

t.test('TCP: nothing takes the client, or the route refuses it: the client is reset', async (t) => {
  const p = await TcpPortal.open(4, to([ep(await closedPort()), ep(await closedPort())]), limits({ maxAttempts: 2 }), {}, LO)
  t.teardown(() => p.close())
  t.equal((await talk(p.port)).error, 'ECONNRESET', 'every endpoint refused')
  const q = await TcpPortal.open(4, () => ({ verdict: 'drop', reason: 'no local endpoint on this node' }), limits(), {}, LO)
  t.teardown(() => q.close())
  t.equal((await talk(q.port)).error, 'ECONNRESET', 'a drop verdict: reset at once')
  const live = await tcpEcho(t, 'x')
  const none = await TcpPortal.open(4, to([ep(await closedPort()), ep(live)]), limits({ maxAttempts: 1 }), {}, LO)
  t.teardown(() => none.close())
  const r = [await talk(none.port), await talk(none.port)]
  t.same(r.map((x) => x.error ?? x.text).sort(), ['ECONNRESET', 'x\n'], 'one attempt only: the refused turn is not retried')
})

t.test('TCP: a connection idle longer than the idle timeout is closed; close() ends live ones', async (t) => {
  const live = await tcpEcho(t, 'idle')
  const p = await TcpPortal.open(4, to([ep(live)]), limits({ tcpIdleMs: 150 }), {}, LO)
  const c = net.connect(p.port, LO)
  c.on('error', () => undefined)
  c.resume()
  const closed = new Promise<void>((r) => c.once('close', () => r()))
  await closed
  t.pass('the idle connection was closed by the proxy')
  const q = await TcpPortal.open(4, to([ep(live)]), limits(), {}, LO)
  const d = net.connect(q.port, LO)
  d.on('error', () => undefined)
  await new Promise<void>((r) => d.once('data', () => r()))
  const gone = new Promise<void>((r) => d.once('close', () => r()))
  q.close()
  await gone
  t.pass('close() ended the live connection')
  p.close()
})

async function udpEcho(t: Test, name: string): Promise<number> {
  const s = dgram.createSocket('udp4')
  s.on('message', (m, ri) => s.send(`${name} ${m.toString()}`, ri.port, ri.address))
  await new Promise<void>((r) => s.bind(0, LO, () => r()))
  t.teardown(() => s.close())
  return s.address().port
}

async function udpClient(t: Test) {
  const s = dgram.createSocket('udp4')
  await new Promise<void>((r) => s.bind(0, LO, () => r()))
  t.teardown(() => s.close())
  return {
    ask: (port: number, text: string, ms = 1000) => new Promise<string>((resolve) => {
      const timer = setTimeout(() => { s.removeAllListeners('message'); resolve('timeout') }, ms)
      s.once('message', (m) => { clearTimeout(timer); resolve(m.toString()) })
      s.send(text, port, LO)
    }),
  }
}

t.test('UDP: one flow per client, replies come back, a removed endpoint moves the flow', async (t) => {
  const a = await udpEcho(t, 'a')
  const b = await udpEcho(t, 'b')
  let eps = [ep(a), ep(b)]
  const p = await UdpPortal.open(4, () => ({ verdict: 'endpoints', endpoints: eps, affinityTimeoutSeconds: 0 }), limits(), LO)
  t.teardown(() => p.close())
  const c1 = await udpClient(t)
  const c2 = await udpClient(t)
  t.equal(await c1.ask(p.port, 'x'), 'a x', 'client 1 starts on a')
  t.equal(await c1.ask(p.port, 'y'), 'a y', 'and stays there: a flow, not per datagram')
  t.equal(await c2.ask(p.port, 'z'), 'b z', 'client 2 takes the next turn')
  t.equal(p.flowCount, 2)
  eps = [ep(b)]
  p.retain(eps)
  t.equal(p.flowCount, 1, 'the flow to a is forgotten')
  t.equal(await c1.ask(p.port, 'w'), 'b w', 'client 1\'s next datagram goes to b')
  const q = await UdpPortal.open(4, () => ({ verdict: 'reject', reason: 'no endpoints' }), limits(), LO)
  t.teardown(() => q.close())
  t.equal(await c1.ask(q.port, 'v', 300), 'timeout', 'no endpoints: nothing is sent anywhere')
  t.equal(q.flowCount, 0)
  t.equal(plainIp('::ffff:10.1.2.3'), '10.1.2.3')
  t.equal(plainIp('fd00::1'), 'fd00::1')
  t.equal(plainIp('::ffff'), '::ffff')
})

t.test('UDP: the flow table is bounded and idle flows expire', async (t) => {
  const a = await udpEcho(t, 'a')
  const p = await UdpPortal.open(4, to([ep(a)]), limits({ maxFlows: 2, udpIdleMs: 200 }), LO)
  t.teardown(() => p.close())
  const clients = [await udpClient(t), await udpClient(t), await udpClient(t)]
  for (const c of clients) t.equal(await c.ask(p.port, 'hi'), 'a hi')
  t.equal(p.flowCount, 2, 'three clients, two flows kept')
  await waitFor('idle flows to expire', () => p.flowCount === 0, { timeoutMs: 10_000, everyMs: 20 })
  t.equal(await clients[0]!.ask(p.port, 'again'), 'a again', 'an expired client starts a new flow')
})
