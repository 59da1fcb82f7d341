// The iptables backend against a real kernel, in namespaces of our own, in both
// flavours (iptables-nft and iptables-legacy): what syncAll writes is read back
// with iptables-save and ipset list; a delta rewrites only the changed
// Service's chains; others' rules survive; the canary sees a flush; cleanup
// leaves nothing of ours; a refused restore carries iptables' own message. Then
// real TCP: a ClusterIP reaches a backend listener, no endpoints refuse at once.
import t, { type Test } from 'tap'
import { IptablesBackend } from '../../src/proxy/iptables/backend.ts'
import { ProxyApplyError } from '../../src/proxy/backend.ts'
import { endpointChain, intentChains } from '../../src/proxy/iptables/names.ts'
import type { EndpointTarget, PlanDelta, PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { linkNamespaces, makeNetns, type Netns } from '../lib/netns.ts'
import { servePeer, tcpAsk } from '../lib/traffic.ts'

const ep = (ip: string, port = 8080, local = false): EndpointTarget => ({ ip, port, local })

function intent(over: Partial<PortIntent> = {}): PortIntent {
  const i: PortIntent = {
    key: '', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [ep('10.244.2.5')], localEndpoints: [], hasAnyEndpoints: true,
    ...over,
  }
  i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

function plan(intents: PortIntent[]): ProxyPlan {
  return {
    globals: {
      nodeName: 'node-1', masqueradeAll: false,
      families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }, { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: 'local' }],
    },
    intents: new Map(intents.map((i) => [i.key, i])),
  }
}

const web = intent({ nodePort: 30080, loadBalancerIPs: ['198.51.100.1'], loadBalancerSourceRanges: ['203.0.113.0/24'] })
const dns = intent({ service: 'kube-system/dns', portName: 'dns', protocol: 'udp', clusterIP: '10.96.0.53', port: 53, clusterEndpoints: [ep('10.244.3.5', 53)] })
const web6 = intent({ family: 6, clusterIP: 'fd00:10:96::10', nodePort: 30080, clusterEndpoints: [ep('fd00:10:244:2::5')] })
const empty = intent({ service: 'default/empty', portName: '', clusterIP: '10.96.0.11', clusterEndpoints: [], hasAnyEndpoints: false })

/** table -> chain -> its rules as iptables-save prints them */
function saved(ns: Netns, save: string): Record<string, Map<string, string[]>> {
  const out: Record<string, Map<string, string[]>> = {}
  let table = ''
  for (const line of ns.run(save, []).split('\n')) {
    if (line.startsWith('*')) out[table = line.slice(1)] = new Map()
    else if (line.startsWith(':')) out[table]!.set(line.slice(1).split(' ')[0]!, [])
    else if (line.startsWith('-A ')) out[table]!.get(line.split(' ')[1]!)!.push(line)
  }
  return out
}

