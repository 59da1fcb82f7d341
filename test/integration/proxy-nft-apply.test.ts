// The nftables backend on a real kernel, in namespaces of its own: what syncAll
// writes is read back with `nft -j`, a delta changes exactly its elements, other
// tables survive, a flush is noticed and repaired, cleanup leaves nothing, a
// refusal carries the kernel's message; and a little real TCP through the rules.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { linkNamespaces, makeNetns, type Netns } from '../lib/netns.ts'
import { servePeer, tcpAsk } from '../lib/traffic.ts'
import { waitFor } from '../lib/wait.ts'
import { NftablesBackend } from '../../src/proxy/nftables/backend.ts'
import { renderPlan, type NftElement } from '../../src/proxy/nftables/render.ts'
import { ProxyApplyError } from '../../src/proxy/backend.ts'
import type { EndpointTarget, PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'nft')

const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })

function svc(name: string, o: Partial<PortIntent> = {}): PortIntent {
  const i: PortIntent = {
    key: '', service: `default/${name}`, portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [], localEndpoints: [], hasAnyEndpoints: false, ...o,
  }
  i.hasAnyEndpoints = i.clusterEndpoints.length > 0
  i.localEndpoints = i.clusterEndpoints.filter((e) => e.local)
  i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const GLOBALS: ProxyGlobals = {
  nodeName: 'node-1', masqueradeAll: false,
  families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }, { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }],
}

function plan(intents: PortIntent[]): ProxyPlan {
  return { globals: GLOBALS, intents: new Map(intents.map((i) => [i.key, i])) }
}

function delta(before: PortIntent[], after: PortIntent[]): PlanDelta {
  const old = new Map(before.map((i) => [i.key, i]))
  const now = new Map(after.map((i) => [i.key, i]))
  return {
    upserted: after.filter((i) => old.get(i.key) !== i),
    removed: before.filter((i) => !now.has(i.key)),
    previous: new Map(after.filter((i) => old.has(i.key)).map((i) => [i.key, old.get(i.key)!])),
  }
}

// ---- reading the kernel's table back, as `nft -j` reports it, in render.ts's text form

function term(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v)
  const o = v as Record<string, unknown>
  if ('concat' in o) return (o.concat as unknown[]).map(term).join(' . ')
  if ('prefix' in o) { const p = o.prefix as { addr: string; len: number }; return `${p.addr}/${p.len}` }
  if ('goto' in o) return `goto ${(o.goto as { target: string }).target}`
  if ('jump' in o) return `jump ${(o.jump as { target: string }).target}`
  if ('drop' in o) return 'drop'
  if ('return' in o) return 'return'
  if ('elem' in o) return term((o.elem as { val: unknown }).val)
  throw new Error(`unknown nft json term ${JSON.stringify(v)}`)
}

/** set/map name -> sorted "key" or "key : value" strings, for every set of our table */
function kernelElements(ns: Netns): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const doc = JSON.parse(ns.run('nft', ['-j', 'list', 'table', 'inet', 'pontoon'])) as { nftables: Record<string, any>[] }
  for (const item of doc.nftables) {
    const s = item.set ?? item.map
    if (!s) continue
    const elems: string[] = (s.elem ?? []).map((e: unknown) => Array.isArray(e) ? `${term(e[0])} : ${term(e[1])}` : term(e))
    if (elems.length) out.set(s.name, elems.sort())
  }
  return out
}

function renderedElements(elements: readonly NftElement[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const e of elements) {
    let l = out.get(e.set)
    if (!l) out.set(e.set, l = [])
    l.push(e.value === undefined ? e.key : `${e.key} : ${e.value}`)
  }
  for (const l of out.values()) l.sort()
  return out
}

function sorted(m: Map<string, string[]>): [string, string[]][] {
  return [...m].sort(([a], [b]) => a.localeCompare(b))
}

// ---- the tests

const web = svc('web', { clusterEndpoints: [ep('10.244.1.1'), ep('10.244.2.1')], nodePort: 30080 })
const dns = svc('dns', { clusterIP: '10.96.0.53', protocol: 'udp', port: 53, portName: 'dns', clusterEndpoints: [ep('10.244.2.5', 53)] })
const web6 = svc('web', { family: 6, clusterIP: 'fd00:10:96::10', clusterEndpoints: [ep('fd00:10:244:1::5', 8080, true)] })
const empty = svc('empty', { clusterIP: '10.96.0.20' })

