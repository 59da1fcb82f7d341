// `pontoon dns` (dist/) against a throwaway `pontoon api`, asked by dig (A,
// AAAA, SRV, PTR, CNAME, +tcp, truncation and the retry over TCP), following
// changes, forwarding to an upstream with its TTLs kept, REFUSED without one,
// and a hostile corpus sent raw over UDP and TCP: each message gets a clean
// answer or silence, and the server keeps answering. Everything listens on
// 127.0.0.1 in the root namespace (as the API's tests do); no network state is touched.
import t from 'tap'
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as packet from 'dns-packet'
import { call, ROOT, startApi, tempDir, type ApiProc } from '../fixtures/api/harness.ts'
import { freePort } from '../lib/ports.ts'
import { waitFor } from '../lib/wait.ts'

const run = promisify(execFile)
const PONTOON = join(ROOT, 'dist/bin/pontoon')
const WAIT_MS = 60_000

interface Dns { port: number; metricsPort: number; proc: ChildProcess; log: () => string }

async function startDns(t: { teardown(fn: () => unknown): void }, kubeconfig: string, extra: string[] = []): Promise<Dns> {
  const port = await freePort()
  const metricsPort = await freePort()
  const proc = spawn(PONTOON, ['dns', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${port}`, '--metrics-bind-address', `127.0.0.1:${metricsPort}`, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  proc.stdout!.on('data', (d: Buffer) => (log += d.toString()))
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  await waitFor('pontoon dns to serve', () => log.includes('"dns serving"') || (proc.exitCode !== null && Promise.reject(new Error(log))), { timeoutMs: WAIT_MS })
  return { port, metricsPort, proc, log: () => log }
}

async function dig(d: Dns, ...args: string[]): Promise<string> {
  const { stdout } = await run('dig', [`@127.0.0.1`, '-p', String(d.port), '+time=2', '+tries=1', ...args])
  return stdout
}
const short = async (d: Dns, ...args: string[]) => (await dig(d, '+short', ...args)).trim().split('\n').filter((l) => l !== '').sort()
const metricsText = async (d: Dns) => (await fetch(`http://127.0.0.1:${d.metricsPort}/metrics`)).text()
const cacheHits = (metrics: string) => Number(/^pontoon_dns_answer_cache_hits_total (\d+)/m.exec(metrics)?.[1] ?? NaN)
const status = (out: string) => /status: (\w+)/.exec(out)?.[1]

async function create(api: ApiProc, path: string, obj: unknown) {
  const r = await call(api, 'POST', path, obj)
  if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}
const services = '/api/v1/namespaces/default/services'
const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'
const slice = (name: string, svc: string, addressType: string, endpoints: unknown[], ports: unknown[] = []) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name, labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'test' } },
  addressType, endpoints, ports,
})

/** One UDP datagram; its reply, or null after the wait. */
function udpAsk(port: number, msg: Buffer, waitMs = 400): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const timer = setTimeout(() => { s.close(); resolve(null) }, waitMs)
    s.on('message', (m) => { clearTimeout(timer); s.close(); resolve(m) })
    s.send(msg, port, '127.0.0.1')
  })
}

/** Raw bytes over one TCP connection; every reply frame until the server closes or the wait passes. */
function tcpSend(port: number, bytes: Buffer, waitMs = 600): Promise<{ frames: Buffer[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const frames: Buffer[] = []
    let closed = false
    const finish = () => { clearTimeout(timer); s.destroy(); resolve({ frames, closed }) }
    const timer = setTimeout(finish, waitMs)
    s.on('connect', () => s.write(bytes))
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      while (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        frames.push(buf.subarray(2, buf.readUInt16BE(0) + 2))
        buf = buf.subarray(buf.readUInt16BE(0) + 2)
      }
    })
    s.on('error', () => {})
    s.on('close', () => { closed = true; finish() })
  })
}
/**
 * `perSocket` queries from each of `sockets` client sockets, sent in rounds of
 * `round` per socket at once, so they queue at the server (its batched reads
 * take them) without overflowing its socket's receive buffer (the kernel would
 * drop the rest, as UDP may). Every reply, by socket.
 */
