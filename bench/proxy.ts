// Issue 8's speed figures for the service proxy, side by side in one run:
//   - cold sync: "cache synced" in the agent's log -> the rules in the kernel, with
//     two anchors: kube-proxy's own nftables layout for the same Services loaded by
//     `nft -f` (bench/lib/kube-proxy-nft.ts), and the raw lower bound of our layout
//     (the agent's ruleset, dumped and loaded by `nft -f` / iptables-restore into a fresh netns);
//   - one endpoint change, p50/p99 over --changes changes written through the API,
//     from the write to the new endpoint showing up in the kernel's nf_tables change events in the node;
//     anchor: the same change through the nft CLI against kube-proxy's layout;
//   - data path: TCP connect latency to the first and the last Service against a
//     direct connect to the pod;
//   - no endpoints: 20 back-to-back connects, how many refused and how fast;
//   - the agent's RSS with everything programmed.
// Prints figures only; no thresholds. Needs root and a fresh `npm run build` (the
// agent runs from dist/), and the agent wired with --proxy-mode.
//
//   node --import tsx bench/proxy.ts [--services 10000] [--mode nftables|iptables]
//        [--anchor-services 2000] [--changes 200] [--connects 2000]
//
// Everything runs in namespaces named with the run prefix (test/lib/netns.ts);
// the API listens on 127.0.0.1 in the root namespace and inside the node's.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { arg } from './lib/shipped-node.ts'
import { nftEvents } from './lib/nft-events.ts'

const SERVICES = Number(arg('services', '10000'))
const MODE = arg('mode', 'nftables') as 'nftables' | 'iptables'
const ANCHOR_SERVICES = Math.min(SERVICES, Number(arg('anchor-services', '2000')))
const CHANGES = Number(arg('changes', '200'))
const CONNECTS = Number(arg('connects', '2000'))
const M = 10
const CONCURRENCY = 32
const CLUSTER_CIDR = '10.244.0.0/16'
if (!(SERVICES >= 3) || !['nftables', 'iptables'].includes(MODE)) {
  console.error('usage: bench/proxy.ts [--services N>=3] [--mode nftables|iptables] [--anchor-services N] [--changes N] [--connects N]')
  process.exit(2)
}

const lab = await import('../test/lib/proxy-lab.ts')
const { makeNetns } = await import('../test/lib/netns.ts')
const { waitFor } = await import('../test/lib/wait.ts')
const kp = await import('./lib/kube-proxy-nft.ts')

const teardowns: Array<() => unknown> = []
const t = { teardown: (f: () => unknown) => void teardowns.push(f) }
let tornDown = false
async function teardown(): Promise<void> {
  if (tornDown) return
  tornDown = true
  for (const f of teardowns.reverse()) try { await f() } catch { /* keep going */ }
}
process.once('SIGINT', () => { void teardown().then(() => process.exit(130)) })

const rows: Array<[string, string]> = []
const row = (k: string, v: string) => { rows.push([k, v]); console.error(`  ${k}: ${v}`) }
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`)
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN
}
const sortNum = (xs: number[]) => [...xs].sort((a, b) => a - b)
function timed(f: () => void): number {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}
const fakeIp = (n: number) => `10.${245 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`

// ---------------------------------------------------------------- API with keep-alive (20,000 writes)

type Ep = { url: string; ca: string; token: string }
function client(ep: Ep) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: ep.ca })
  teardowns.push(() => agent.destroy())
  return (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => new Promise((res, rej) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = https.request(ep.url + path, {
      method, agent, ca: ep.ca,
      headers: { authorization: `Bearer ${ep.token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
    }, (r) => {
      let text = ''
      r.setEncoding('utf8')
      r.on('data', (d: string) => { text += d })
      r.on('end', () => { let b: unknown = text; try { b = JSON.parse(text) } catch { /* text */ } res({ status: r.statusCode ?? 0, body: b }) })
    })
    req.on('error', rej)
    req.end(data)
  })
}

async function pool(n: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < n) await work(next++) }))
}

function sliceBody(i: number, endpoints: string[]) {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `svc-${i}-a`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((ip, j) => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: j % 2 ? lab.OTHER_NODE : lab.NODE_NAME })),
  }
}