t.test('syncAll writes exactly the rendered elements; a delta changes exactly its own', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  const p = plan([web, dns, web6, empty])
  const stats = await b.syncAll(p)
  t.same(sorted(kernelElements(node)), sorted(renderedElements(renderPlan(p).elements)), 'the kernel holds what was rendered')
  t.same([stats.counts['backends-tcp-v4'], stats.counts['backends-udp-v4']], [2, 1], 'each protocol in its own map')
  t.equal(stats.counts['service-verdicts-v4'], 1, 'the empty Service is rejected')
  t.ok(stats.counts.chains! > 0 && stats.counts.rules! > 0)

  // One endpoint replaced, one Service gone, one added.
  const web2 = svc('web', { clusterEndpoints: [ep('10.244.1.1'), ep('10.244.2.9')], nodePort: 30080 })
  const extra = svc('extra', { clusterIP: '10.96.0.99', clusterEndpoints: [ep('10.244.3.1'), ep('10.244.3.2'), ep('10.244.3.3')] })
  const before = kernelElements(node)
  const next = [web2, web6, empty, extra]
  await b.syncDelta(plan(next), delta([web, dns, web6, empty], next))
  const after = kernelElements(node)
  t.same(sorted(after), sorted(renderedElements(renderPlan(plan(next)).elements)), 'the kernel holds what a full render of the new plan has')
  const changed = new Set([...before.keys(), ...after.keys()].filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k))))
  t.same([...changed].sort(), ['backends-tcp-v4', 'backends-udp-v4', 'cluster-ips-v4', 'cluster-ports-v4', 'nodeport-backends-tcp-v4', 'service-ips-v4'].sort(), 'only the maps of the changed intents moved')
  t.ok(node.run('nft', ['list', 'chain', 'inet', 'pontoon', 'lb-v4-ip-main-masqext-3']).includes('numgen random mod 3'), 'the new endpoint count brought its chain')
})

t.test('a foreign table survives every sync; a flush is noticed and repaired; cleanup leaves nothing', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  node.run('nft', ['-f', '-'], { input: 'table ip foreign {\n chain input { type filter hook input priority 0 ; tcp dport 9 counter accept ; }\n}\n' })
  const foreign = () => node.run('nft', ['list', 'table', 'ip', 'foreign'])
  const original = foreign()
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  t.equal(await b.flushed(), false, 'nothing synced, nothing to lose')
  await b.syncAll(plan([web]))
  t.equal(await b.flushed(), false)
  await b.syncDelta(plan([web, dns]), delta([web], [web, dns]))
  t.equal(foreign(), original, 'the foreign table is untouched by syncAll and syncDelta')

  node.run('nft', ['flush', 'table', 'inet', 'pontoon'])
  t.equal(await b.flushed(), true, 'a flushed table is seen')
  await b.syncAll(plan([web, dns]))
  t.equal(await b.flushed(), false, 'and repaired by syncAll')
  t.match(node.run('nft', ['list', 'chain', 'inet', 'pontoon', 'services']), 'vmap @service-ips-v4')
  t.same(sorted(kernelElements(node)), sorted(renderedElements(renderPlan(plan([web, dns])).elements)))

  const entry = node.run('nft', ['-a', 'list', 'chain', 'inet', 'pontoon', 'nat-prerouting'])
  const handle = /jump services # handle (\d+)/.exec(entry)?.[1]
  t.ok(handle, 'the entry rule is in nat-prerouting')
  node.run('nft', ['delete', 'rule', 'inet', 'pontoon', 'nat-prerouting', 'handle', handle!])
  t.equal(await b.flushed(), true, 'the entry rule alone deleted is seen, the chain and maps still there')
  node.run('nft', ['add', 'chain', 'inet', 'pontoon', 'decoy'])
  node.run('nft', ['add', 'rule', 'inet', 'pontoon', 'nat-prerouting', 'jump', 'decoy'])
  t.equal(await b.flushed(), true, 'a jump to another chain is not ours')
  await b.syncAll(plan([web, dns]))
  t.equal(await b.flushed(), false, 'repaired')

  node.run('nft', ['delete', 'table', 'inet', 'pontoon'])
  t.equal(await b.flushed(), true, 'a deleted table is seen')
  await b.syncAll(plan([web]))
  t.equal(await b.flushed(), false)

  await b.cleanup()
  t.notMatch(node.run('nft', ['list', 'tables']), 'pontoon', 'cleanup removed our table')
  await b.cleanup()
  t.pass('a second cleanup, with the table absent, is fine')
  t.equal(foreign(), original, 'the foreign table survived cleanup too')
})

t.test('a new backend deletes chains an earlier run left behind', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  const first = NftablesBackend.open({ netns: node.path })
  await first.syncAll(plan([svc('wide', { clusterEndpoints: [ep('10.244.2.1'), ep('10.244.2.2'), ep('10.244.2.3'), ep('10.244.2.4')] })]))
  first.close()
  t.match(node.run('nft', ['list', 'chains', 'inet']), 'lb-v4-ip-main-masqext-4')
  const second = NftablesBackend.open({ netns: node.path })
  t.teardown(() => second.close())
  await second.syncAll(plan([web]))
  const chains = node.run('nft', ['list', 'chains', 'inet'])
  t.notMatch(chains, 'lb-v4-ip-main-masqext-4')
  t.match(chains, 'lb-v4-ip-main-masqext-2')
})

