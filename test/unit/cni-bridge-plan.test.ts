import t from 'tap'
import { parseBridgeConfig } from '../../src/cni/bridge/config.ts'
import { planAttachment, defaultGateway } from '../../src/cni/bridge/plan.ts'
import { buildResult } from '../../src/cni/bridge/result.ts'
import { hostVethName } from '../../src/cni/bridge/names.ts'

const base = { cniVersion: '1.0.0', name: 'podnet', type: 'pontoon-cni', ipam: { type: 'pontoon-ipam' } }
const req = { containerId: 'c1', ifName: 'eth0', netns: '/run/netns/p' }
const ipam = { cniVersion: '1.1.0', ips: [{ address: '10.244.1.5/24', gateway: '10.244.1.1' }], routes: [{ dst: '10.96.0.0/12' }] }

t.test('defaults', async (t) => {
  const c = parseBridgeConfig(base)
  t.equal(c.bridge, 'cni0')
  t.equal(c.isGateway, false)
  t.equal(c.ipMasq, false)
})

t.test('isDefaultGateway implies isGateway and a default route via the gateway', async (t) => {
  const c = parseBridgeConfig({ ...base, isDefaultGateway: true, ipMasq: true, mtu: 1450 })
  const p = planAttachment(c, req, ipam)
  t.same(p.bridge.gateways, ['10.244.1.1/24'])
  t.same(p.pod.routes, [{ dst: '0.0.0.0/0', gw: '10.244.1.1' }, { dst: '10.96.0.0/12', gw: '10.244.1.1' }])
  t.equal(p.pod.mtu, 1450)
  t.same(p.ipForward, { v4: true, v6: false })
  t.same(p.masq!.rules, [{ family: 4, src: '10.244.1.5', exclude: '10.244.1.0/24' }])
  t.equal(p.hostVeth.name, hostVethName('c1', 'eth0'))
  t.ok(p.hostVeth.name.length <= 15)
})

t.test('dual stack gateway without IPAM gateway uses the first address', async (t) => {
  const c = parseBridgeConfig({ ...base, isGateway: true })
  const p = planAttachment(c, req, { cniVersion: '1.1.0', ips: [{ address: '10.244.1.5/24' }, { address: 'fd00:10::5/64' }] })
  t.same(p.bridge.gateways, ['10.244.1.1/24', 'fd00:10::1/64'])
  t.same(p.ipForward, { v4: true, v6: true })
  t.equal(defaultGateway('192.168.7.77/20'), '192.168.0.1')
})

t.test('a host veth name is stable and differs per attachment', async (t) => {
  t.equal(hostVethName('c1', 'eth0'), hostVethName('c1', 'eth0'))
  t.not(hostVethName('c1', 'eth0'), hostVethName('c1', 'eth1'))
  t.not(hostVethName('c1', 'eth0'), hostVethName('c2', 'eth0'))
})

t.test('result lists bridge, host veth, pod interface and points IPs at the pod', async (t) => {
  const c = parseBridgeConfig({ ...base, isDefaultGateway: true })
  const p = planAttachment(c, req, ipam)
  const r = buildResult(p, { bridge: 'b', host: 'h', pod: 'p' }, ipam, undefined,
    { cniVersion: '1.0.0', interfaces: [{ name: 'x' }], ips: [{ address: '1.2.3.4/32', interface: 0 }] })
  t.same(r.interfaces!.map((i) => i.name), ['x', 'cni0', p.hostVeth.name, 'eth0'])
  t.equal(r.interfaces![3]!.sandbox, '/run/netns/p')
  t.same(r.ips!.map((i) => i.interface), [0, 3])
})

const bad: Array<[string, Record<string, unknown>, RegExp]> = [
  ['mtu string', { mtu: '1500' }, /mtu: expected number/],
  ['mtu small', { mtu: 10 }, /mtu: must be at least 68/],
  ['mtu fraction', { mtu: 1500.5 }, /mtu/],
  ['bridge too long', { bridge: 'abcdefghijklmnop' }, /bridge: must have at most 15/],
  ['bridge with slash', { bridge: 'a/b' }, /bridge: must be a valid interface name/],
  ['ipMasq string', { ipMasq: 'yes' }, /ipMasq: expected boolean/],
  ['no ipam', { ipam: undefined }, /ipam: required but missing/],
  ['ipam without type', { ipam: {} }, /ipam.type: required but missing/],
  ['dns nameservers not array', { dns: { nameservers: '8.8.8.8' } }, /dns.nameservers: expected array/],
  ['hairpin and promisc', { hairpinMode: true, promiscMode: true }, /hairpinMode, promiscMode/],
]
for (const [name, patch, msg] of bad) {
  t.test(`bad config: ${name}`, async (t) => {
    t.throws(() => parseBridgeConfig({ ...base, ...patch }), { code: 7, message: msg })
  })
}

t.test('the name hash is FNV-1a 64 (published test vectors)', async (t) => {
  const { fnv1a64 } = await import('../../src/cni/bridge/names.ts')
  t.equal(fnv1a64(''), 'cbf29ce484222325')
  t.equal(fnv1a64('a'), 'af63dc4c8601ec8c')
  t.equal(fnv1a64('foobar'), '85944171f73967e8')
})