try {
  console.error(`proxy bench: ${SERVICES} Services x ${M} endpoints, mode ${MODE}, run prefix ${process.env.PONTOON_RUN ?? '(random)'}`)
  const L = await lab.makeProxyLab({ backends: 3, clients: 1 })
  teardowns.push(() => L.destroy())
  const wired = lab.agentHasProxy(L.node)
  if (!wired.wired) throw new Error('pontoon agent has no --proxy-mode yet: the proxy is not wired into the agent')
  const [b0, b1, b2] = L.backends as [typeof L.backends[0], typeof L.backends[0], typeof L.backends[0]]
  const cli = L.clients[0]!
  const real = [b0.ip4, b1.ip4, b2.ip4]

  // ---- populate the API
  const api = await lab.startLabApi(t, L.node)
  const call = client(api)
  await lab.applyNodes(api)
  const vips: string[] = new Array(SERVICES)
  const eps: string[][] = new Array(SERVICES)
  let t0 = performance.now()
  await pool(SERVICES, async (i) => {
    const s = await call('POST', lab.SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } })
    if (s.status !== 201) throw new Error(`svc-${i}: ${s.status} ${JSON.stringify(s.body).slice(0, 300)}`)
    vips[i] = s.body.spec.clusterIP
    // the first and the last Service lead to the real backends; the rest to addresses nobody has
    eps[i] = i === 0 || i === SERVICES - 1 ? real : Array.from({ length: M }, (_, j) => fakeIp(i * M + j))
    const e = await call('POST', lab.SLICES, sliceBody(i, eps[i]!))
    if (e.status !== 201) throw new Error(`slice ${i}: ${e.status} ${JSON.stringify(e.body).slice(0, 300)}`)
  })
  const empty = await call('POST', lab.SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } })
  const emptyVip: string = empty.body.spec.clusterIP
  row('populate the API (parallel POSTs)', `${SERVICES} Services + ${SERVICES} EndpointSlices in ${ms(performance.now() - t0)}`)
  const FIRST = vips[0]!, LAST = vips[SERVICES - 1]!

  // ---- cold sync. While nothing is programmed, a SYN to a VIP leaves the node for the
  // outside namespace; a reset there makes each probe fail at once instead of timing out.
  L.outside.run('nft', ['-f', '-'], { input: 'table inet benchsink {\n chain pre {\n  type filter hook prerouting priority 0;\n  ip daddr 10.96.0.0/16 tcp flags syn reject with tcp reset\n }\n}\n' })
  const agent = lab.startAgent(t, L.node, lab.agentArgs(api, { mode: MODE, syncPeriodS: 3600, minSyncPeriodS: 0 }))
  const programmedAt = await waitFor('the last Service to answer', async () => {
    const o = await lab.tcpAsk(cli.ns, LAST, 80, 200)
    return o.ok && Date.now()
  }, { timeoutMs: 600_000, everyMs: 1, abandon: () => agent.child.exitCode !== null })
  const synced = await waitFor('"cache synced" in the agent log', () => agent.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('cache synced')), { timeoutMs: 10_000 })
    .catch(() => { console.error(`agent log so far: ${[...new Set(agent.logs.map((l) => l.msg))].slice(0, 20).join(' | ')} ${agent.other.slice(0, 5).join(' | ')}`); return undefined })
  const syncedAt = Number(synced?.time)
  row(`cold sync (${MODE}): "cache synced" -> last Service answers`, synced ? ms(programmedAt - syncedAt) : 'no "cache synced" line in the agent log')
  row('  agent\'s first log line -> cache synced', synced ? ms(syncedAt - Number(agent.logs[0]?.time ?? syncedAt)) : '-')
  L.outside.run('nft', ['delete', 'table', 'inet', 'benchsink'])
  const status = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024
  const rss = () => status('VmRSS')
  // What the RSS is made of, from the agent's own /metrics (prom-client's default series).
  const heapFigures = () => {
    const text = L.node.run('curl', ['-s', `http://${lab.AGENT_METRICS.host}:${lab.AGENT_METRICS.port}/metrics`])
    const mb = (name: string) => (Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]) / 2 ** 20).toFixed(1)
    return `${mb('nodejs_heap_size_used_bytes')} / ${mb('nodejs_heap_size_total_bytes')} MB, ${mb('nodejs_external_memory_bytes')} MB`
  }
  // Right after a cold sync the RSS is near its peak (libnftables' parse of the whole
  // ruleset, V8's garbage not yet collected); the agent gives most of it back within
  // seconds, and what it holds from then on is the figure a node lives with.
  row('agent RSS right after the cold sync', `${rss().toFixed(1)} MB`)
  await new Promise((r) => setTimeout(r, 10_000))
  row('agent RSS, everything programmed, settled 10 s', `${rss().toFixed(1)} MB (peak VmHWM ${status('VmHWM').toFixed(1)} MB)`)
  row('  of which V8 heap used / total, external + array buffers', heapFigures())

  // ---- raw lower bound of our layout: the agent's own ruleset, loaded without the agent
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-bench-proxy-'))
  teardowns.push(() => rmSync(dir, { recursive: true, force: true }))
  {
    const fresh = makeNetns('raw')
    teardowns.push(() => fresh.destroy())
    if (MODE === 'nftables') {
      const dump = L.node.run('nft', ['list', 'table', 'inet', 'pontoon'])
      writeFileSync(join(dir, 'ours.nft'), dump)
      const r = { ms: 0, err: '' }
      r.ms = timed(() => { const x = fresh.try('nft', ['-f', join(dir, 'ours.nft')]); r.err = x.status ? x.stderr.split('\n')[0]! : '' })
      row('lower bound: our ruleset by nft -f into a fresh netns', r.err ? `failed: ${r.err}` : `${ms(r.ms)} (${(dump.length / 1e6).toFixed(1)} MB, ${dump.split('\n').length} lines)`)
    } else {
      const sets = L.node.try('ipset', ['save']).stdout
      const save = L.node.run('iptables-save', [])
      writeFileSync(join(dir, 'ours.ipset'), sets)
      writeFileSync(join(dir, 'ours.iptables'), save)
      const r = { ms: 0, err: '' }
      r.ms = timed(() => {
        const a = fresh.try('ipset', ['restore', '-f', join(dir, 'ours.ipset')])
        const b = fresh.try('sh', ['-c', `iptables-restore < ${join(dir, 'ours.iptables')}`])
        r.err = a.status ? a.stderr : b.status ? b.stderr : ''
      })
      row('lower bound: our ipsets + iptables-restore into a fresh netns', r.err ? `failed: ${r.err.split('\n')[0]}` : `${ms(r.ms)} (${save.split('\n').length} lines)`)
    }
  }

  // ---- anchor: kube-proxy's layout for the first ANCHOR_SERVICES of the same Services
  const anchorNs = makeNetns('kp')
  teardowns.push(() => anchorNs.destroy())
  // the endpoints as loaded: the change loop below moves ours on, the anchor's move on their own
  const anchorEps = eps.slice(0, ANCHOR_SERVICES)
  const anchorSvc = (i: number) => ({ namespace: 'default', name: `svc-${i}`, clusterIP: vips[i]!, port: 80, endpoints: anchorEps[i]!.map((ip) => ({ ip, port: 8080 })) })
  const kpText = kp.fullRuleset(Array.from({ length: ANCHOR_SERVICES }, (_, i) => anchorSvc(i)), CLUSTER_CIDR)
  writeFileSync(join(dir, 'kube-proxy.nft'), kpText)
  {
    let err = ''
    const took = timed(() => { const x = anchorNs.try('nft', ['-f', join(dir, 'kube-proxy.nft')]); err = x.status ? x.stderr.split('\n')[0]! : '' })
    row(`anchor: kube-proxy's layout by nft -f, ${ANCHOR_SERVICES} Services`, err ? `failed: ${err}` : `${ms(took)} (${(kpText.length / 1e6).toFixed(1)} MB)`)
  }

  // ---- one endpoint change, through the API, until the kernel has it
  // (the kernel's own nf_tables change events, bench/lib/nft-events.ts, for both modes: iptables-nft writes rules;
  // `nft monitor` would first spend minutes reading 175,000 lines into its cache)
  const events = nftEvents(L.node.path)
  teardowns.push(() => events.close())
  const oursLat: number[] = []
  let missed = 0
  const stride = Math.max(1, Math.floor((SERVICES - 2) / Math.max(1, CHANGES)))
  const changed: Array<{ i: number; before: string[]; after: string[] }> = []
  for (let k = 0; k < CHANGES; k++) {
    const i = 1 + ((k * stride) % (SERVICES - 2))
    const before = eps[i]!
    const newIp = `10.250.${(k >> 8) & 255}.${k & 255}`
    const after = [...before.slice(0, M - 1), newIp]
    const cur = await call('GET', `${lab.SLICES}/svc-${i}-a`)
    const body = { ...sliceBody(i, after), metadata: { ...sliceBody(i, after).metadata, resourceVersion: cur.body.metadata.resourceVersion } }
    const arrived = events.waitFor(Buffer.from(newIp.split('.').map(Number)))
    const start = performance.now()
    const r = await call('PUT', `${lab.SLICES}/svc-${i}-a`, body)
    if (r.status !== 200) throw new Error(`change ${k}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
    const at = await Promise.race([arrived, new Promise<undefined>((r) => { const h = setTimeout(r, 10_000); void arrived.then(() => clearTimeout(h)) })])
    if (at === undefined) missed++
    else oursLat.push(at - start)
    eps[i] = after
    changed.push({ i, before, after })
  }
  const o = sortNum(oursLat)
  row(`1 endpoint change (${MODE}): API write -> the kernel's change event, ${oursLat.length} changes`, `p50 ${ms(pct(o, 50))} / p99 ${ms(pct(o, 99))} / max ${ms(o.at(-1) ?? NaN)}${missed ? `; ${missed} never seen within 10 s` : ''}`)
  // and the agent's own view: from receiving the change to the kernel holding it
  {
    const text = await agent.metrics()
    const bucket = [...text.matchAll(/^kubeproxy_network_programming_duration_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [Number(m[1] === '+Inf' ? Infinity : m[1]), Number(m[2])] as const)
    const count = Number(/^kubeproxy_network_programming_duration_seconds_count (\d+)/m.exec(text)?.[1] ?? 0)
    const sum = Number(/^kubeproxy_network_programming_duration_seconds_sum ([\d.e+-]+)/m.exec(text)?.[1] ?? 0)
    const le = (q: number) => bucket.find(([, c]) => c >= q * count)?.[0]
    row(`  agent's kubeproxy_network_programming_duration_seconds (${count} syncs)`, `mean ${ms((sum / Math.max(1, count)) * 1000)}; p50 <= ${ms((le(0.5) ?? NaN) * 1000)}, p99 <= ${ms((le(0.99) ?? NaN) * 1000)} (histogram buckets)`)
  }

  // the same changes through the nft CLI against kube-proxy's layout (on its own Services)
  const kpLat: number[] = []
  const kpEps = new Map<number, string[]>()
  for (let k = 0; k < CHANGES; k++) {
    const i = 1 + ((k * Math.max(1, Math.floor((ANCHOR_SERVICES - 2) / Math.max(1, CHANGES)))) % Math.max(1, ANCHOR_SERVICES - 2))
    const beforeEps = kpEps.get(i) ?? anchorSvc(i).endpoints.map((e) => e.ip)
    const afterEps = [...beforeEps.slice(0, -1), `10.251.${(k >> 8) & 255}.${k & 255}`]
    kpEps.set(i, afterEps)
    const svc = (list: string[]) => ({ ...anchorSvc(i), endpoints: list.map((ip) => ({ ip, port: 8080 })) })
    const text = kp.endpointChange(svc(beforeEps), svc(afterEps), CLUSTER_CIDR)
    const took = timed(() => { anchorNs.run('nft', ['-f', '-'], { input: text }) })
    kpLat.push(took)
  }
  const kpl = sortNum(kpLat)
  row(`anchor: the same change by the nft CLI on kube-proxy's layout (${ANCHOR_SERVICES} Services)`, `p50 ${ms(pct(kpl, 50))} / p99 ${ms(pct(kpl, 99))}`)

  // ---- data path: connect latency, interleaved so drift hits all three alike
  const connectMs = (host: string, port: number) => new Promise<number>((res, rej) => {
    const start = performance.now()
    const s = lab.connectIn(cli.ns, host, port)
    s.once('connect', () => { const d = performance.now() - start; s.destroy(); res(d) })
    s.once('error', rej)
  })
  const direct: number[] = [], first: number[] = [], last: number[] = []
  for (let k = 0; k < CONNECTS; k++) {
    direct.push(await connectMs(b0.ip4, 8080))
    first.push(await connectMs(FIRST, 80))
    last.push(await connectMs(LAST, 80))
  }
  const [d, f, l] = [sortNum(direct), sortNum(first), sortNum(last)]
  row(`connect latency p50/p99, ${CONNECTS} each: direct to pod`, `${(pct(d, 50) * 1000).toFixed(1)} / ${(pct(d, 99) * 1000).toFixed(1)} us`)
  row('  first Service', `${(pct(f, 50) * 1000).toFixed(1)} / ${(pct(f, 99) * 1000).toFixed(1)} us`)
  row(`  last Service (of ${SERVICES})`, `${(pct(l, 50) * 1000).toFixed(1)} / ${(pct(l, 99) * 1000).toFixed(1)} us; last/first p50 = ${(pct(l, 50) / pct(f, 50)).toFixed(3)}`)

  // ---- no endpoints
  const refused: number[] = []
  const other: string[] = []
  for (let k = 0; k < 20; k++) {
    const r = await lab.tcpAsk(cli.ns, emptyVip, 80, 3000)
    if (!r.ok && r.error === 'ECONNREFUSED') refused.push(r.ms)
    else other.push(r.ok ? 'answered' : r.error)
  }
  const rf = sortNum(refused)
  row('no endpoints: 20 back-to-back connects', `${refused.length}/20 refused, ${refused.filter((x) => x < 10).length} within 10 ms, max ${ms(rf.at(-1) ?? NaN)}${other.length ? `; others: ${other.join(' ')}` : ''}`)
  row('agent RSS at the end', `${rss().toFixed(1)} MB`)
  row('load average at the end', readFileSync('/proc/loadavg', 'utf8').trim())

  const w = Math.max(...rows.map(([k]) => k.length))
  console.log(`\npontoon proxy benchmark (node ${process.versions.node}, ${MODE}, ${SERVICES} Services x ${M} endpoints)`)
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`)
} finally {
  await teardown()
}
process.exit(0)
