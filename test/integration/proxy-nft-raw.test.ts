// Elements written over raw nfnetlink (element-batch.ts + nfnl-batch.ts) against
// the same table loaded as nft text: every set and map of a plan with every
// feature (both families, three protocols, NodePorts, LB source ranges, eTP
// Local's second list, affinity, reject and drop verdicts, hairpin pairs) must
// read back identical through `nft -j`, a delta too; a refused batch leaves the
// kernel as it was and names the kernel's errno; and real TCP goes through a
// raw-written backends map (a slot or port in the wrong byte order would miss
// the lookup and leave the packet un-DNATed).
import t from 'tap'
import { linkNamespaces, makeNetns, type Netns } from '../lib/netns.ts'
import { servePeer, tcpAsk } from '../lib/traffic.ts'
import { NftablesBackend } from '../../src/proxy/nftables/backend.ts'
import { fullScript, renderPlan } from '../../src/proxy/nftables/render.ts'
import { ProxyApplyError } from '../../src/proxy/backend.ts'
import { NfnlTransactionError } from '../../src/netlink/nfnl-batch.ts'
import type { EndpointTarget, PortIntent, ProxyGlobals, ProxyPlan } from '../../src/proxy/plan/intent.ts'

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
const plan = (intents: PortIntent[], globals = GLOBALS): ProxyPlan => ({ globals, intents: new Map(intents.map((i) => [i.key, i])) })

const EVERYTHING = [
  svc('web', { clusterEndpoints: [ep('10.244.1.1', 8080, true), ep('10.244.2.1')], nodePort: 30080, externalIPs: ['192.168.7.7'] }),
  svc('dns', { clusterIP: '10.96.0.53', protocol: 'udp', port: 53, portName: 'dns', clusterEndpoints: [ep('10.244.2.5', 53)] }),
  svc('sctp', { clusterIP: '10.96.0.54', protocol: 'sctp', port: 9999, clusterEndpoints: [ep('10.244.2.6', 9999)] }),
  svc('lb', {
    clusterIP: '10.96.0.70', loadBalancerIPs: ['203.0.113.7'], loadBalancerSourceRanges: ['198.51.100.0/24'], nodePort: 30070,
    externalPolicyLocal: true, clusterEndpoints: [ep('10.244.1.7', 8080, true), ep('10.244.2.7'), ep('10.244.2.8')],
  }),
  svc('nolocal', { clusterIP: '10.96.0.71', nodePort: 30071, externalPolicyLocal: true, clusterEndpoints: [ep('10.244.2.9')] }),
  svc('sticky', { clusterIP: '10.96.0.60', affinityTimeoutSeconds: 600, nodePort: 30060, clusterEndpoints: [ep('10.244.2.1'), ep('10.244.2.2')] }),
  svc('empty', { clusterIP: '10.96.0.20', nodePort: 30020 }),
  svc('web', { family: 6, clusterIP: 'fd00:10:96::10', nodePort: 30080, clusterEndpoints: [ep('fd00:10:244:1::5', 8080, true), ep('fd00:10:244:2::5', 8443)] }),
  svc('dns', { family: 6, clusterIP: 'fd00:10:96::53', protocol: 'udp', port: 53, portName: 'dns', clusterEndpoints: [ep('fd00:10:244:2::53', 53)] }),
]

/** every set and map of our table, as nft -j prints it, elements sorted (dynamic affinity maps left out) */
function elements(ns: Netns): Record<string, string[]> {
  const doc = JSON.parse(ns.run('nft', ['-j', 'list', 'table', 'inet', 'pontoon'])) as { nftables: Record<string, any>[] } // eslint-disable-line @typescript-eslint/no-explicit-any
  const out: Record<string, string[]> = {}
  for (const item of doc.nftables) {
    const s = item.set ?? item.map
    if (!s || String(s.name).startsWith('sticky-')) continue
    out[s.name] = (s.elem ?? []).map((e: unknown) => JSON.stringify(e)).sort()
  }
  return out
}

function nonEmpty(x: Record<string, string[]>): string[] {
  return Object.keys(x).filter((k) => x[k]!.length > 0).sort()
}

