import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import { formatIp, formatCidr } from '../../src/net/address.ts'
import { DEFAULT_DATA_DIR, type IpamConfig, parseIpamConfig } from '../../src/ipam/config.ts'

const net = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ cniVersion: '1.0.0', name: 'pods', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra })

/** The ranges as strings, to compare whole configs at a glance. */
function show(c: IpamConfig) {
  return c.ranges.map((set) => set.map((r) => ({
    subnet: formatCidr(r.subnet), start: formatIp(r.rangeStart), end: formatIp(r.rangeEnd), gw: formatIp(r.gateway),
  })))
}

t.test('legacy single range gets host-local defaults', async (t) => {
  const c = parseIpamConfig(net({ subnet: '10.244.1.0/24' }))
  t.same(show(c), [[{ subnet: '10.244.1.0/24', start: '10.244.1.1', end: '10.244.1.254', gw: '10.244.1.1' }]])
  t.equal(c.name, 'pods')
  t.equal(c.dataDir, DEFAULT_DATA_DIR)
  t.same(c.routes, [])
  t.same(c.requested, [])
  t.equal(c.resolvConf, undefined)
})

t.test('explicit start, end and gateway are kept', async (t) => {
  const c = parseIpamConfig(net({ ranges: [[{ subnet: '10.0.0.0/16', rangeStart: '10.0.5.10', rangeEnd: '10.0.5.20', gateway: '10.0.0.254' }]] }))
  t.same(show(c), [[{ subnet: '10.0.0.0/16', start: '10.0.5.10', end: '10.0.5.20', gw: '10.0.0.254' }]])
})

t.test('IPv6 defaults: the last address is usable (no broadcast)', async (t) => {
  const c = parseIpamConfig(net({ ranges: [[{ subnet: 'fd00:10:244::/120' }]] }))
  t.same(show(c), [[{ subnet: 'fd00:10:244::/120', start: 'fd00:10:244::1', end: 'fd00:10:244::ff', gw: 'fd00:10:244::1' }]])
})

t.test('dual stack is two range sets; a set may hold several ranges', async (t) => {
  const c = parseIpamConfig(net({
    ranges: [
      [{ subnet: '10.1.0.0/24' }, { subnet: '10.2.0.0/24' }],
      [{ subnet: 'fd00::/64' }],
    ],
  }))
  t.equal(c.ranges.length, 2)
  t.equal(c.ranges[0]!.length, 2)
  t.equal(show(c)[1]![0]!.end, 'fd00::ffff:ffff:ffff:ffff')
})

t.test('order is runtimeConfig.ipRanges, legacy range, ipam.ranges (as host-local)', async (t) => {
  const c = parseIpamConfig(net({ subnet: '10.2.0.0/24', ranges: [[{ subnet: '10.3.0.0/24' }]] }, {
    runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] },
  }))
  t.same(show(c).map((s) => s[0]!.subnet), ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'])
})

t.test('routes are normalised to the network address; dataDir and resolvConf pass through', async (t) => {
  const c = parseIpamConfig(net({
    subnet: '10.0.0.0/24', dataDir: '/tmp/x', resolvConf: '/etc/resolv.conf',
    routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.7.9/16', gw: '10.0.0.1' }, { dst: 'fd00:1::/64', gw: 'fd00::1' }],
  }))
  t.same(c.routes, [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.0.0.1' }, { dst: 'fd00:1::/64', gw: 'fd00::1' }])
  t.equal(c.dataDir, '/tmp/x')
  t.equal(c.resolvConf, '/etc/resolv.conf')
})

t.test('requested IPs come from CNI_ARGS, args.cni.ips and runtimeConfig.ips', async (t) => {
  const c = parseIpamConfig(net({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }], [{ subnet: '10.9.0.0/24' }]] }, {
    args: { cni: { ips: ['fd00::10/64'] } },
    runtimeConfig: { ips: ['10.9.0.7'] },
  }), { IP: '10.0.0.5' })
  t.same(c.requested.map((r) => [formatIp(r.addr), r.source, r.rangeSet]), [
    ['10.0.0.5', 'CNI_ARGS IP', 0],
    ['fd00::10', 'args.cni.ips[0]', 1],
    ['10.9.0.7', 'runtimeConfig.ips[0]', 2],
  ])
})

t.test('CNI_ARGS IP may list several addresses; duplicates collapse; v4-mapped is IPv4', async (t) => {
  const c = parseIpamConfig(net({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]] }, {
    runtimeConfig: { ips: ['::ffff:10.0.0.5'] },
  }), { IP: '10.0.0.5,fd00::5' })
  t.same(c.requested.map((r) => formatIp(r.addr)), ['10.0.0.5', 'fd00::5'])
})