async function udpBurst(port: number, sockets: number, perSocket: number, query: (sock: number, i: number) => Buffer, o: { round?: number; expect?: (i: number) => boolean; waitMs?: number } = {}): Promise<Buffer[][]> {
  const round = o.round ?? 20
  const expect = o.expect ?? (() => true)
  const got: Buffer[][] = Array.from({ length: sockets }, () => [])
  const socks = Array.from({ length: sockets }, () => createSocket('udp4'))
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))))
  socks.forEach((s, k) => s.on('message', (m) => got[k]!.push(m)))
  for (let from = 0; from < perSocket; from += round) {
    const to = Math.min(perSocket, from + round)
    for (let i = from; i < to; i++) socks.forEach((s, k) => s.send(query(k, i), port, '127.0.0.1'))
    let due = 0
    for (let i = 0; i < to; i++) if (expect(i)) due++
    await waitFor('a round\'s replies', () => got.every((g) => g.length >= due), { timeoutMs: o.waitMs ?? 3000 }).catch(() => {})
  }
  for (const s of socks) s.close()
  return got
}
const withId = (m: Buffer, id: number) => { const b = Buffer.from(m); b.writeUInt16BE(id, 0); return b }
const metricValue = (metrics: string, re: RegExp) => Number(re.exec(metrics)?.[1] ?? 0)

const framed = (m: Buffer) => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]) }

/** A clean answer: a whole DNS response (QR set) that decodes, with the query's ID when it had one. */
function clean(reply: Buffer, sent: Buffer): string | null {
  if (reply.length < 12) return `a ${reply.length}-byte reply`
  if (!(reply[2]! & 0x80)) return 'a reply without QR'
  if (sent.length >= 2 && reply.readUInt16BE(0) !== sent.readUInt16BE(0)) return 'another ID'
  try { packet.decode(reply) } catch (e) { return `undecodable: ${(e as Error).message}` }
  return null
}