t.test('raw-written elements read back exactly as the same elements loaded as nft text', async (t) => {
  const raw = makeNetns('raw')
  const text = makeNetns('txt')
  t.teardown(() => { raw.destroy(); text.destroy() })
  const b = NftablesBackend.open({ netns: raw.path })
  t.teardown(() => b.close())
  const p = plan(EVERYTHING)
  await b.syncAll(p)
  text.run('nft', ['-f', '-'], { input: fullScript(renderPlan(p)) })
  const got = elements(raw)
  const want = elements(text)
  t.same(got, want, 'every set and map holds the same elements')
  // the plan really reaches every kind of layout
  t.same(nonEmpty(want).filter((n) => /^(alt-)?(nodeport-)?backends-(tcp|udp|sctp)-v[46]$/.test(n)),
    ['alt-backends-tcp-v4', 'alt-nodeport-backends-tcp-v4', 'backends-sctp-v4', 'backends-tcp-v4', 'backends-tcp-v6', 'backends-udp-v4', 'backends-udp-v6',
      'nodeport-backends-tcp-v4', 'nodeport-backends-tcp-v6'].sort(), 'both families, three protocols, the NodePort and eTP Local lists')
  for (const n of ['service-ips-v4', 'service-ips-v6', 'service-nodeports-v4', 'service-verdicts-v4', 'nodeport-verdicts-v4', 'affinity-ips-v4',
    'affinity-nodeports-v4', 'cluster-ips-v4', 'cluster-ports-v6', 'firewall-v4', 'source-ranges-v4', 'hairpin-v4', 'hairpin-v6']) {
    t.ok(want[n]?.length, `${n} has elements`)
  }

  // a delta (an endpoint moves, a Service goes, one comes) through raw deletes and adds
  const next = EVERYTHING.filter((i) => i.service !== 'default/sctp').map((i) => i.service === 'default/web' && i.family === 4
    ? svc('web', { clusterEndpoints: [ep('10.244.1.1', 8080, true), ep('10.244.2.99')], nodePort: 30080, externalIPs: ['192.168.7.7'] }) : i)
  const extra = svc('extra', { clusterIP: '10.96.0.99', protocol: 'udp', clusterEndpoints: [ep('10.244.3.1'), ep('10.244.3.2'), ep('10.244.3.3')] })
  const after = [...next, extra]
  const old = new Map(EVERYTHING.map((i) => [i.key, i]))
  await b.syncDelta(plan(after), {
    upserted: after.filter((i) => old.get(i.key) !== i),
    removed: EVERYTHING.filter((i) => !after.some((a) => a.key === i.key)),
    previous: new Map(after.filter((i) => old.has(i.key)).map((i) => [i.key, old.get(i.key)!])),
  })
  text.run('nft', ['-f', '-'], { input: fullScript(renderPlan(plan(after))) })
  t.same(elements(raw), elements(text), 'after the delta too')
  t.notSame(elements(raw), want, 'and the delta did change something')
})

t.test('a refused batch changes nothing, carries the errno, and a full sync repairs', async (t) => {
  const node = makeNetns('raw')
  t.teardown(() => node.destroy())
  const b = NftablesBackend.open({ netns: node.path })
  t.teardown(() => b.close())
  const web = EVERYTHING[0]!
  await b.syncAll(plan([web]))
  const before = elements(node)
  // someone else's element where our delta adds one with other data: EEXIST in the
  // last message of the batch, after messages for other maps that were fine
  node.run('nft', ['add', 'element', 'inet', 'pontoon', 'backends-udp-v4', '{ 10.96.0.53 . udp . 53 . 0 : 10.1.1.1 . 53 }'])
  const dns = EVERYTHING[1]!
  const err = await b.syncDelta(plan([web, dns]), { upserted: [dns], removed: [], previous: new Map() }).then(() => undefined, (e: unknown) => e)
  t.type(err, ProxyApplyError)
  t.equal((err as ProxyApplyError).code, 'PROXY_APPLY')
  t.match((err as Error).message, /backends-udp-v4.*File exists/, 'names the set and the kernel\'s words')
  const cause = (err as Error).cause
  t.type(cause, NfnlTransactionError)
  t.equal((cause as NfnlTransactionError).code, 'EEXIST')
  t.same((cause as NfnlTransactionError).failures.map((f) => f.error.code), ['EEXIST'], 'one message refused, by its own errno')
  const now = elements(node)
  t.same({ ...now, 'backends-udp-v4': [] }, { ...before, 'backends-udp-v4': [] }, 'no other map took anything of the aborted transaction')
  t.equal(now['backends-udp-v4']!.length, 1, 'only the foreign element is there')
  await b.syncAll(plan([web, dns]))
  const text = makeNetns('txt')
  t.teardown(() => text.destroy())
  text.run('nft', ['-f', '-'], { input: fullScript(renderPlan(plan([web, dns]))) })
  t.same(elements(node), elements(text), 'the full sync flushed the foreign element and wrote ours')
})

t.test('traffic: TCP through a backends map written raw, before and after a raw delta', async (t) => {
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
  const v4 = { ...GLOBALS, families: [GLOBALS.families[0]!] }
  // two endpoints, so that slot 1 is used too: a slot in the wrong byte order misses
  // the backends lookup and the connect goes un-DNATed (about half of them)
  backend.run('ip', ['addr', 'add', '10.244.1.2/24', 'dev', backend.run('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).find((n) => n && n !== 'lo')!])
  const web = svc('web', { clusterIP: '10.96.0.10', clusterEndpoints: [ep('10.244.1.1'), ep('10.244.1.2')] })
  await b.syncAll(plan([web], v4))
  const answers = Array.from({ length: 20 }, () => tcpAsk(client, '10.96.0.10', 80, 1))
  t.same(answers, Array(20).fill('10.244.0.2'), '20 of 20 TCP connects DNATed to a backend')
  // a delta: the endpoint list moves to a new port, written as raw deletes and adds
  const moved = svc('web', { clusterIP: '10.96.0.10', port: 81, clusterEndpoints: [ep('10.244.1.1')] })
  await b.syncDelta(plan([moved], v4), { upserted: [moved], removed: [], previous: new Map([[web.key, web]]) })
  t.equal(tcpAsk(client, '10.96.0.10', 81), '10.244.0.2', 'the new frontend answers after a raw delta')
  const gone = client.try('socat', ['-T', '1', '-', 'TCP:10.96.0.10:80,connect-timeout=0.9'], { input: '' })
  t.match(gone.stderr, /Connection refused/, 'the old port is refused (its elements were deleted)')
})
