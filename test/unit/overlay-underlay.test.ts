// Underlay selection and the overlay's flags.
import t from 'tap'
import type { Addr, Link } from '../../src/netlink/index.ts'
import { parseIface, parseOverlayMode, parseUnderlayFlags } from '../../src/overlay/flags.ts'
import { selectUnderlay } from '../../src/overlay/underlay.ts'

const link = (index: number, name: string, mtu = 1500): Link => ({ index, name, mtu, mac: '02:00:00:00:00:00', up: true, promisc: false })
const addr = (index: number, cidr: string): Addr => ({ index, cidr, family: cidr.includes(':') ? 6 : 4, tentative: false })

// Every Vagrant VM: eth0 is the NAT (10.0.2.15), eth1 the private network.
const links = [link(1, 'lo', 65536), link(2, 'eth0'), link(3, 'eth1', 9000), link(4, 'pontoon.1', 1450), link(5, 'cni0')]
const addrs = [
  addr(1, '127.0.0.1/8'), addr(2, '10.0.2.15/24'), addr(2, 'fe80::1/64'),
  addr(3, 'fe80::3/64'), addr(3, 'fd00:56::11/64'), addr(3, '192.168.56.11/24'),
  addr(4, '10.244.1.0/32'), addr(5, '10.244.1.1/24'),
]
const sel = (flags: Parameters<typeof selectUnderlay>[0], ips: string[] = ['192.168.56.11']) => selectUnderlay(flags, links, addrs, ips, ['pontoon.1'])