const header = (id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0) => {
  const b = Buffer.alloc(12)
  b.writeUInt16BE(id, 0); b.writeUInt16BE(flags, 2); b.writeUInt16BE(qd, 4); b.writeUInt16BE(an, 6); b.writeUInt16BE(ns, 8); b.writeUInt16BE(ar, 10)
  return b
}
const qtail = Buffer.from([0, 1, 0, 1])
const q = (name: string, type = 'A') => packet.encode({ id: 0x4242, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }] })
const labelsOf = (...ls: string[]) => Buffer.concat([...ls.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
const withOpt = (rdata: Buffer, payload = 4096, version = 0, rdlen = rdata.length) => {
  const o = Buffer.alloc(11)
  o[0] = 0; o.writeUInt16BE(41, 1); o.writeUInt16BE(payload, 3); o[5] = 0; o[6] = version; o.writeUInt16BE(0, 7); o.writeUInt16BE(rdlen, 9)
  return Buffer.concat([header(0x5151, 0x0100, 1, 0, 0, 1), labelsOf('web', 'default', 'svc', 'cluster', 'local'), qtail, o, rdata])
}

/** >= 20 malformed or oversized queries (a name each, for the report). */
const HOSTILE: Array<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from([0x12])],
  ['an 11-byte header', header(1, 0x0100, 1).subarray(0, 11)],
  ['a header promising a question, none there', header(2, 0x0100, 1)],
  ['no question at all', header(3, 0x0100, 0)],
  ['65535 questions promised, one sent', Buffer.concat([header(4, 0x0100, 65535), labelsOf('a', 'cluster', 'local'), qtail])],
  ['a name cut before its type and class', Buffer.concat([header(5, 0x0100, 1), labelsOf('web', 'cluster', 'local')])],
  ['a label running past the end', Buffer.concat([header(6, 0x0100, 1), Buffer.from([40, 0x61, 0x62])])],
  ['a compression pointer to itself', Buffer.concat([header(7, 0x0100, 1), Buffer.from([0xc0, 12]), qtail])],
  ['a compression pointer forward', Buffer.concat([header(8, 0x0100, 1), Buffer.from([0xc0, 16]), qtail, Buffer.from([0])])],
  ['two pointers pointing at each other', Buffer.concat([header(9, 0x0100, 2), Buffer.from([0xc0, 18]), qtail, Buffer.from([0xc0, 12]), qtail])],
  ['a pointer past the message', Buffer.concat([header(10, 0x0100, 1), Buffer.from([0xff, 0xff]), qtail])],
  ['label type 01 (0x40)', Buffer.concat([header(11, 0x0100, 1), Buffer.from([0x41, 0x61, 0]), qtail])],
  ['label type 10 (0x80)', Buffer.concat([header(12, 0x0100, 1), Buffer.from([0x81, 0x61, 0]), qtail])],
  ['200 labels (a name past 255 bytes)', Buffer.concat([header(13, 0x0100, 1), labelsOf(...Array.from({ length: 200 }, () => 'a')), qtail])],
  ['four 63-byte labels (past 255)', Buffer.concat([header(14, 0x0100, 1), labelsOf(...Array.from({ length: 4 }, () => 'b'.repeat(63))), qtail])],
  ['a label holding a dot', Buffer.concat([header(15, 0x0100, 1), labelsOf('we.b', 'default', 'svc', 'cluster', 'local'), qtail])],
  ['bytes 0xff in a label', Buffer.concat([header(16, 0x0100, 1), labelsOf('\xff\xfe', 'cluster', 'local'), qtail])],
  ['EDNS version 1', withOpt(Buffer.alloc(0), 4096, 1)],
  ['EDNS with payload size 0', withOpt(Buffer.alloc(0), 0)],
  ['EDNS rdlen past the end', withOpt(Buffer.alloc(0), 4096, 0, 300)],
  ['EDNS option longer than its rdata', withOpt(Buffer.from([0, 10, 0, 200, 1, 2]))],
  ['two OPT records', (() => { const one = withOpt(Buffer.alloc(0)); const b = Buffer.concat([one, one.subarray(one.length - 11)]); b.writeUInt16BE(2, 10); return b })()],
  ['65535 additionals promised', Buffer.concat([header(20, 0x0100, 1, 0, 0, 65535), labelsOf('web', 'cluster', 'local'), qtail])],
  ['an answer section of garbage', Buffer.concat([header(21, 0x0100, 1, 1), labelsOf('web', 'cluster', 'local'), qtail, Buffer.from([0xde, 0xad, 0xbe, 0xef])])],
  ['a response (QR set)', (() => { const b = Buffer.from(q('web.default.svc.cluster.local')); b[2] = b[2]! | 0x80; return b })()],
  ['opcode UPDATE', (() => { const b = Buffer.from(q('web.default.svc.cluster.local')); b[2] = (b[2]! & 0x87) | (5 << 3); return b })()],
  ['type 0 class 0', Buffer.concat([header(24, 0x0100, 1), labelsOf('web', 'cluster', 'local'), Buffer.from([0, 0, 0, 0])])],
  ['class CHAOS version.bind', packet.encode({ id: 25, type: 'query', questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] })],
  ['60,000 bytes of junk after a header', Buffer.concat([header(26, 0x0100, 1), Buffer.alloc(60_000, 0x3f)])],
  ['60,000 random bytes', Buffer.from(Array.from({ length: 60_000 }, (_, i) => (i * 7919 + 13) & 0xff))],
]

