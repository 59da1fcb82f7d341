// What one endpoint change costs the agent's cache at 10,000 Services: the
// ClusterClient is loaded (in memory, no API) with N Services and N EndpointSlices
// of 10 endpoints, then M single-slice changes arrive through its watch, each
// followed by snapshot() as a consumer would take it. Prints p50/p99/max of
//   - applying the event to the cache (normalise, store, change tracker, index),
//   - snapshot() right after it,
// and the snapshot's walk of every Service (what a full resync reads).
// Prints figures only; no thresholds. Touches no network.
// Run: node --import tsx bench/snapshot-change.ts [--services N] [--changes M]
import { ClusterClient, type ClusterObserver } from '../src/cluster/client.ts'
import type { ListMeta, Query, Transport, WatchEvent } from '../src/cluster/transport.ts'

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : dflt
}
const SERVICES = arg('services', 10_000)
const CHANGES = arg('changes', 1000)
const ENDPOINTS = 10

const ip = (i: number) => `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
const service = (i: number) => ({
  metadata: { namespace: 'default', name: `svc-${i}`, resourceVersion: '1' },
  spec: { clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
})
const slice = (i: number, shift = 0, rv = '1') => ({
  metadata: { namespace: 'default', name: `svc-${i}-a`, resourceVersion: rv, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: Array.from({ length: ENDPOINTS }, (_, j) => ({
    addresses: [ip(i * ENDPOINTS + ((j + shift) % (ENDPOINTS * 2)))],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: `node-${j % 5}`,
  })),
})

/** Lists from memory in pages of 500; watch events are pushed by the bench. */
class MemoryApi implements Transport {
  readonly emit = new Map<string, (ev: WatchEvent) => void>()
  constructor(private readonly lists: Map<string, unknown[]>) {}
  async list(path: string, q: Query, onItems: (items: unknown[]) => void): Promise<ListMeta> {
    const all = this.lists.get(path) ?? []
    const from = Number(q.continue ?? 0)
    const to = Math.min(all.length, from + Number(q.limit ?? all.length))
    onItems(all.slice(from, to))
    return { resourceVersion: '1', continue: to < all.length ? String(to) : null }
  }
  async watch(path: string, _q: Query, onEvent: (ev: WatchEvent) => void) {
    this.emit.set(path, onEvent)
    return { stop: () => this.emit.delete(path) }
  }
}

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices'
const api = new MemoryApi(new Map<string, unknown[]>([
  ['/api/v1/services', Array.from({ length: SERVICES }, (_, i) => service(i))],
  [SLICES, Array.from({ length: SERVICES }, (_, i) => slice(i))],
  ['/api/v1/nodes', Array.from({ length: 5 }, (_, i) => ({ metadata: { name: `node-${i}` }, spec: { podCIDR: `10.244.${i}.0/24` } }))],
]))
const quiet: ClusterObserver = { listed() {}, watchEvent() {}, failed() {}, malformed() {}, stored() {}, synced() {} }
const client = new ClusterClient({ transport: api, observer: quiet, sleep: async () => {} })
let t = performance.now()
client.start()
await client.whenSynced()
while (!api.emit.has(SLICES)) await new Promise((r) => setImmediate(r))
const loadMs = performance.now() - t
const emit = api.emit.get(SLICES)!

// Warm up both paths (JIT) before measuring, as a long-running agent is.
client.snapshot()
const apply: number[] = []
const snap: number[] = []
for (let n = 0; n < CHANGES + 100; n++) {
  const i = (n * 7919) % SERVICES
  const ev = { type: 'MODIFIED', object: slice(i, 1 + (n % 7), String(2 + n)) }
  t = performance.now()
  emit(ev)
  const a = performance.now()
  const s = client.snapshot()
  const b = performance.now()
  if (s.endpointSlicesByService.get(`default/svc-${i}`)?.[0]?.endpoints[0]?.addresses[0] !== ip(i * ENDPOINTS + 1 + (n % 7))) throw new Error('the change is not in the snapshot')
  if (n >= 100) {
    apply.push(a - t)
    snap.push(b - a)
  }
}
client.drainChanges()
const s = client.snapshot()
t = performance.now()
let endpoints = 0
for (const [key] of s.services) for (const sl of s.endpointSlicesByService.get(key) ?? []) endpoints += sl.endpoints.length
const walkMs = performance.now() - t
await client.stop()

const pct = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] ?? NaN
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(3)} / p99 ${pct(xs, 99).toFixed(3)} / max ${Math.max(...xs).toFixed(3)} ms`
console.log(`\npontoon snapshot-change benchmark (node ${process.versions.node})`)
console.log(`  cache                        ${s.services.size} services, ${endpoints} endpoints (loaded in ${loadMs.toFixed(0)} ms)`)
console.log(`  one slice change: apply      ${fmt(apply)}  (${CHANGES} changes)`)
console.log(`  then snapshot()              ${fmt(snap)}`)
console.log(`  walk every Service's slices  ${walkMs.toFixed(1)} ms`)