t.test("a kernel refusal surfaces the kernel's message and leaves the applied state alone", async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  await b.syncAll(plan([web]))
  // Someone else puts an element where our next delta adds one: the kernel says EEXIST.
  node.run('nft', ['add', 'element', 'inet', 'pontoon', 'backends-udp-v4', '{ 10.96.0.53 . udp . 53 . 0 : 10.1.1.1 . 53 }'])
  const err = await b.syncDelta(plan([web, dns]), delta([web], [web, dns])).then(() => undefined, (e: unknown) => e)
  t.type(err, ProxyApplyError)
  t.equal((err as ProxyApplyError).code, 'PROXY_APPLY')
  // libnftables says "File exists"; over nfnetlink the errno, its text, and the set
  t.match((err as Error).message, /File exists|EEXIST \(file already exists\)/i, 'the kernel message is in the error')
  t.match((err as Error).message, /backends-udp-v4|File exists/, 'and which set refused it')
  t.notOk(kernelElements(node).get('service-ips-v4')?.some((e) => e.startsWith('10.96.0.53')), 'nothing of the refused transaction landed')
  // The consumer answers a failure with a full sync, which repairs the foreign element too.
  await b.syncAll(plan([web, dns]))
  t.same(sorted(kernelElements(node)), sorted(renderedElements(renderPlan(plan([web, dns])).elements)))
})

t.test('the context stays in its namespace; the root namespace gets nothing', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  await b.syncAll(plan([web]))
  t.match(node.run('nft', ['list', 'tables']), 'table inet pontoon')
  // A full sync swaps the context for a fresh one (to free libnftables' cache): the
  // next delta must still land in the node's namespace, not where the thread is.
  await b.syncDelta(plan([web, dns]), delta([web], [web, dns]))
  t.match(node.run('nft', ['list', 'map', 'inet', 'pontoon', 'backends-udp-v4']), '10.96.0.53 . udp . 53 . 0', 'the renewed context writes into the node namespace')
  // read-only look at the root namespace
  t.notMatch(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }), /table inet pontoon\b/)
})

t.test('every golden table loads into the kernel, and loads again (the full sync is repeatable)', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  for (const f of readdirSync(GOLDEN).filter((n) => n.endsWith('.nft')).sort()) {
    const text = readFileSync(join(GOLDEN, f), 'utf8')
    node.try('nft', ['delete', 'table', 'inet', 'pontoon'])
    t.equal(node.try('nft', ['-f', '-'], { input: text }).stderr, '', `${f} loads`)
    t.equal(node.try('nft', ['-f', '-'], { input: text }).stderr, '', `${f} loads over itself`)
  }
})

t.test('traffic: TCP to a ClusterIP lands on a backend; a ClusterIP without endpoints refuses at once', async (t) => {
  const client = makeNetns('cli')
  const node = makeNetns('node')
  const backend = makeNetns('be')
  t.teardown(() => { client.destroy(); node.destroy(); backend.destroy() })
  linkNamespaces(client, '10.244.0.2/24', node, '10.244.0.1/24', 'c')
  linkNamespaces(node, '10.244.1.254/24', backend, '10.244.1.1/24', 'b')
  client.run('ip', ['route', 'add', 'default', 'via', '10.244.0.1'])
  backend.run('ip', ['route', 'add', 'default', 'via', '10.244.1.254'])
  node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  await servePeer(backend, 8080)

  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  const target = svc('web', { clusterEndpoints: [ep('10.244.1.1')] })
  await b.syncAll({ globals: { ...GLOBALS, families: [GLOBALS.families[0]!] }, intents: new Map([[target.key, target], [empty.key, empty]]) })

  t.equal(tcpAsk(client, '10.96.0.10', 80), '10.244.0.2', 'DNATed to the backend, and a pod client keeps its address')
  // TCP reset, not rate-limited ICMP: every one of a burst is refused before the
  // first SYN retransmit (1 s). With plain `reject` (ICMP) about 6 get through the
  // kernel's per-host ICMP limit and the rest time out: seen failing that way.
  for (let i = 0; i < 20; i++) {
    const r = client.try('socat', ['-T', '1', '-', 'TCP:10.96.0.20:80,connect-timeout=0.9'], { input: '' })
    t.match(r.stderr, /Connection refused/, `connect ${i + 1} to the empty Service is refused`)
  }
  const port = client.try('socat', ['-T', '1', '-', 'TCP:10.96.0.10:81,connect-timeout=0.9'], { input: '' })
  t.match(port.stderr, /Connection refused/, 'a port the ClusterIP does not have is refused')
})

