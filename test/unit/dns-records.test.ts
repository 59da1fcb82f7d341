// The cluster domain's name -> record mapping, from API-shaped objects through
// DNS's normalisers into a snapshot, as the server sees them: every record
// type, headless Services, ExternalName, a Service changing type, a deletion.
import t from 'tap'
import { buildSnapshot, SnapshotIndex } from '../../src/cluster/snapshot.ts'
import type { Normalized } from '../../src/cluster/normalized.ts'
import type { DnsEndpointSlice, DnsService } from '../../src/dns/model.ts'
import { normalizeDnsEndpointSlice, normalizeDnsService } from '../../src/dns/normalize.ts'
import { dashed, lookup, reverseIndex, reverseName, SCHEMA_VERSION, type DnsSnapshot, type Lookup, type ZoneConfig } from '../../src/dns/records.ts'

type Obj = Record<string, unknown>
const cfg: ZoneConfig = { domain: 'cluster.local', ttl: 5, serial: 1700000000 }

function value<T>(n: Normalized<T>): T {
  if (n.kind !== 'ok') throw new Error(`not ok: ${n.kind} ${n.reason}`)
  return n.value
}
const svc = (name: string, spec: Obj, ns = 'default'): DnsService => value(normalizeDnsService({ metadata: { namespace: ns, name }, spec }))
const slice = (name: string, service: string, endpoints: Obj[], ports: Obj[] = [], addressType = 'IPv4', ns = 'default'): DnsEndpointSlice =>
  value(normalizeDnsEndpointSlice({ metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': service } }, addressType, endpoints, ports }))
const snap = (services: DnsService[], slices: DnsEndpointSlice[] = []): DnsSnapshot =>
  buildSnapshot<DnsService, DnsEndpointSlice>(services.map((s) => [`${s.namespace}/${s.name}`, s]), slices, [])

const web = svc('web', { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20', 'fd00:96::20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }, { port: 9000 }] })
const db = svc('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] })
const dbSlice = slice('db-abc', 'db', [
  { addresses: ['10.244.1.5'], hostname: 'db-0' },
  { addresses: ['10.244.2.6'] },
  { addresses: ['10.244.3.7'], hostname: 'db-2', conditions: { ready: false } },
], [{ name: 'pg', port: 5432, protocol: 'TCP' }])
const ext = svc('ext', { type: 'ExternalName', externalName: 'Example.COM.' })
const world = snap([web, db, ext], [dbSlice])

function zone(l: Lookup) {
  if (l.kind !== 'zone') throw new Error('expected an answer from the zone')
  return l
}
const data = (l: Lookup) => zone(l).answers.map((a) => a.data)
const soaOnly = (l: Lookup) => zone(l).authority.map((a) => a.type)

t.test('A and AAAA for a ClusterIP Service: its ClusterIPs by family, case-insensitive, the name as asked', async (t) => {
  const a = zone(lookup(world, 'Web.Default.svc.cluster.local.', 'A', cfg))
  t.same(a, { kind: 'zone', rcode: 'NOERROR', answers: [{ name: 'Web.Default.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.20' }], authority: [], additionals: [] })
  t.same(data(lookup(world, 'web.default.svc.cluster.local', 'AAAA', cfg)), ['fd00:96::20'])
  t.same(data(lookup(world, 'web.default.svc.cluster.local', 'ANY', cfg)), ['10.96.0.20', 'fd00:96::20'])
  const v4only = snap([svc('v4', { clusterIP: '10.96.0.21' })])
  const none = zone(lookup(v4only, 'v4.default.svc.cluster.local', 'AAAA', cfg))
  t.equal(none.rcode, 'NOERROR', 'NODATA: the name exists')
  t.same(none.answers, [])
  t.same(soaOnly(none), ['SOA'])
  t.same(zone(lookup(world, 'web.default.svc.cluster.local', 'MX', cfg)).answers, [], 'other types: NODATA')
})

t.test('the TTL is the configured one, on answers and on the SOA', async (t) => {
  const c = { ...cfg, ttl: 30 }
  t.equal(zone(lookup(world, 'web.default.svc.cluster.local', 'A', c)).answers[0]!.ttl, 30)
  const nx = zone(lookup(world, 'nope.default.svc.cluster.local', 'A', c))
  t.same(nx.authority, [{ name: 'cluster.local', type: 'SOA', class: 'IN', ttl: 30, data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1700000000, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 } }])
})

t.test('headless: the ready endpoints, each address once; hostname records; not-ready ones absent', async (t) => {
  t.same(data(lookup(world, 'db.default.svc.cluster.local', 'A', cfg)), ['10.244.1.5', '10.244.2.6'])
  t.same(data(lookup(world, 'db-0.db.default.svc.cluster.local', 'A', cfg)), ['10.244.1.5'])
  t.same(data(lookup(world, '10-244-2-6.db.default.svc.cluster.local', 'A', cfg)), ['10.244.2.6'], 'no hostname: the dashed IP')
  t.equal(zone(lookup(world, 'db-2.db.default.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN', 'not ready')
  t.equal(zone(lookup(world, 'db-9.db.default.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, 'x.web.default.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN', 'endpoint names only under headless Services')
  t.equal(zone(lookup(world, 'a.b.db.default.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  const twice = snap([db], [dbSlice, slice('db-def', 'db', [{ addresses: ['10.244.1.5'], hostname: 'db-0' }])])
  t.same(data(lookup(twice, 'db.default.svc.cluster.local', 'A', cfg)), ['10.244.1.5', '10.244.2.6'], 'an address in two slices once')
  const noEndpoints = zone(lookup(snap([db]), 'db.default.svc.cluster.local', 'A', cfg))
  t.equal(noEndpoints.rcode, 'NOERROR')
  t.same(noEndpoints.answers, [])
  const v6 = snap([db], [slice('db-v6', 'db', [{ addresses: ['fd00::5'] }], [], 'IPv6')])
  t.same(data(lookup(v6, 'db.default.svc.cluster.local', 'AAAA', cfg)), ['fd00::5'])
  t.same(data(lookup(v6, 'fd00--5.db.default.svc.cluster.local', 'AAAA', cfg)), ['fd00::5'])
  t.same(data(lookup(v6, 'db.default.svc.cluster.local', 'A', cfg)), [])
})

t.test('SRV for named ports: one per port on a ClusterIP Service, one per ready endpoint on a headless one', async (t) => {
  const s = zone(lookup(world, '_http._tcp.web.default.svc.cluster.local', 'SRV', cfg))
  t.same(s.answers, [{ name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV', class: 'IN', ttl: 5, data: { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' } }])
  t.same(s.additionals.map((a) => [a.name, a.type, a.data]), [['web.default.svc.cluster.local', 'A', '10.96.0.20'], ['web.default.svc.cluster.local', 'AAAA', 'fd00:96::20']])
  t.same(data(lookup(world, '_DNS._UDP.web.default.svc.cluster.local', 'SRV', cfg)).map((d) => (d as { port: number }).port), [53])
  t.equal(zone(lookup(world, '_dns._tcp.web.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN', 'the protocol must match')
  t.equal(zone(lookup(world, '_http._xyz.web.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, '_nope._tcp.web.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, '_http.tcp.web.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN', 'the proto label needs its underscore')
  t.equal(zone(lookup(world, '_a._b._http._tcp.web.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN')
  const asA = zone(lookup(world, '_http._tcp.web.default.svc.cluster.local', 'A', cfg))
  t.same([asA.rcode, asA.answers], ['NOERROR', []], 'the SRV name exists: NODATA for A')
  const ent = zone(lookup(world, '_tcp.web.default.svc.cluster.local', 'SRV', cfg))
  t.same([ent.rcode, ent.answers], ['NOERROR', []], '"_tcp.<svc>" is an empty non-terminal')
  const all = data(lookup(world, 'web.default.svc.cluster.local', 'SRV', cfg)).map((d) => (d as { port: number }).port)
  t.same(all, [80, 53], 'SRV at the Service name: every named port, the unnamed one not')

  const h = zone(lookup(world, '_pg._tcp.db.default.svc.cluster.local', 'SRV', cfg))
  t.same(h.answers.map((a) => a.data), [
    { priority: 0, weight: 100, port: 5432, target: 'db-0.db.default.svc.cluster.local' },
    { priority: 0, weight: 100, port: 5432, target: '10-244-2-6.db.default.svc.cluster.local' },
  ])
  t.same(h.additionals.map((a) => [a.name, a.data]), [['db-0.db.default.svc.cluster.local', '10.244.1.5'], ['10-244-2-6.db.default.svc.cluster.local', '10.244.2.6']])
  t.equal(zone(lookup(snap([db]), '_pg._tcp.db.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN', 'headless ports come from its slices')
  const unnamed = snap([db], [slice('db-u', 'db', [{ addresses: ['10.244.1.9'] }], [{ port: 5432 }])])
  t.same(data(lookup(unnamed, 'db.default.svc.cluster.local', 'SRV', cfg)), [], 'no named ports: NODATA')
  const dup = snap([db], [slice('db-a', 'db', [{ addresses: ['10.244.1.5'] }], [{ name: 'pg', port: 5432 }, { name: 'pg2', port: 5433 }])])
  t.same(zone(lookup(dup, 'db.default.svc.cluster.local', 'SRV', cfg)).additionals.length, 1, 'a target\'s address once, however many ports')
})

t.test('ExternalName: a CNAME to the target for every type, lower case, no final dot', async (t) => {
  for (const type of ['A', 'AAAA', 'CNAME']) {
    t.same(zone(lookup(world, 'ext.default.svc.cluster.local', type, cfg)).answers, [{ name: 'ext.default.svc.cluster.local', type: 'CNAME', class: 'IN', ttl: 5, data: 'example.com' }])
  }
  t.equal(zone(lookup(world, '_http._tcp.ext.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, '_tcp.ext.default.svc.cluster.local', 'SRV', cfg)).rcode, 'NXDOMAIN')
})

t.test('PTR for ClusterIPs and headless endpoints; other reverse names are outside', async (t) => {
  t.equal(reverseName('10.96.0.20'), '20.0.96.10.in-addr.arpa')
  t.equal(reverseName('fd00::5'), '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa')
  t.same(data(lookup(world, '20.0.96.10.in-addr.arpa', 'PTR', cfg)), ['web.default.svc.cluster.local'])
  t.same(data(lookup(world, reverseName('fd00:96::20'), 'PTR', cfg)), ['web.default.svc.cluster.local'])
  t.same(data(lookup(world, '5.1.244.10.IN-ADDR.ARPA.', 'PTR', cfg)), ['db-0.db.default.svc.cluster.local'])
  t.same(data(lookup(world, '6.2.244.10.in-addr.arpa', 'PTR', cfg)), ['10-244-2-6.db.default.svc.cluster.local'])
  t.same(lookup(world, '7.3.244.10.in-addr.arpa', 'PTR', cfg), { kind: 'outside' }, 'a not-ready endpoint has no PTR')
  t.same(lookup(world, '1.1.168.192.in-addr.arpa', 'PTR', cfg), { kind: 'outside' })
  t.same(data(lookup(world, '20.0.96.10.in-addr.arpa', 'A', cfg)), [], 'NODATA for other types')
  const shared = snap([svc('a', { clusterIP: '10.96.0.30' }), svc('b', { clusterIP: '10.96.0.30' })])
  t.same(data(lookup(shared, '30.0.96.10.in-addr.arpa', 'PTR', cfg)).sort(), ['a.default.svc.cluster.local', 'b.default.svc.cluster.local'])
  const twice = snap([db], [dbSlice, slice('db-def', 'db', [{ addresses: ['10.244.1.5'], hostname: 'db-0' }])])
  t.same(data(lookup(twice, '5.1.244.10.in-addr.arpa', 'PTR', cfg)), ['db-0.db.default.svc.cluster.local'], 'one name once')
  t.equal(reverseIndex(world, 'cluster.local'), reverseIndex(world, 'cluster.local'), 'built once per snapshot')
})

t.test('pod A records from the dashed address; bad ones NXDOMAIN', async (t) => {
  t.same(data(lookup(world, '10-244-1-5.default.pod.cluster.local', 'A', cfg)), ['10.244.1.5'])
  t.same(data(lookup(world, 'fd00--5.default.pod.cluster.local', 'AAAA', cfg)), ['fd00::5'])
  t.same(data(lookup(world, '2001-db8-0-0-0-0-0-1.x.pod.cluster.local', 'AAAA', cfg)), ['2001:db8::1'])
  t.same(data(lookup(world, '10-244-1-5.default.pod.cluster.local', 'AAAA', cfg)), [])
  t.equal(zone(lookup(world, '10-244-1.default.pod.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, '10-244-1-999.default.pod.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, 'a.10-244-1-5.default.pod.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  t.same(zone(lookup(world, 'default.pod.cluster.local', 'A', cfg)).rcode, 'NOERROR')
  t.same(zone(lookup(world, 'pod.cluster.local', 'A', cfg)).rcode, 'NOERROR')
  t.equal(dashed('10.1.2.3'), '10-1-2-3')
})

t.test('the zone: NXDOMAIN with its SOA, empty non-terminals NODATA, apex SOA/NS, dns-version; other names outside', async (t) => {
  const nx = zone(lookup(world, 'nope.default.svc.cluster.local', 'A', cfg))
  t.same([nx.rcode, nx.answers, soaOnly(nx)], ['NXDOMAIN', [], ['SOA']])
  t.equal(zone(lookup(world, 'web.other.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN', 'the namespace is part of the name')
  t.equal(zone(lookup(world, 'foo.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  t.equal(zone(lookup(world, 'foo.bar.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN')
  for (const ent of ['svc.cluster.local', 'default.svc.cluster.local']) {
    const e = zone(lookup(world, ent, 'A', cfg))
    t.same([e.rcode, e.answers, soaOnly(e)], ['NOERROR', [], ['SOA']], ent)
  }
  const soa = zone(lookup(world, 'cluster.local', 'SOA', cfg))
  t.same([soa.answers.map((a) => a.type), soa.authority], [['SOA'], []])
  t.same(zone(lookup(world, 'Cluster.Local.', 'NS', cfg)).answers, [{ name: 'Cluster.Local', type: 'NS', class: 'IN', ttl: 5, data: 'ns.dns.cluster.local' }])
  t.same(data(lookup(world, 'cluster.local', 'A', cfg)), [])
  t.same(data(lookup(world, 'dns-version.cluster.local', 'TXT', cfg)), [[SCHEMA_VERSION]])
  t.same(data(lookup(world, 'dns-version.cluster.local', 'A', cfg)), [])
  t.same(lookup(world, 'example.com', 'A', cfg), { kind: 'outside' })
  t.same(lookup(world, 'xcluster.local', 'A', cfg), { kind: 'outside' }, 'a suffix match needs a label boundary')
  t.same(lookup(world, 'web.default.svc.cluster.local.evil', 'A', cfg), { kind: 'outside' })
  const other = { ...cfg, domain: 'lab.test' }
  t.same(data(lookup(world, 'web.default.svc.lab.test', 'A', other)), ['10.96.0.20'])
  t.same(lookup(world, 'web.default.svc.cluster.local', 'A', other), { kind: 'outside' })
})

t.test('a Service that changes type, and one deleted: the next snapshot answers the new state, the old one keeps its own', async (t) => {
  const index = new SnapshotIndex<DnsService, DnsEndpointSlice>()
  const key = 'default/flip'
  const asIP = svc('flip', { clusterIP: '10.96.0.40', ports: [{ name: 'http', port: 80 }] })
  index.service(key, undefined, asIP)
  index.endpointSlice('default/flip-1', undefined, slice('flip-1', 'flip', [{ addresses: ['10.244.1.40'] }], [{ name: 'http', port: 8080 }]))
  const s1 = index.snapshot()
  t.same(data(lookup(s1, 'flip.default.svc.cluster.local', 'A', cfg)), ['10.96.0.40'])

  const asHeadless = svc('flip', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] })
  index.service(key, asIP, asHeadless)
  const s2 = index.snapshot()
  t.same(data(lookup(s2, 'flip.default.svc.cluster.local', 'A', cfg)), ['10.244.1.40'])
  t.same(data(lookup(s2, '_http._tcp.flip.default.svc.cluster.local', 'SRV', cfg)).map((d) => (d as { port: number }).port), [8080], 'headless: the endpoint port')
  t.same(lookup(s2, '40.0.96.10.in-addr.arpa', 'PTR', cfg), { kind: 'outside' }, 'the old ClusterIP has no PTR')
  t.same(data(lookup(s2, '40.1.244.10.in-addr.arpa', 'PTR', cfg)), ['10-244-1-40.flip.default.svc.cluster.local'])

  const asExt = svc('flip', { type: 'ExternalName', externalName: 'db.example.org' })
  index.service(key, asHeadless, asExt)
  const s3 = index.snapshot()
  t.same(zone(lookup(s3, 'flip.default.svc.cluster.local', 'A', cfg)).answers.map((a) => [a.type, a.data]), [['CNAME', 'db.example.org']])
  t.same(lookup(s3, '40.1.244.10.in-addr.arpa', 'PTR', cfg), { kind: 'outside' })

  index.service(key, asExt, undefined)
  const s4 = index.snapshot()
  t.equal(zone(lookup(s4, 'flip.default.svc.cluster.local', 'A', cfg)).rcode, 'NXDOMAIN', 'deleted')
  t.same(data(lookup(s1, 'flip.default.svc.cluster.local', 'A', cfg)), ['10.96.0.40'], 'an earlier snapshot is unchanged')
})

t.test('normalisers: what DNS keeps and what it refuses, each with the field', async (t) => {
  const n = (obj: Obj) => normalizeDnsService(obj)
  t.match(n({ metadata: { namespace: 'd', name: 'x' }, spec: { type: 'ExternalName', externalName: 'bad name!' } }), { kind: 'malformed', reason: /^spec\.externalName: "bad name!" is not a DNS name/ })
  t.match(n({ metadata: { namespace: 'd', name: 'x' }, spec: { type: 'ExternalName' } }), { kind: 'malformed', reason: /spec\.externalName/ })
  t.match(n({ metadata: { namespace: 'd', name: 'x' }, spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'nope'] } }), { kind: 'malformed', reason: 'spec.clusterIPs[1]: "nope" is not an IP address' })
  t.match(n({ metadata: { namespace: 'd', name: 'x' }, spec: {} }), { kind: 'ignored' })
  t.match(n({ metadata: { namespace: 'd', name: 'x' } }), { kind: 'ignored' })
  t.match(n({ metadata: { name: 'x' } }), { kind: 'malformed', reason: /^metadata\.namespace/ })
  t.match(n({ metadata: { namespace: 'd', name: 'x', labels: { 'service.kubernetes.io/service-proxy-name': 'other' } }, spec: { clusterIP: '10.96.0.1' } }), { kind: 'ok' }, 'another proxy\'s Service still has a name')
  t.match(value(n({ metadata: { namespace: 'd', name: 'x' }, spec: { clusterIP: '10.96.0.1', ports: [{ port: 1 }] } })), { kind: 'ClusterIP', clusterIPs: ['10.96.0.1'], ports: [{ name: '', protocol: 'TCP', port: 1 }] })
  const s = (obj: Obj) => normalizeDnsEndpointSlice({ metadata: { namespace: 'd', name: 's', labels: { 'kubernetes.io/service-name': 'x' } }, ...obj })
  t.match(s({ addressType: 'FQDN', endpoints: [] }), { kind: 'ignored' })
  t.match(normalizeDnsEndpointSlice({ metadata: { namespace: 'd', name: 's' }, addressType: 'IPv4' }), { kind: 'ignored' })
  t.match(s({ addressType: 'IPv4', endpoints: [{ addresses: ['fd00::1'] }] }), { kind: 'malformed', reason: 'endpoints[0].addresses[0]: "fd00::1" is not an IPv4 address' })
  t.match(s({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], hostname: 'A.B' }] }), { kind: 'malformed', reason: 'endpoints[0].hostname: "A.B" is not a DNS label' })
  t.match(s({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] }), { kind: 'ok', value: { endpoints: [{ ready: true, hostname: null }], ports: [] } })
  t.match(s({ addressType: 'IPv4', ports: [{ name: 'p' }, { port: 5, protocol: 'UDP' }] }), { kind: 'ok', value: { endpoints: [], ports: [{ name: '', protocol: 'UDP', port: 5 }] } })
  t.match(s({ addressType: 7 }), { kind: 'malformed', reason: /^addressType/ })
})

t.test('normalisers, exactly: DNS names and labels at their edges, defaults, and every reason', async (t) => {
  const ext = (externalName: string) => normalizeDnsService({ metadata: { namespace: 'd', name: 'x' }, spec: { type: 'ExternalName', externalName } })
  const label63 = 'a'.repeat(63)
  t.same(value(ext('A.example.com.')), { namespace: 'd', name: 'x', ports: [], kind: 'ExternalName', clusterIPs: [], externalName: 'a.example.com' }, 'one-letter first label, lower-cased, trailing dot dropped')
  t.equal(value(ext('x.a')).externalName, 'x.a', 'a one-letter later label')
  t.equal(ext('_a.example.com').kind, 'malformed', 'a bad first character')
  t.equal(ext('example.com_').kind, 'malformed', 'a bad last character')
  t.equal(ext([label63, label63, label63, label63].join('.')).kind, 'malformed', 'over 253 characters')
  t.equal(ext([label63, label63, label63, 'a'.repeat(61)].join('.')).kind, 'ok', '253 characters')
  t.same(normalizeDnsService({ metadata: { namespace: 'd', name: 'x' }, spec: { type: 'ExternalName' } }), { kind: 'malformed', key: 'd/x', reason: 'spec.externalName: "" is not a DNS name' })
  t.same(value(normalizeDnsService({ metadata: { namespace: 'd', name: 'h' }, spec: { clusterIP: 'None' } })), { namespace: 'd', name: 'h', ports: [], kind: 'Headless', clusterIPs: [], externalName: '' })
  t.same(normalizeDnsService({ metadata: { namespace: 'd', name: 'x' }, spec: {} }), { kind: 'ignored', key: 'd/x', reason: 'no clusterIP allocated yet' })
  t.same(value(normalizeDnsService({ metadata: { namespace: 'd', name: 'c' }, spec: { clusterIP: '10.96.0.9' } })), { namespace: 'd', name: 'c', ports: [], kind: 'ClusterIP', clusterIPs: ['10.96.0.9'], externalName: '' }, 'no clusterIPs: the clusterIP alone')
  t.same(normalizeDnsService({ metadata: { namespace: 'd', name: 'x' }, spec: { clusterIP: 'nope', clusterIPs: ['nope'] } }), { kind: 'malformed', key: 'd/x', reason: 'spec.clusterIPs[0]: "nope" is not an IP address' })

  const slice = (obj: Obj) => normalizeDnsEndpointSlice({ metadata: { namespace: 'd', name: 's', labels: { 'kubernetes.io/service-name': 'x' } }, ...obj })
  const host = (hostname: string) => slice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], hostname }] }).kind
  t.equal(host('a'), 'ok', 'a one-letter hostname')
  t.equal(host('-web'), 'malformed', 'a leading dash')
  t.equal(host('web-'), 'malformed', 'a trailing dash')
  t.same(value(slice({ addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: false } }] })), { namespace: 'd', name: 's', serviceName: 'x', addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], ready: false, hostname: null }], ports: [] })
  t.same(normalizeDnsEndpointSlice({ metadata: { namespace: 'd', name: 's' }, addressType: 'IPv4' }), { kind: 'ignored', key: 'd/s', reason: 'no kubernetes.io/service-name label' })
  t.same(slice({ addressType: 'FQDN' }), { kind: 'ignored', key: 'd/s', reason: 'addressType FQDN has no address records' })
})