t.test('default: the interface holding the Node InternalIP, not eth0', async (t) => {
  t.same(sel({}), { index: 3, name: 'eth1', mtu: 9000, localIP: '192.168.56.11', publicIP: '192.168.56.11', subnet: '192.168.56.11/24' })
  t.same(sel({}, ['fd00:56:0::11']).localIP, 'fd00:56::11', 'an IPv6 InternalIP, compared canonically')
  t.equal(sel({}, ['10.9.9.9', '10.0.2.15']).name, 'eth0', 'the first InternalIP that a local interface holds')
  t.throws(() => sel({}, ['10.9.9.9']), { code: 'EUNDERLAY', message: /no interface holds 10\.9\.9\.9 \(the Node's InternalIP\); use --iface or --iface-cidr/ })
  t.throws(() => sel({}, []), { code: 'EUNDERLAY', message: /no InternalIP/ })
  t.throws(() => sel({}, ['10.244.1.0']), { code: 'EUNDERLAY' }, 'never the overlay device itself')
  t.throws(() => sel({}, ['127.0.0.1']), { code: 'EUNDERLAY' }, 'never loopback')
})

t.test('--iface NAME and /REGEX/', async (t) => {
  t.equal(sel({ iface: { name: 'eth0' } }).localIP, '10.0.2.15')
  t.equal(sel({ iface: { name: 'eth1' } }, []).localIP, '192.168.56.11', 'IPv4 first, IPv6 link-local never')
  t.equal(sel({ iface: { name: 'eth1' } }, ['fd00:56::11']).localIP, 'fd00:56::11', 'the InternalIP if the interface holds it')
  t.throws(() => sel({ iface: { name: 'eth7' } }), { code: 'EUNDERLAY', message: '--iface eth7: no such interface' })
  t.throws(() => sel({ iface: { name: 'pontoon.1' } }), { code: 'EUNDERLAY', message: /no usable address/ })
  t.equal(sel({ iface: { pattern: /^eth/ } }, []).name, 'eth0', 'the first match in index order')
  t.equal(sel({ iface: { pattern: /^eth[1-9]$/ } }).name, 'eth1')
  t.throws(() => sel({ iface: { pattern: /^wl/ } }), { code: 'EUNDERLAY', message: /--iface \/\^wl\/: no interface/ })
  t.equal(selectUnderlay({ iface: { pattern: /eth/ } }, [link(9, 'eth9'), link(2, 'eth0')], [addr(9, '10.9.0.1/24'), addr(2, '10.0.2.15/24')], []).name, 'eth0', 'index order, not list order')
})

t.test('--iface-cidr and --public-ip', async (t) => {
  t.equal(sel({ ifaceCidr: '192.168.56.0/24' }, []).name, 'eth1')
  t.equal(sel({ ifaceCidr: 'fd00:56::/64' }, []).localIP, 'fd00:56::11')
  t.throws(() => sel({ ifaceCidr: '172.31.0.0/16' }), { code: 'EUNDERLAY', message: /--iface-cidr 172\.31\.0\.0\/16: no interface/ })
  t.same(sel({ publicIP: '10.0.2.15' }, ['192.168.56.11']).name, 'eth0', '--public-ip on a local interface picks it')
  const nat = sel({ publicIP: '203.0.113.7' })
  t.same([nat.name, nat.localIP, nat.publicIP], ['eth1', '192.168.56.11', '203.0.113.7'], 'a public IP behind NAT is published, the local address sends')
  const both = sel({ iface: { name: 'eth0' }, publicIP: '203.0.113.7' })
  t.same([both.localIP, both.publicIP], ['10.0.2.15', '203.0.113.7'])
  t.throws(() => sel({ iface: { name: 'eth0' }, publicIP: 'fd00::7' }), { code: 'EUNDERLAY', message: /not of the family/ })
  t.throws(() => sel({ publicIP: '203.0.113.7' }, []), { code: 'EUNDERLAY', message: /no interface holds 203\.0\.113\.7 \(the Node's InternalIP or --public-ip\)/ })
})

t.test('flags: modes, interface names and patterns, addresses', async (t) => {
  t.equal(parseOverlayMode('vxlan'), 'vxlan')
  t.equal(parseOverlayMode('host-gw'), 'host-gw')
  t.equal(parseOverlayMode('none'), 'none')
  t.throws(() => parseOverlayMode('udp'), { code: 'BAD_OVERLAY_FLAG', message: '--overlay: "udp" is not one of vxlan, host-gw, none' })
  t.same(parseIface('eth1'), { name: 'eth1' })
  t.same(parseIface('enp0s8.100'), { name: 'enp0s8.100' })
  t.ok((parseIface('/^eth[0-9]+$/') as { pattern: RegExp }).pattern.test('eth12'))
  for (const bad of ['', 'a/b', 'a b', 'a:b', '.', '..', 'sixteen-chars-xx']) t.throws(() => parseIface(bad), { code: 'BAD_OVERLAY_FLAG' }, JSON.stringify(bad))
  t.same(parseIface('fifteen-chars-x'), { name: 'fifteen-chars-x' })
  t.throws(() => parseIface('/'), { code: 'BAD_OVERLAY_FLAG' }, 'a lone slash is a bad name')
  t.throws(() => parseIface('//'), { code: 'BAD_OVERLAY_FLAG', message: /between the slashes/ })
  t.throws(() => parseIface(`/${'a'.repeat(257)}/`), { code: 'BAD_OVERLAY_FLAG', message: /1\.\.256/ })
  t.ok(parseIface(`/${'a'.repeat(256)}/`))
  t.throws(() => parseIface('/eth(/'), { code: 'BAD_OVERLAY_FLAG', message: /not a regular expression/ })
  t.same(parseUnderlayFlags({}), {})
  t.same(parseUnderlayFlags({ ifaceCidr: '192.168.56.0/24', publicIP: 'fd00:0::7' }), { ifaceCidr: '192.168.56.0/24', publicIP: 'fd00::7' })
  t.throws(() => parseUnderlayFlags({ ifaceCidr: '192.168.56.1/24' }), { code: 'BAD_OVERLAY_FLAG', message: /--iface-cidr "192\.168\.56\.1\/24": must not have bits set/ })
  t.throws(() => parseUnderlayFlags({ publicIP: '010.0.0.1' }), { code: 'BAD_OVERLAY_FLAG', message: /--public-ip "010\.0\.0\.1": must not have leading 0s/ })
  t.throws(() => parseUnderlayFlags({ iface: 'eth0', ifaceCidr: '10.0.0.0/8' }), { code: 'BAD_OVERLAY_FLAG', message: /give one of them/ })
  t.same(parseUnderlayFlags({ iface: 'eth0' }), { iface: { name: 'eth0' } })
})