t.test('pontoon dns with dig, against a live API', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'dns'), args: ['--service-cidr', '10.96.0.0/16'] })
  t.teardown(() => api.stop())
  const web = await create(api, services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }] } })
  await create(api, services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } })
  await create(api, slices, slice('db-v4', 'db', 'IPv4', [{ addresses: ['10.244.1.5'], hostname: 'db-0', conditions: { ready: true } }, { addresses: ['10.244.2.6'], conditions: { ready: true } }, { addresses: ['10.244.3.7'], conditions: { ready: false } }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]))
  await create(api, slices, slice('db-v6', 'db', 'IPv6', [{ addresses: ['fd00:10:244::5'], conditions: { ready: true } }]))
  await create(api, services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.org' } })
  await create(api, services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big' }, spec: { clusterIP: 'None' } })
  await create(api, slices, slice('big-1', 'big', 'IPv4', Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.9.${i + 1}`] }))))
  const webIP = web.spec.clusterIP as string
  const dns = await startDns(t, api.kubeconfig, ['--ttl', '7'])

  t.same(await short(dns, 'web.default.svc.cluster.local', 'A'), [webIP], 'A: the ClusterIP')
  const full = await dig(dns, 'web.default.svc.cluster.local', 'A')
  t.match(full, /flags: qr aa rd;/, 'authoritative')
  t.match(full, new RegExp(`web\\.default\\.svc\\.cluster\\.local\\.\\s+7\\s+IN\\s+A\\s+${webIP.replace(/\./g, '\\.')}`), 'the --ttl')
  t.same(await short(dns, 'db.default.svc.cluster.local', 'A'), ['10.244.1.5', '10.244.2.6'], 'headless A: the ready endpoints')
  t.same(await short(dns, 'db.default.svc.cluster.local', 'AAAA'), ['fd00:10:244::5'], 'headless AAAA')
  t.same(await short(dns, 'db-0.db.default.svc.cluster.local', 'A'), ['10.244.1.5'], 'an endpoint hostname')
  t.same(await short(dns, '_http._tcp.web.default.svc.cluster.local', 'SRV'), ['0 100 80 web.default.svc.cluster.local.'], 'SRV, ClusterIP')
  t.same(await short(dns, '_pg._tcp.db.default.svc.cluster.local', 'SRV'), ['0 100 5432 10-244-2-6.db.default.svc.cluster.local.', '0 100 5432 db-0.db.default.svc.cluster.local.'], 'SRV, headless')
  t.same(await short(dns, '-x', webIP), ['web.default.svc.cluster.local.'], 'PTR of the ClusterIP')
  t.same(await short(dns, '-x', '10.244.1.5'), ['db-0.db.default.svc.cluster.local.'], 'PTR of an endpoint')
  t.same(await short(dns, 'ext.default.svc.cluster.local', 'CNAME'), ['db.example.org.'], 'ExternalName CNAME')
  t.same(await short(dns, '10-244-7-8.default.pod.cluster.local', 'A'), ['10.244.7.8'], 'a pod A record')
  t.same(await short(dns, '+tcp', 'web.default.svc.cluster.local', 'A'), [webIP], '+tcp')
  const nx = await dig(dns, 'nope.default.svc.cluster.local', 'A')
  t.equal(status(nx), 'NXDOMAIN')
  t.match(nx, /AUTHORITY SECTION:\ncluster\.local\.\s+7\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./, 'with the SOA')
  t.equal(status(await dig(dns, 'example.com', 'A')), 'REFUSED', 'no --upstream: REFUSED')

  const cut = await dig(dns, '+ignore', '+noedns', 'big.default.svc.cluster.local', 'A')
  t.match(cut, /flags: qr aa tc rd;/, 'over 512 bytes: TC')
  t.match(cut, /ANSWER: 0,/)
  t.equal((await short(dns, '+noedns', 'big.default.svc.cluster.local', 'A')).length, 60, 'dig retries over TCP and gets all 60')
  t.match(await dig(dns, '+ignore', '+bufsize=4096', 'big.default.svc.cluster.local', 'A'), /flags: qr aa tc rd;/, '60 records pass 1232 bytes too: TC with EDNS')
  t.match(await dig(dns, '+bufsize=4096', 'db.default.svc.cluster.local', 'A'), /udp: 1232/, 'EDNS answered with our payload size')

  // follows the API: a Service created now resolves, a deleted endpoint disappears, a type change shows.
  // Each name is asked twice first (the second from the answer cache, the same bytes bar the ID): a change must reach past the cache.
  // +nocookie: dig's random EDNS client cookie would make every query's bytes new (real stub resolvers send none).
  const hitsBefore = cacheHits(await metricsText(dns))
  const dbTwice = [await short(dns, '+nocookie', 'db.default.svc.cluster.local', 'A'), await short(dns, '+nocookie', 'db.default.svc.cluster.local', 'A')]
  t.same(dbTwice, [['10.244.1.5', '10.244.2.6'], ['10.244.1.5', '10.244.2.6']], 'asked twice, answered the same')
  t.equal(status(await dig(dns, '+nocookie', 'late.default.svc.cluster.local', 'A')), 'NXDOMAIN', 'not yet created')
  t.equal(status(await dig(dns, '+nocookie', 'late.default.svc.cluster.local', 'A')), 'NXDOMAIN', 'not yet created, asked again')
  t.equal(cacheHits(await metricsText(dns)) - hitsBefore, 2, 'the second asks (and only those) came from the answer cache')
  // an error reply is never cached: garbage must not evict what real clients ask again
  const garbage = q('web.default.svc.cluster.local').subarray(0, 20)
  const formerr = [await udpAsk(dns.port, garbage, 3000), await udpAsk(dns.port, garbage, 3000)]
  t.same(formerr.map((a) => a && a.length === 12 && (a[3]! & 0xf)), [1, 1], 'a cut query, twice: FORMERR both times')
  t.equal(cacheHits(await metricsText(dns)) - hitsBefore, 2, 'and neither answer came from the cache')
  await create(api, services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'late' }, spec: { ports: [{ port: 80 }] } })
  await waitFor('a new Service to resolve', async () => (await short(dns, '+nocookie', 'late.default.svc.cluster.local', 'A')).length === 1, { timeoutMs: 10_000 })
  t.same(await short(dns, '+nocookie', 'late.default.svc.cluster.local', 'A'), await short(dns, '+nocookie', 'late.default.svc.cluster.local', 'A'), 'and again, twice, before it goes')
  const r = await call(api, 'PUT', `${slices}/db-v4`, { ...slice('db-v4', 'db', 'IPv4', [{ addresses: ['10.244.1.5'], hostname: 'db-0', conditions: { ready: true } }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]) })
  t.equal(r.status, 200)
  await waitFor('the endpoint to leave', async () => (await short(dns, '+nocookie', 'db.default.svc.cluster.local', 'A')).join() === '10.244.1.5', { timeoutMs: 10_000 })
  t.equal((await call(api, 'DELETE', `${services}/late`)).status, 200)
  await waitFor('a deleted Service to be NXDOMAIN', async () => status(await dig(dns, '+nocookie', 'late.default.svc.cluster.local', 'A')) === 'NXDOMAIN', { timeoutMs: 10_000 })

  await t.test('a UDP burst from 8 sockets: read in batches, each reply to its asker with its ID and its name\'s answer', async (t) => {
    const before = metricValue(await metricsText(dns), /^pontoon_dns_udp_batched_total (\d+)/m)
    const names = ['web.default.svc.cluster.local', 'db.default.svc.cluster.local', 'nope.default.svc.cluster.local', 'example.com']
    const want = (name: string) => name === 'web.default.svc.cluster.local' ? { rcode: 'NOERROR', a: [webIP] } : name === 'db.default.svc.cluster.local' ? { rcode: 'NOERROR', a: ['10.244.1.5'] } : name === 'example.com' ? { rcode: 'REFUSED', a: [] } : { rcode: 'NXDOMAIN', a: [] }
    // socket k, query i: ID k*1000+i, name i mod 4, and every 25th an oversized 5,000-byte junk datagram (no reply expected or counted)
    const PER = 200
    const query = (k: number, i: number) => i % 25 === 24 ? Buffer.concat([header(k * 1000 + i, 0x0100, 1), Buffer.alloc(5000, 0x3f)]) : withId(q(names[i % 4]!), k * 1000 + i)
    const got = await udpBurst(dns.port, 8, PER, query, { expect: (i) => i % 25 !== 24 })
    let wrong = 0
    let answered = 0
    got.forEach((replies, k) => {
      for (const r of replies) {
        const d = packet.decode(r)
        const i = d.id! - k * 1000
        if (i < 0 || i >= PER) { wrong++; continue }
        if (i % 25 === 24) continue
        answered++
        const w = want(names[i % 4]!)
        const a = (d.answers ?? []).filter((x) => x.type === 'A').map((x) => (x as { data: string }).data)
        if (d.questions?.[0]?.name !== names[i % 4] || (d as { rcode?: string }).rcode !== w.rcode || a.join() !== w.a.join()) wrong++
      }
    })
    t.equal(wrong, 0, 'no reply went to another socket, carried another ID, or answered another name')
    t.ok(answered >= 8 * (PER - PER / 25) * 0.95, `${answered} of ${8 * (PER - PER / 25)} queries answered (a loaded loopback may drop a few datagrams, as UDP may)`)
    const after = await metricsText(dns)
    t.ok(metricValue(after, /^pontoon_dns_udp_batched_total (\d+)/m) > before, 'some of them were read by the batched drain')
    t.ok(await udpAsk(dns.port, q('web.default.svc.cluster.local'), 3000), 'and the server still answers one by one')
  })

  const metrics = await metricsText(dns)
  t.match(metrics, /pontoon_dns_queries_total\{transport="udp",type="A",rcode="NOERROR"\} \d+/, 'queries by type and rcode')
  t.match(metrics, /pontoon_dns_queries_total\{transport="udp",type="A",rcode="REFUSED"\} \d+/)
  t.match(metrics, /pontoon_dns_queries_total\{transport="tcp",type="A",rcode="NOERROR"\} \d+/)
  t.match(metrics, /pontoon_dns_request_duration_seconds_bucket\{le="0.0001",transport="udp"\}/, 'the latency histogram')
  t.match(metrics, /pontoon_watch_events_total/, 'and the client\'s own series')

  await t.test('forwarding: names outside the zone go to --upstream, TTLs kept, over UDP and TCP', async (t) => {
    const upstream = await startDns(t, api.kubeconfig, ['--cluster-domain', 'upstream.test', '--ttl', '77'])
    const fwd = await startDns(t, api.kubeconfig, ['--upstream', `127.0.0.1:${upstream.port}`])
    const out = await dig(fwd, 'web.default.svc.upstream.test', 'A')
    t.match(out, new RegExp(`web\\.default\\.svc\\.upstream\\.test\\.\\s+77\\s+IN\\s+A\\s+${webIP.replace(/\./g, '\\.')}`), 'the upstream\'s answer and TTL')
    t.same(await short(fwd, '+tcp', 'web.default.svc.upstream.test', 'A'), [webIP], 'over TCP')
    t.equal(status(await dig(fwd, 'nope.upstream.test', 'A')), 'NXDOMAIN', 'the upstream\'s rcode relayed')
    t.same(await short(fwd, 'web.default.svc.cluster.local', 'A'), [webIP], 'its own zone still its own')
    // forwarded answers come later than the batch they arrived in: each must still find its asker
    const got = await udpBurst(fwd.port, 4, 50, (k, i) => withId(q('web.default.svc.upstream.test'), k * 1000 + i), { waitMs: 10_000 })
    const misrouted = got.flatMap((replies, k) => replies.filter((r) => Math.floor(r.readUInt16BE(0) / 1000) !== k))
    t.same(misrouted, [], 'a burst of forwarded queries: no reply reached another socket')
    t.ok(got.every((g) => g.length >= 45), `each socket got its forwarded answers (${got.map((g) => g.length).join(', ')} of 50)`)
    const dead = await freePort()
    const broken = await startDns(t, api.kubeconfig, ['--upstream', `127.0.0.1:${dead}`])
    t.equal(status(await dig(broken, '+time=5', 'example.com', 'A')), 'SERVFAIL', 'an upstream that does not answer: SERVFAIL')
  })

  await t.test('a hostile corpus over UDP and TCP: a clean answer or silence, and the server keeps answering', async (t) => {
    t.ok(HOSTILE.length >= 20, `${HOSTILE.length} messages`)
    const healthy = async () => {
      const a = await udpAsk(dns.port, q('web.default.svc.cluster.local'), 3000)
      return a !== null && packet.decode(a).answers?.some((x) => (x as { data?: unknown }).data === webIP)
    }
    for (const [name, msg] of HOSTILE) {
      if (msg.length <= 65507) {
        const reply = await udpAsk(dns.port, msg)
        t.equal(reply === null ? null : clean(reply, msg), null, `udp: ${name}: ${reply === null ? 'silence' : `rcode ${reply[3]! & 0xf}`}`)
      }
      if (msg.length <= 65535) {
        const { frames } = await tcpSend(dns.port, framed(msg))
        t.ok(frames.length <= 1, `tcp: ${name}: at most one reply`)
        for (const f of frames) t.equal(clean(f, msg), null, `tcp: ${name}: clean`)
      }
      t.ok(await healthy(), `still answering after ${name}`)
    }
    // TCP framing abuse
    const zero = await tcpSend(dns.port, Buffer.from([0, 0]))
    t.same(zero.frames, [], 'a zero-length frame: silence')
    const half = await tcpSend(dns.port, Buffer.from([0x01]))
    t.same(half.frames, [], 'half a length prefix: silence')
    const short1 = await tcpSend(dns.port, Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(100)]))
    t.same(short1.frames, [], 'a frame promising 65535 bytes, sending 100: silence')
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => framed(q('web.default.svc.cluster.local'))))
    const flood = await tcpSend(dns.port, burst, 3000)
    t.ok(flood.closed, '1000 pipelined queries at once: the connection is cut (bounded)')
    const pipelined = await tcpSend(dns.port, Buffer.concat(Array.from({ length: 10 }, () => framed(q('web.default.svc.cluster.local')))), 3000)
    t.equal(pipelined.frames.length, 10, '10 pipelined queries: 10 answers')
    t.ok(await healthy(), 'still answering at the end')
    t.equal(dns.proc.exitCode, null, 'the process never exited')
  })
})
