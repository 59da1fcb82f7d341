// The DNS server's batched UDP path (src/dns/udp-batch.ts) on real sockets on
// loopback (no network state is touched): datagrams queued on a socket are read
// by one drain, each reply reaches its own sender with its own bytes, an
// oversized query is dropped and counted, silence stays silent, a late
// (promised) reply goes to the right peer, over IPv4 and IPv6.
import t from 'tap'
import { createSocket, type Socket } from 'node:dgram'
import { BATCH, MAX_QUERY, MAX_REPLY, peerOf, UdpBatch, type Peer } from '../../src/dns/udp-batch.ts'
import { boundUdpFd } from '../../src/api/server/netns-socket.ts'
import { rawLibc } from '../../src/sys/libc.ts'
import { freePort } from '../lib/ports.ts'
import { waitFor } from '../lib/wait.ts'

const bound = (s: Socket, host: string) => new Promise<void>((r) => s.bind(0, host, () => r()))

for (const [family, host] of [['udp4', '127.0.0.1'], ['udp6', '::1']] as const) {
  t.test(`${family}: one drain reads the queue, answers each sender`, async (t) => {
    const port = await freePort()
    const fd = boundUdpFd(host, port)
    t.teardown(() => rawLibc().close(fd))
    const batch = UdpBatch.open(fd)
    if (!batch) throw new Error('no batched UDP on this platform')

    const clients = [createSocket(family), createSocket(family), createSocket(family)]
    t.teardown(() => { for (const c of clients) c.close() })
    for (const c of clients) await bound(c, host)
    const got = clients.map(() => [] as string[])
    clients.forEach((c, k) => c.on('message', (m) => got[k]!.push(m.toString())))

    // 3 x 60 small queries (more than one batch of BATCH), one oversized, one that gets no answer, one answered late
    const N = 60
    for (let i = 0; i < N; i++) clients.forEach((c, k) => c.send(`q ${k} ${i}`, port, host))
    clients[0]!.send(Buffer.alloc(MAX_QUERY + 1, 0x41), port, host)
    clients[1]!.send('silent', port, host)
    clients[2]!.send('later', port, host)
    await new Promise((r) => setTimeout(r, 200)) // all queued at the server's socket

    const late: Array<{ reply: Buffer; peer: Peer }> = []
    const seen: string[] = []
    const r = batch.drain((msg) => {
      const text = msg.toString()
      seen.push(text)
      if (text === 'silent') return null
      if (text === 'later') return Promise.resolve(Buffer.from('late answer'))
      return Buffer.from(`a ${text.slice(2)}`)
    }, (reply, peer) => late.push({ reply, peer }), 1000)

    t.equal(r.received, 3 * N + 3, 'every queued datagram read in one drain')
    t.ok(3 * N + 3 > BATCH, 'which took more than one recvmmsg')
    t.equal(r.oversized, 1, 'the oversized one dropped and counted')
    t.equal(seen.length, 3 * N + 2, 'the others handed to answer')
    t.equal(r.sent, 3 * N, 'one reply each, but for silence and the late one')
    t.equal(r.unsent, 0)
    await waitFor('the replies', () => got.every((g) => g.length >= N), { timeoutMs: 5000 })
    clients.forEach((_c, k) => t.same(got[k], Array.from({ length: N }, (_, i) => `a ${k} ${i}`), `client ${k + 1} got exactly its own replies, in order`))

    await waitFor('the late reply', () => late.length === 1, { timeoutMs: 2000 })
    const me = clients[2]!.address()
    t.same(late[0]!.peer, { address: host, port: me.port }, 'the late reply is sent to the peer that asked')
    t.equal(late[0]!.reply.toString(), 'late answer')

    const again = batch.drain(() => Buffer.from('x'), () => {})
    t.same(again, { received: 0, sent: 0, oversized: 0, unsent: 0 }, 'an empty queue: a drain reads nothing and returns')
  })
}

t.test('a reply longer than a send slot goes out through the fallback', async (t) => {
  const port = await freePort()
  const fd = boundUdpFd('127.0.0.1', port)
  t.teardown(() => rawLibc().close(fd))
  const batch = UdpBatch.open(fd)!
  const c = createSocket('udp4')
  t.teardown(() => c.close())
  await bound(c, '127.0.0.1')
  c.send('big', port, '127.0.0.1')
  await new Promise((r) => setTimeout(r, 100))
  const fallback: Peer[] = []
  const r = batch.drain(() => Buffer.alloc(MAX_REPLY + 1), (_b, p) => fallback.push(p))
  t.equal(r.sent, 0, 'not through the batch')
  t.same(fallback, [{ address: '127.0.0.1', port: c.address().port }], 'but handed to the fallback sender, with its peer')
})

t.test('boundUdpFd: a taken port is a clear error', async (t) => {
  const port = await freePort()
  const fd = boundUdpFd('127.0.0.1', port)
  t.teardown(() => rawLibc().close(fd))
  t.throws(() => boundUdpFd('127.0.0.1', port), { code: 'EADDRINUSE', message: /bind UDP 127\.0\.0\.1:\d+ failed: EADDRINUSE/ })
  t.throws(() => boundUdpFd('not-an-ip', 53), { code: 'EBADHOST' })
})

t.test('peerOf reads sockaddr_in and sockaddr_in6', async (t) => {
  const v4 = Buffer.alloc(32)
  v4.writeUInt16LE(2, 0); v4.writeUInt16BE(5353, 2); Buffer.from([10, 96, 0, 10]).copy(v4, 4)
  t.same(peerOf(v4), { address: '10.96.0.10', port: 5353 })
  const v6 = Buffer.alloc(32)
  v6.writeUInt16LE(10, 0); v6.writeUInt16BE(53, 2); Buffer.from('fd000000000000000000000000000001', 'hex').copy(v6, 8)
  t.same(peerOf(v6), { address: 'fd00::1', port: 53 })
})
