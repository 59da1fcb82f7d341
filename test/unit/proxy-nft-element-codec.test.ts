import t from 'tap'
import { endianness } from 'node:os'
import { ElementCodecError, encodeElement, encodeParts, layoutOf } from '../../src/proxy/nftables/element-codec.ts'
import { renderPlan } from '../../src/proxy/nftables/render.ts'
import type { PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'

const hex = (b: Buffer) => b.toString('hex')

t.test('layoutOf reads type and typeof declarations', async (t) => {
  t.same(layoutOf('type ipv4_addr ;'), { key: ['ip4'] })
  t.same(layoutOf('type ipv6_addr . inet_proto . inet_service : verdict ;'), { key: ['ip6', 'proto', 'port'], data: 'verdict' })
  t.same(layoutOf('type inet_proto . inet_service : verdict ;'), { key: ['proto', 'port'], data: 'verdict' })
  t.same(layoutOf('type ipv4_addr . ipv4_addr ;'), { key: ['ip4', 'ip4'] })
  t.same(layoutOf('typeof ip daddr . meta l4proto . th dport . numgen random mod 65536 : ip daddr . tcp dport ;'), { key: ['ip4', 'proto', 'port', 'u32'], data: ['ip4', 'port'] })
  t.same(layoutOf('typeof ip6 saddr . meta l4proto . th sport . numgen inc mod 7 : ip6 daddr . udp dport ;'), { key: ['ip6', 'proto', 'port', 'u32'], data: ['ip6', 'port'] })
  t.same(layoutOf('typeof meta l4proto . th dport . numgen random mod 65536 : ip daddr . sctp dport ;'), { key: ['proto', 'port', 'u32'], data: ['ip4', 'port'] })
  t.same(layoutOf('  type ipv4_addr : verdict ;  '), { key: ['ip4'], data: 'verdict' }, 'surrounding blanks')
})

t.test('layoutOf refuses what it cannot encode: libnftables keeps those', async (t) => {
  t.equal(layoutOf('type ipv4_addr . inet_proto . inet_service . ipv4_addr ; flags interval ;'), undefined, 'intervals')
  t.equal(layoutOf('typeof ip saddr . ip daddr : ip daddr ; size 65535 ; flags dynamic,timeout ; timeout 10s ;'), undefined, 'dynamic, timeouts')
  t.equal(layoutOf('type ether_addr ;'), undefined, 'a type not listed')
  t.equal(layoutOf('type ipv4_addr : ether_addr ;'), undefined, 'a value type not listed')
  t.equal(layoutOf('typeof ip daddr . ct mark ;'), undefined, 'an expression not listed')
  t.equal(layoutOf('typeof numgen random mod x ;'), undefined, 'numgen without a number')
  t.equal(layoutOf('type ipv4_addr'), undefined, 'no terminating ;')
  t.equal(layoutOf(''), undefined)
  t.equal(layoutOf('policy memory ;'), undefined)
})

t.test('encodeParts: single parts keep their size, concatenations pad each part to 4', async (t) => {
  t.equal(hex(encodeParts(['ip4'], '10.96.0.1')), '0a600001')
  t.equal(hex(encodeParts(['port'], '80')), '0050', 'a lone port is 2 bytes')
  t.equal(hex(encodeParts(['proto'], 'udp')), '11', 'a lone protocol is 1 byte')
  t.equal(hex(encodeParts(['ip4', 'proto', 'port'], '10.96.0.1 . tcp . 80')), '0a600001' + '06000000' + '00500000')
  t.equal(hex(encodeParts(['proto', 'port'], 'sctp . 30080')), '84000000' + '75800000')
  t.equal(hex(encodeParts(['ip6', 'port'], 'fd00::1 . 53')), 'fd000000000000000000000000000001' + '00350000', 'an IPv6 part is 16 bytes')
  const slot = encodeParts(['ip4', 'u32'], '10.0.0.1 . 258').subarray(4)
  t.equal(hex(slot), endianness() === 'LE' ? '02010000' : '00000102', "numgen's slot in host order")
  t.equal(hex(encodeParts(['proto'], '6')), '06', 'a protocol by number')
  t.equal(hex(encodeParts(['port'], '65535')), 'ffff')
  t.equal(hex(encodeParts(['port'], '0')), '0000')
  t.equal(hex(encodeParts(['u32'], '4294967295')), 'ffffffff')
  t.equal(hex(encodeParts(['proto'], '255')), 'ff')
})

t.test('encodeParts refuses what is not the part it claims to be', async (t) => {
  const bad: Array<[Parameters<typeof encodeParts>[0], string, RegExp]> = [
    [['ip4'], 'fd00::1', /not an IPv4 address/],
    [['ip6'], '10.0.0.1', /not an IPv6 address/],
    [['ip4'], '10.0.0', /not an IPv4 address/],
    [['proto'], 'icmp', /not a protocol/],
    [['proto'], '256', /not a protocol/],
    [['proto'], '1000', /not a protocol/],
    [['port'], '65536', /not a port/],
    [['port'], '-1', /not a port/],
    [['port'], '8O', /not a port/],
    [['port'], '123456', /not a port/],
    [['u32'], '4294967296', /not a 32-bit integer/],
    [['u32'], '1e3', /not a 32-bit integer/],
    [['ip4', 'port'], '10.0.0.1', /has 1 parts, the set 2/],
    [['ip4'], '10.0.0.1 . 80', /has 2 parts, the set 1/],
  ]
  for (const [parts, text, msg] of bad) t.throws(() => encodeParts(parts, text), { name: 'ElementCodecError', code: 'ENFTELEM', message: msg }, `${parts.join('.')} "${text}"`)
})

t.test('encodeElement: sets, verdict maps, value maps', async (t) => {
  t.same(encodeElement({ key: ['ip4'] }, '10.96.0.1', undefined), { key: Buffer.from('0a600001', 'hex') })
  t.same(encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', 'goto lb-v4-ip-main-keep-2'), { key: Buffer.from('0a600001', 'hex'), data: { kind: 'verdict', code: 'goto', chain: 'lb-v4-ip-main-keep-2' } })
  t.same(encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', 'jump x').data, { kind: 'verdict', code: 'jump', chain: 'x' })
  for (const v of ['accept', 'drop', 'return', 'continue']) t.same(encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', v).data, { kind: 'verdict', code: v })
  t.same(encodeElement({ key: ['ip4', 'u32'], data: ['ip4', 'port'] }, '10.96.0.1 . 0', '10.128.0.5 . 8080'), {
    key: Buffer.from('0a600001' + (endianness() === 'LE' ? '00000000' : '00000000'), 'hex'),
    data: { kind: 'value', bytes: Buffer.from('0a800005' + '1f900000', 'hex') },
  })
  t.throws(() => encodeElement({ key: ['ip4'] }, '10.96.0.1', 'goto x'), ElementCodecError, 'a set element with a value')
  t.throws(() => encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', undefined), /needs a value/)
  t.throws(() => encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', 'goto'), /not a verdict/)
  t.throws(() => encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', 'queue'), /not a verdict/)
  t.throws(() => encodeElement({ key: ['ip4'], data: 'verdict' }, '10.96.0.1', 'goto a b'), /not a verdict/)
})

t.test("every element the renderer makes for a varied plan encodes in its set's layout", async (t) => {
  const base = (i: number, o: Partial<PortIntent>): PortIntent => ({
    key: `default/s${i}:p:tcp:4`, service: `default/s${i}`, portName: 'p', family: 4, protocol: 'tcp',
    clusterIP: `10.96.0.${i}`, port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [{ ip: `10.244.1.${i}`, port: 8080, local: true }, { ip: `10.244.2.${i}`, port: 8080, local: false }], localEndpoints: [], hasAnyEndpoints: true, ...o,
  } as PortIntent)
  const intents: PortIntent[] = [
    base(1, {}),
    base(2, { protocol: 'udp', nodePort: 30002, externalIPs: ['192.0.2.2'], loadBalancerIPs: ['198.51.100.2'], loadBalancerSourceRanges: ['203.0.113.0/24'] }),
    base(3, { protocol: 'sctp', externalPolicyLocal: true, nodePort: 30003, healthCheckNodePort: 31003 }),
    base(4, { affinityTimeoutSeconds: 60 }),
    base(5, { clusterEndpoints: [], hasAnyEndpoints: false }),
    base(6, { key: 'default/s6:p:tcp:6', family: 6, clusterIP: 'fd00:96::6', clusterEndpoints: [{ ip: 'fd00:244::6', port: 8080, local: false }] }),
  ]
  for (const i of intents) i.localEndpoints = i.clusterEndpoints.filter((e) => e.local)
  const plan: ProxyPlan = {
    globals: { nodeName: 'n', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: [] }, { family: 6, clusterCIDRs: ['fd00:244::/56'], nodePortAddresses: [] }] } as never,
    intents: new Map(intents.map((i) => [i.key, i])),
  }
  const r = renderPlan(plan)
  const specs = new Map(r.objects.filter((o) => o.kind !== 'chain').map((o) => [o.name, o]))
  let encoded = 0
  const without = new Set<string>()
  for (const e of r.elements) {
    const o = specs.get(e.set)
    t.ok(o, `${e.set} is declared`)
    const l = o && !o.dynamic ? layoutOf(o.spec) : undefined
    if (!l) { without.add(e.set); continue }
    encodeElement(l, e.key, e.value)
    encoded++
  }
  t.ok(encoded > 20, `${encoded} elements encoded`)
  t.same([...without].sort(), ['source-ranges-v4'], 'only the interval set is left to libnftables')
})