t.test('range sets that touch without sharing an address are accepted', async (t) => {
  const c = parseIpamConfig(net({ ranges: [
    [{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.99' }, { subnet: '10.0.0.0/24', rangeStart: '10.0.0.100', rangeEnd: '10.0.0.149' }],
    [{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.150' }],
  ] }))
  t.same(show(c).map((set) => set.map((r) => `${r.start}-${r.end}`)), [['10.0.0.1-10.0.0.99', '10.0.0.100-10.0.0.149'], ['10.0.0.150-10.0.0.254']])
})

t.test('a requested IP may be either end of rangeStart..rangeEnd', async (t) => {
  for (const want of ['10.0.0.10', '10.0.0.20']) {
    const c = parseIpamConfig(net({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }), { IP: want })
    t.same(c.requested.map((r) => [formatIp(r.addr), r.rangeSet]), [[want, 0]])
  }
})

t.test('requested IPs are ignored when not asked for (DEL)', async (t) => {
  const c = parseIpamConfig(net({ subnet: '10.0.0.0/24' }), { IP: '192.168.0.1' }, { requested: false })
  t.same(c.requested, [])
})

const bad: Array<[string, Record<string, unknown>, Record<string, string>, string]> = [
  ['no ipam section', { cniVersion: '1.0.0', name: 'pods' }, {}, 'ipam: missing: the network config has no "ipam" section'],
  ['no name', { cniVersion: '1.0.0', ipam: { subnet: '10.0.0.0/24' } }, {}, 'name: required (string)'],
  ['name with a slash', net({ subnet: '10.0.0.0/24' }, { name: '../etc' }), {}, 'name: "../etc" is not a valid network name (letters, digits, _ . - ; starting with a letter or digit)'],
  ['subnet not a string', net({ ranges: [[{ subnet: 24 }]] }), {}, 'ipam.ranges[0][0].subnet: expected string, got number'],
  ['ranges not nested', net({ ranges: [{ subnet: '10.0.0.0/24' }] }), {}, 'ipam.ranges[0]: expected array, got object'],
  ['no ranges at all', net({}), {}, 'ipam.ranges: no IP ranges specified (set ipam.ranges or ipam.subnet)'],
  ['empty range set', net({ ranges: [[]] }), {}, 'ipam.ranges[0]: empty range set'],
  ['subnet garbage', net({ ranges: [[{ subnet: '10.0.0.0' }]] }), {}, 'ipam.ranges[0][0].subnet: "10.0.0.0" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)'],
  ['subnet prefix too long', net({ subnet: '10.0.0.0/33' }), {}, 'ipam.subnet: "10.0.0.0/33" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)'],
  ['subnet /31', net({ subnet: '10.0.0.0/31' }), {}, 'ipam.subnet: 10.0.0.0/31 is too small to allocate from'],
  ['subnet /127', net({ ranges: [[{ subnet: 'fd00::/127' }]] }), {}, 'ipam.ranges[0][0].subnet: fd00::/127 is too small to allocate from'],
  ['host bits set', net({ ranges: [[{ subnet: '10.0.0.5/24' }]] }), {}, 'ipam.ranges[0][0].subnet: 10.0.0.5/24 has host bits set; the network address for /24 is 10.0.0.0'],
  ['rangeStart outside subnet', net({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.1.5' }]] }), {}, 'ipam.ranges[0][0].rangeStart: 10.0.1.5 is not in subnet 10.0.0.0/24'],
  ['rangeEnd not an IP', net({ ranges: [[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.300' }]] }), {}, 'ipam.ranges[0][0].rangeEnd: "10.0.0.300" is not an IP address'],
  ['rangeStart after rangeEnd', net({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50', rangeEnd: '10.0.0.40' }]] }), {}, 'ipam.ranges[0][0].rangeStart: 10.0.0.50 is after rangeEnd 10.0.0.40'],
  ['gateway outside subnet', net({ subnet: '10.0.0.0/24', gateway: '10.0.9.1' }), {}, 'ipam.gateway: 10.0.9.1 is not in subnet 10.0.0.0/24'],
  ['gateway of the other family', net({ ranges: [[{ subnet: '10.0.0.0/24', gateway: 'fd00::1' }]] }), {}, 'ipam.ranges[0][0].gateway: fd00::1 is not in subnet 10.0.0.0/24'],
  ['rangeStart without subnet', net({ rangeStart: '10.0.0.5', ranges: [[{ subnet: '10.0.0.0/24' }]] }), {}, 'ipam.subnet: required when ipam.rangeStart, ipam.rangeEnd or ipam.gateway is set'],
  ['mixed families in a set', net({ ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]] }), {}, 'ipam.ranges[0][1].subnet: IPv6 range in an IPv4 range set (mixed address families)'],
  ['overlap inside a set', net({ ranges: [[{ subnet: '10.0.0.0/16' }, { subnet: '10.0.5.0/24' }]] }), {}, 'ipam.ranges[0][1]: range 10.0.5.1-10.0.5.254 overlaps ipam.ranges[0][0] (10.0.0.1-10.0.255.254)'],
  ['overlap at one address inside a set', net({ ranges: [[{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.100' }, { subnet: '10.0.0.0/24', rangeStart: '10.0.0.100' }]] }), {}, 'ipam.ranges[0][1]: range 10.0.0.100-10.0.0.254 overlaps ipam.ranges[0][0] (10.0.0.1-10.0.0.100)'],
  ['overlap at one address across sets', net({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.50' }], [{ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.50' }]] }), {}, 'ipam.ranges[1]: range 10.0.0.1-10.0.0.50 overlaps range set ipam.ranges[0] (10.0.0.50-10.0.0.254)'],
  ['overlap across sets', net({ subnet: '10.0.0.0/24', ranges: [[{ subnet: '10.0.0.0/25' }]] }), {}, 'ipam.ranges[0]: range 10.0.0.1-10.0.0.126 overlaps range set ipam (10.0.0.1-10.0.0.254)'],
  ['route dst garbage', net({ subnet: '10.0.0.0/24', routes: [{ dst: 'default' }] }), {}, 'ipam.routes[0].dst: "default" is not a CIDR'],
  ['route gw of the other family', net({ subnet: '10.0.0.0/24', routes: [{ dst: '0.0.0.0/0', gw: 'fd00::1' }] }), {}, 'ipam.routes[0].gw: fd00::1 is not the same address family as dst 0.0.0.0/0'],
  ['relative dataDir', net({ subnet: '10.0.0.0/24', dataDir: 'var/lib' }), {}, 'ipam.dataDir: "var/lib" is not an absolute path'],
  ['two v4 sets on CNI 0.2.0', net({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24' }]] }, { cniVersion: '0.2.0' }), {}, 'cniVersion: 0.2.0 does not support more than one address per family'],
  ['CNI_ARGS IP garbage', net({ subnet: '10.0.0.0/24' }), { IP: 'ten' }, 'CNI_ARGS IP: "ten" is not an IP address'],
  ['requested IP outside every range', net({ subnet: '10.0.0.0/24' }), { IP: '10.0.1.5' }, 'CNI_ARGS IP: requested IP 10.0.1.5 is not in any configured range'],
  ['requested IP one past rangeEnd', net({ subnet: '10.0.0.0/24', rangeEnd: '10.0.0.20' }), { IP: '10.0.0.21' }, 'CNI_ARGS IP: requested IP 10.0.0.21 is not in any configured range'],
  ['requested IP outside rangeStart..rangeEnd', net({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.100' }, { args: { cni: { ips: ['10.0.0.99'] } } }), {}, 'args.cni.ips[0]: requested IP 10.0.0.99 is not in any configured range'],
  ['requested IP is the gateway', net({ subnet: '10.0.0.0/24' }, { runtimeConfig: { ips: ['10.0.0.1'] } }), {}, 'runtimeConfig.ips[0]: requested IP 10.0.0.1 is the gateway, network or broadcast address of 10.0.0.0/24'],
  ['two requested IPs in one set', net({ subnet: '10.0.0.0/24' }), { IP: '10.0.0.5,10.0.0.6' }, 'CNI_ARGS IP[1]: requested IP 10.0.0.6 and 10.0.0.5 (CNI_ARGS IP[0]) are both in range set ipam; one address per range set'],
  ['valid-looking but octal-ish IPv4', net({ subnet: '10.0.0.0/24' }), { IP: '010.0.0.5' }, 'CNI_ARGS IP: "010.0.0.5" is not an IP address'],
]

for (const [name, config, args, msg] of bad) {
  t.test(`rejects: ${name}`, async (t) => {
    let err: unknown
    try {
      parseIpamConfig(config, args)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof CniError, 'throws a CniError')
    t.equal((err as CniError).code, ErrCode.InvalidConfig)
    t.equal((err as CniError).message, msg)
  })
}