t.test('affinity: entries pointing at a removed endpoint are dropped, the others kept', async (t) => {
  const node = makeNetns('nft')
  t.teardown(() => node.destroy())
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  const two = svc('sticky', { affinityTimeoutSeconds: 300, nodePort: 30060, clusterEndpoints: [ep('10.244.2.1'), ep('10.244.2.2')] })
  await b.syncAll(plan([two]))
  // what the kernel writes for two clients, one stuck to each endpoint, through the ClusterIP and the NodePort
  node.run('nft', ['add', 'element', 'inet', 'pontoon', 'sticky-v4-tcp-300', [
    '{ 10.244.0.2 . 10.96.0.10 . tcp . 80 : 10.244.2.1 . 8080', '10.244.0.3 . 10.96.0.10 . tcp . 80 : 10.244.2.2 . 8080',
    '192.168.50.2 . 172.18.0.2 . tcp . 30060 : 10.244.2.2 . 8080', '192.168.50.3 . 172.18.0.2 . tcp . 30060 : 10.244.2.1 . 8080 }'].join(', ')])
  const entries = () => (kernelElements(node).get('sticky-v4-tcp-300') ?? []).map((e) => e.replace(/ : /, ' -> '))
  t.equal(entries().length, 4)
  const one = svc('sticky', { affinityTimeoutSeconds: 300, nodePort: 30060, clusterEndpoints: [ep('10.244.2.1')] })
  await b.syncDelta(plan([one]), delta([two], [one]))
  t.same(entries().sort(), [
    '10.244.0.2 . 10.96.0.10 . tcp . 80 -> 10.244.2.1 . 8080',
    '192.168.50.3 . 172.18.0.2 . tcp . 30060 -> 10.244.2.1 . 8080',
  ], 'only the clients of the removed endpoint lost their entry')
  node.run('nft', ['add', 'element', 'inet', 'pontoon', 'sticky-v4-tcp-300', '{ 10.244.0.9 . 10.96.0.10 . tcp . 80 : 10.244.2.7 . 8080 }'])
  await b.syncAll(plan([one]))
  t.equal(entries().length, 2, 'a full sync drops stale entries too, and keeps the live ones')
})

/** A TCP server in `ns` answering each connection with the local address it was reached on. */
async function serveLocal(ns: Netns, port: number) {
  const child = ns.spawn('socat', [`TCP-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_SOCKADDR'])
  await waitFor(`a server on :${port}`, () => ns.try('ss', ['-Hltn', `sport = :${port}`]).stdout.includes(`:${port}`), { timeoutMs: 10_000, abandon: () => child.exitCode !== null })
}

t.test('traffic: ClientIP affinity keeps a client on one endpoint; without it both endpoints serve', async (t) => {
  const client = makeNetns('cli')
  const node = makeNetns('node')
  const backend = makeNetns('be')
  t.teardown(() => { client.destroy(); node.destroy(); backend.destroy() })
  linkNamespaces(client, '10.244.0.2/24', node, '10.244.0.1/24', 'c')
  const { bIf } = linkNamespaces(node, '10.244.1.254/24', backend, '10.244.1.1/24', 'b')
  backend.run('ip', ['addr', 'add', '10.244.1.2/24', 'dev', bIf])
  client.run('ip', ['route', 'add', 'default', 'via', '10.244.0.1'])
  backend.run('ip', ['route', 'add', 'default', 'via', '10.244.1.254'])
  node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  await serveLocal(backend, 8080)

  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  const eps = [ep('10.244.1.1'), ep('10.244.1.2')]
  const sticky = svc('sticky', { clusterIP: '10.96.0.60', affinityTimeoutSeconds: 600, clusterEndpoints: eps })
  const plain = svc('plain', { clusterIP: '10.96.0.61', clusterEndpoints: eps })
  await b.syncAll({ globals: { ...GLOBALS, families: [GLOBALS.families[0]!] }, intents: new Map([[sticky.key, sticky], [plain.key, plain]]) })

  const seen = (vip: string) => {
    const s = new Set<string>()
    for (let i = 0; i < 20; i++) s.add(tcpAsk(client, vip, 80) ?? 'failed')
    return [...s].sort()
  }
  const stuck = seen('10.96.0.60')
  t.equal(stuck.length, 1, `20 connects with affinity land on one endpoint (${stuck.join(', ')})`)
  t.ok(['10.244.1.1', '10.244.1.2'].includes(stuck[0]!))
  t.same(kernelElements(node).get('sticky-v4-tcp-600')?.map((e) => e.split(' : ')[0]), ['10.244.0.2 . 10.96.0.60 . tcp . 80'], 'the kernel remembers the client')
  t.same(seen('10.96.0.61'), ['10.244.1.1', '10.244.1.2'], '20 connects without affinity reach both endpoints')
})