function foreignRules(ns: Netns, ipt: string): void {
  ns.run(ipt, ['-t', 'nat', '-N', 'FOREIGN-NAT'])
  ns.run(ipt, ['-t', 'nat', '-A', 'FOREIGN-NAT', '-d', '192.0.2.99', '-j', 'RETURN'])
  ns.run(ipt, ['-t', 'nat', '-A', 'PREROUTING', '-m', 'comment', '--comment', 'portmap', '-j', 'FOREIGN-NAT'])
  ns.run(ipt, ['-t', 'filter', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'])
  ns.run(ipt, ['-t', 'mangle', '-A', 'OUTPUT', '-m', 'mark', '--mark', '0x1', '-j', 'RETURN'])
}

function assertForeign(t: Test, ns: Netns, save: string, when: string): void {
  const s = saved(ns, save)
  t.same(s.nat!.get('FOREIGN-NAT'), ['-A FOREIGN-NAT -d 192.0.2.99/32 -j RETURN'], `${when}: foreign nat chain intact`)
  t.ok(s.nat!.get('PREROUTING')!.some((r) => r.includes('-j FOREIGN-NAT')), `${when}: foreign nat jump intact`)
  t.ok(s.filter!.get('INPUT')!.some((r) => r.includes('--dport 22 -j ACCEPT')), `${when}: foreign filter rule intact`)
  t.ok(s.mangle!.get('OUTPUT')!.some((r) => r.includes('--mark 0x1 -j RETURN')), `${when}: foreign mangle rule intact`)
}

for (const flavour of ['nft', 'legacy'] as const) {
  t.test(`iptables-${flavour}: sync, delta, flush, refusal, cleanup`, async (t) => {
    const ns = makeNetns(`ipt${flavour[0]}`)
    t.teardown(() => ns.destroy())
    const ipt = `iptables-${flavour}`, save = `iptables-${flavour}-save`
    foreignRules(ns, ipt)
    const b = new IptablesBackend({ iptablesBackend: flavour, netnsPath: ns.path })
    t.teardown(() => b.close())
    t.equal(await b.flavour(), flavour)

    // ---- syncAll, read back
    const p1 = plan([web, web6, dns, empty])
    const stats = await b.syncAll(p1)
    t.ok(stats.counts.natRules! > 0 && stats.counts.clusterIPSetElements === 4, 'stats count what was written')
    let s = saved(ns, save)
    const w = intentChains(web), d = intentChains(dns)
    for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-PROXY-CANARY', w.svc, w.ext, w.fw, d.svc, endpointChain(web, web.clusterEndpoints[0]!)]) {
      t.ok(s.nat!.has(c), `nat has ${c}`)
    }
    t.notOk(s.nat!.has(w.svl), 'no KUBE-SVL without a local policy')
    t.ok(s.nat!.get('KUBE-SERVICES')!.some((r) => r.includes('-d 10.96.0.10/32') && r.includes(`-j ${w.svc}`)), 'clusterIP jumps to KUBE-SVC')
    t.ok(s.nat!.get('KUBE-SERVICES')!.at(-1)!.includes('-j KUBE-NODEPORTS'), 'the nodeports jump is last')
    t.ok(s.nat!.get(endpointChain(web, web.clusterEndpoints[0]!))!.some((r) => r.includes('-j DNAT --to-destination 10.244.2.5:8080')), 'the endpoint chain DNATs')
    t.ok(s.nat!.get('PREROUTING')![0]!.includes('-j KUBE-SERVICES'), 'our jump heads PREROUTING')
    t.ok(s.filter!.get('KUBE-SERVICES')!.some((r) => r.includes('-d 10.96.0.11/32') && r.includes('--reject-with tcp-reset')), 'no endpoints: a filter reject')
    t.ok(s.filter!.get('KUBE-PROXY-FIREWALL')!.some((r) => r.includes('-d 198.51.100.1/32') && r.includes('! --match-set PONTOON-LB-SRC-4')), 'source ranges: a firewall drop')
    t.ok(s.mangle!.has('KUBE-PROXY-CANARY'), 'mangle canary')
    assertForeign(t, ns, save, 'after syncAll')
    // IPv6 through the same code, into ip6tables
    const s6 = saved(ns, `ip6tables-${flavour}-save`)
    t.ok(s6.nat!.get('KUBE-SERVICES')!.some((r) => r.includes('-d fd00:10:96::10/128') && r.includes(`-j ${w.svc}`)), 'ip6tables: clusterIP jumps to KUBE-SVC')
    t.ok(s6.nat!.get(endpointChain(web6, web6.clusterEndpoints[0]!))!.some((r) => r.includes('--to-destination [fd00:10:244:2::5]:8080')), 'ip6tables: the endpoint chain DNATs')
    t.notOk(s6.nat!.has(d.svc), 'ip6tables: no IPv4 Service')
    t.match(ns.run('ipset', ['list', 'PONTOON-CLUSTER-IPS-6']), /^fd00:10:96::10$/m)
    const ips = ns.run('ipset', ['list', 'PONTOON-CLUSTER-IPS-4'])
    for (const ip of ['10.96.0.10', '10.96.0.53', '10.96.0.11']) t.match(ips, new RegExp(`^${ip.replace(/\./g, '\\.')}$`, 'm'), `set has ${ip}`)
    t.match(ns.run('ipset', ['list', 'PONTOON-LB-SRC-4']), /^198\.51\.100\.1,tcp:80,203\.0\.113\.0\/24$/m)

    // a second full sync converges on the same rules, without duplicating our jumps
    await b.syncAll(p1)
    s = saved(ns, save)
    t.equal(s.nat!.get('PREROUTING')!.filter((r) => r.includes('pontoon')).length, 1, 'one jump after two syncs')
    t.equal(s.filter!.get('FORWARD')!.filter((r) => r.includes('pontoon')).length, 3)
    t.equal(await b.flushed(), false, 'nothing flushed')

    // ---- syncDelta: an endpoint change of dns; web's chains untouched
    // a probe rule at the end of web's KUBE-SVC shows whether that chain was rewritten
    ns.run(ipt, ['-t', 'nat', '-A', w.svc, '-m', 'comment', '--comment', 'pontoon probe', '-j', 'RETURN'])
    const dns2 = intent({ ...dns, clusterEndpoints: [ep('10.244.3.6', 53)] })
    const p2 = plan([web, web6, dns2, empty])
    const d1: PlanDelta = { upserted: [dns2], removed: [], previous: new Map([[dns.key, dns]]) }
    await b.syncDelta(p2, d1)
    s = saved(ns, save)
    t.ok(s.nat!.get(w.svc)!.some((r) => r.includes('pontoon probe')), 'an unchanged Service\'s chain was not rewritten')
    t.ok(s.nat!.has(endpointChain(dns2, dns2.clusterEndpoints[0]!)), 'the new endpoint\'s chain')
    t.notOk(s.nat!.has(endpointChain(dns, dns.clusterEndpoints[0]!)), 'the old endpoint\'s chain is gone')
    t.ok(s.nat!.get(d.svc)!.some((r) => r.includes(endpointChain(dns2, dns2.clusterEndpoints[0]!))), 'KUBE-SVC points at the new endpoint')

    // a frontend change and a removal: shared rules deleted by text, inserted at the head
    const empty2 = intent({ ...empty, clusterEndpoints: [ep('10.244.2.5', 8080)] })
    const p3 = plan([web, web6, empty2])
    const stats3 = await b.syncDelta(p3, { upserted: [empty2], removed: [dns2], previous: new Map([[empty.key, empty]]) })
    s = saved(ns, save)
    t.notOk(s.nat!.has(d.svc), 'the removed Service\'s chain is gone')
    t.notOk(s.nat!.get('KUBE-SERVICES')!.some((r) => r.includes('10.96.0.53')), 'and its KUBE-SERVICES rule')
    t.ok(s.nat!.get('KUBE-SERVICES')!.some((r) => r.includes('-d 10.96.0.11/32') && r.includes('KUBE-SVC-')), 'the Service that gained an endpoint is DNATed')
    t.notOk(s.filter!.get('KUBE-SERVICES')!.some((r) => r.includes('-d 10.96.0.11/32')), 'and no longer rejected')
    t.ok(s.nat!.get('KUBE-SERVICES')!.at(-1)!.includes('-j KUBE-NODEPORTS'), 'the nodeports jump is still last')
    t.notMatch(ns.run('ipset', ['list', 'PONTOON-CLUSTER-IPS-4']), /10\.96\.0\.53/, 'the removed clusterIP left the set')
    t.equal(stats3.counts.clusterIPSetElements, 3)
    const fresh = new IptablesBackend({ iptablesBackend: flavour, netnsPath: ns.path })
    const full3 = await fresh.syncAll(p3)
    fresh.close()
    t.same(stats3.counts, full3.counts, 'the running counts of partial syncs equal a full sync\'s')
    assertForeign(t, ns, save, 'after syncDelta')

    // ---- a refused restore: our rule removed behind our back, then a delta that must delete it
    const ours = s.nat!.get('KUBE-SERVICES')!.find((r) => r.includes('-d 10.96.0.11/32'))!
    ns.run(`${ipt}-restore`, ['--noflush'], { input: `*nat\n-D${ours.slice(2)}\nCOMMIT\n` })
    const empty3 = intent({ ...empty2, externalIPs: ['192.0.2.10'] })
    const refused = await b.syncDelta(plan([web, web6, empty3]), { upserted: [empty3], removed: [], previous: new Map([[empty2.key, empty2]]) }).then(() => undefined, (e: unknown) => e)
    t.ok(refused instanceof ProxyApplyError, 'a ProxyApplyError')
    t.equal((refused as ProxyApplyError).code, 'PROXY_APPLY')
    t.match((refused as Error).message, /iptables-(nft|legacy)-restore refused the rules: .*(line|Bad rule|does a matching rule exist)/s, 'iptables\' own message')
    t.match((refused as Error).message, /input line \d+: -D KUBE-SERVICES/, 'and the refused input line')
    // after a failure the next delta is a full sync, and repairs it
    await b.syncDelta(plan([web, web6, empty3]), { upserted: [empty3], removed: [], previous: new Map([[empty2.key, empty2]]) })
    s = saved(ns, save)
    t.ok(s.nat!.get('KUBE-SERVICES')!.some((r) => r.includes('-d 192.0.2.10/32')), 'the resync wrote the new frontend')

    // ---- the canary: a flushed table, a flushed KUBE-SERVICES, a deleted jump
    t.equal(await b.flushed(), false)
    ns.run(ipt, ['-t', 'nat', '-F'])
    t.equal(await b.flushed(), true, 'iptables -t nat -F is seen')
    // that flushed the foreign nat rules too: put them back
    ns.run(ipt, ['-t', 'nat', '-A', 'FOREIGN-NAT', '-d', '192.0.2.99', '-j', 'RETURN'])
    ns.run(ipt, ['-t', 'nat', '-A', 'PREROUTING', '-m', 'comment', '--comment', 'portmap', '-j', 'FOREIGN-NAT'])
    await b.syncAll(plan([web, web6, empty3]))
    t.equal(await b.flushed(), false, 'repaired by syncAll')
    ns.run(ipt, ['-t', 'filter', '-F', 'KUBE-SERVICES'])
    t.equal(await b.flushed(), true, 'a flushed filter KUBE-SERVICES is seen')
    await b.syncAll(plan([web, web6, empty3]))
    ns.run(ipt, ['-t', 'nat', '-D', 'OUTPUT', '-m', 'comment', '--comment', 'pontoon kubernetes service portals', '-j', 'KUBE-SERVICES'])
    t.equal(await b.flushed(), true, 'a deleted jump is seen')
    await b.syncAll(plan([web, web6, empty3]))
    if (flavour === 'nft') {
      ns.run('nft', ['flush', 'ruleset'])
      t.equal(await b.flushed(), true, 'nft flush ruleset is seen')
      foreignRules(ns, ipt)
      await b.syncAll(plan([web, web6, empty3]))
    }

    // ---- bad input: refused before anything is written
    const before = ns.run(save, []).replace(/^#.*$/gm, '')
    const bad = intent({ service: 'default/bad', clusterIP: '10.96.0.300' })
    await t.rejects(b.syncAll(plan([web, web6, bad])), { code: 'IPT_BAD_INTENT' })
    t.equal(ns.run(save, []).replace(/^#.*$/gm, ''), before, 'a refused plan changes nothing')

    // ---- cleanup: nothing of ours, everything of theirs; twice is fine
    // someone adds a rule of theirs to our nat KUBE-SERVICES: that chain is theirs too now
    ns.run(ipt, ['-t', 'nat', '-A', 'KUBE-SERVICES', '-d', '192.0.2.98', '-j', 'RETURN'])
    await b.cleanup()
    const after = ns.run(save, [])
    t.notMatch(after, /pontoon/, 'no rule of ours')
    t.same([...after.matchAll(/^:(KUBE-\S+)/gm)].map((m) => m[1]), ['KUBE-SERVICES'], 'no chain of ours but the one they wrote into')
    t.same(saved(ns, save).nat!.get('KUBE-SERVICES'), ['-A KUBE-SERVICES -d 192.0.2.98/32 -j RETURN'], 'with their rule only')
    t.notMatch(ns.run(`ip6tables-${flavour}-save`, []), /KUBE-|pontoon/, 'nor in ip6tables')
    t.notMatch(ns.run('ipset', ['list', '-n']), /PONTOON-/, 'no set of ours')
    assertForeign(t, ns, save, 'after cleanup')
    await b.cleanup()
    t.equal(await b.flushed(), true, 'after cleanup nothing is programmed')
  })
}

t.test('cleanup in a namespace where nothing was ever written', async (t) => {
  const ns = makeNetns('iptc')
  t.teardown(() => ns.destroy())
  const b = new IptablesBackend({ netnsPath: ns.path })
  await b.cleanup()
  t.notMatch(ns.run('iptables-save', []), /KUBE-/)
  b.close()
  await t.rejects(b.syncAll(plan([])), { code: 'PROXY_APPLY', message: /closed/ })
})

/**
 * The node's own counters: packets its tcp-reset rules matched (iptables-save -c;
 * the system's iptables is the flavour 'auto' picked) and ICMP unreachables it
 * sent (/proc/net/snmp read inside its namespace).
 */
function snmp(ns: Netns): { resets: number; icmpOutDestUnreachs: number } {
  let resets = 0
  for (const l of ns.run('iptables-save', ['-c', '-t', 'filter']).split('\n')) {
    const m = /^\[(\d+):\d+\] -A .*--reject-with tcp-reset/.exec(l)
    if (m) resets += Number(m[1])
  }
  const lines = ns.run('cat', ['/proc/net/snmp']).split('\n')
  const field = (proto: string, name: string) => {
    const [head, values] = lines.filter((l) => l.startsWith(`${proto}:`))
    const i = head!.split(' ').indexOf(name)
    return Number(values!.split(' ')[i])
  }
  return { resets, icmpOutDestUnreachs: field('Icmp', 'OutDestUnreachs') }
}

t.test('traffic: a ClusterIP reaches a backend; no endpoints and unallocated ports refuse at once', async (t) => {
  const node = makeNetns('iptn'), client = makeNetns('iptcl'), backend = makeNetns('iptb')
  t.teardown(() => { client.destroy(); backend.destroy(); node.destroy() })
  linkNamespaces(node, '10.0.1.1/24', client, '10.0.1.2/24', 'ic')
  linkNamespaces(node, '10.244.2.1/24', backend, '10.244.2.5/24', 'ib')
  client.run('ip', ['route', 'add', 'default', 'via', '10.0.1.1'])
  backend.run('ip', ['route', 'add', 'default', 'via', '10.244.2.1'])
  node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  // a node has a default route: without one an un-DNATed Service packet dies in routing, before filter
  // (this kernel has no dummy links; any next hop will do, filter decides first)
  node.run('ip', ['route', 'add', 'default', 'via', '10.244.2.5'])
  await servePeer(backend, 8080)

  const b = new IptablesBackend({ netnsPath: node.path })
  t.teardown(() => b.close())
  await b.syncAll(plan([web, empty]))
  t.comment(`flavour: ${await b.flavour()}`)
  // the client is outside the cluster CIDR, so the backend sees the node's address (masquerade)
  t.equal(tcpAsk(client, '10.96.0.10', 80), '10.244.2.1', 'ClusterIP -> backend, masqueraded')
  t.equal(tcpAsk(client, '10.244.2.5', 8080), '10.0.1.2', 'direct, not masqueraded (control)')

  const refusedAtOnce = (port: number, ip: string) => {
    // a 5 s timeout: an ICMP or a silent drop would take seconds or fail with a timeout, a reset fails with ECONNREFUSED
    const r = client.try('socat', ['-T', '5', '-', `TCP:${ip}:${port},connect-timeout=5`], { input: '' })
    if (r.status === 0 || !/Connection refused/.test(r.stderr)) t.comment(`socat: ${r.status} ${r.stderr}`)
    return r.status !== 0 && /Connection refused/.test(r.stderr)
  }
  // refused by a TCP reset, not by the ICMP error the kernel rate-limits: count what the node sent
  const before = snmp(node)
  for (let n = 0; n < 20; n++) t.ok(refusedAtOnce(80, '10.96.0.11'), `no endpoints: refused (${n + 1})`)
  t.ok(refusedAtOnce(81, '10.96.0.10'), 'an unallocated port of a clusterIP: refused')
  const after = snmp(node)
  t.equal(after.resets - before.resets, 21, 'the node\'s tcp-reset rules refused each')
  t.equal(after.icmpOutDestUnreachs, before.icmpOutDestUnreachs, 'and no ICMP unreachable')

  // the empty Service gains the endpoint: a delta makes it answer
  const empty2 = intent({ ...empty, clusterEndpoints: [ep('10.244.2.5', 8080)] })
  await b.syncDelta(plan([web, empty2]), { upserted: [empty2], removed: [], previous: new Map([[empty.key, empty]]) })
  t.equal(tcpAsk(client, '10.96.0.11', 80), '10.244.2.1', 'after the delta the Service answers')
  await b.cleanup()
  t.ok(client.try('socat', ['-T', '2', '-', 'TCP:10.96.0.10:80,connect-timeout=2'], { input: '' }).status !== 0, 'after cleanup the ClusterIP is gone')
})
