// IPAM reads its config through the one address module: the same strict verdicts
// as the API and the agent, plus host-local's one leniency (an IPv4-mapped IPv6
// address is the IPv4 address, as Go's net.ParseIP + To4 make it).
import t from 'tap'
import { CniError } from '../../src/cni/errors.ts'
import { formatIp } from '../../src/net/address.ts'
import { parseIpamConfig } from '../../src/ipam/config.ts'

const net = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ cniVersion: '1.0.0', name: 'pods', type: 'bridge', ipam: { type: 'host-local', ...ipam }, ...extra })

const refused = (t: { ok(v: unknown, m: string): void; equal(a: unknown, b: unknown, m: string): void }, what: string, config: Record<string, unknown>, args: Record<string, string>, msg: string) => {
  let err: unknown
  try {
    parseIpamConfig(config, args)
  } catch (e) {
    err = e
  }
  t.ok(err instanceof CniError, `${what}: a CniError`)
  t.equal((err as CniError).message, msg, what)
}

t.test('ambiguous forms are refused in every address field of the config', async (t) => {
  refused(t, 'short subnet', net({ subnet: '10.1/24' }), {}, 'ipam.subnet: "10.1/24" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)')
  refused(t, 'leading-zero prefix', net({ subnet: '10.0.0.0/024' }), {}, 'ipam.subnet: "10.0.0.0/024" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)')
  refused(t, 'hex rangeStart', net({ subnet: '10.0.0.0/24', rangeStart: '0xa.0.0.5' }), {}, 'ipam.rangeStart: "0xa.0.0.5" is not an IP address')
  refused(t, 'octal gateway', net({ subnet: '10.0.0.0/24', gateway: '10.0.0.01' }), {}, 'ipam.gateway: "10.0.0.01" is not an IP address')
  refused(t, 'mapped with a leading zero', net({ subnet: '10.0.0.0/24' }), { IP: '::ffff:10.0.0.05' }, 'CNI_ARGS IP: "::ffff:10.0.0.05" is not an IP address')
  refused(t, 'zone', net({ subnet: 'fd00::/64' }), { IP: 'fd00::5%eth0' }, 'CNI_ARGS IP: "fd00::5%eth0" is not an IP address')
  refused(t, 'short route dst', net({ subnet: '10.0.0.0/24', routes: [{ dst: '10.1/16' }] }), {}, 'ipam.routes[0].dst: "10.1/16" is not a CIDR')
  refused(t, 'short route gw', net({ subnet: '10.0.0.0/24', routes: [{ dst: '10.1.0.0/16', gw: '10.1' }] }), {}, 'ipam.routes[0].gw: "10.1" is not an IP address')
  // ipaddr.js alone reads "::10.0.0.5" as ::ffff:10.0.0.5, which would make it the IPv4 10.0.0.5.
  refused(t, 'IPv4-compatible is IPv6', net({ subnet: '10.0.0.0/24' }), { IP: '::10.0.0.5' }, 'CNI_ARGS IP: requested IP ::a00:5 is not in any configured range')
})

t.test('host-local compatibility: mapped is IPv4, route dst host bits are masked', async (t) => {
  const c = parseIpamConfig(net({ subnet: '10.0.0.0/24', gateway: '::ffff:10.0.0.254', routes: [{ dst: '10.1.2.3/16' }] }), { IP: '::ffff:10.0.0.5' })
  t.equal(formatIp(c.ranges[0]![0]!.gateway), '10.0.0.254')
  t.same(c.requested.map((r) => formatIp(r.addr)), ['10.0.0.5'])
  t.same(c.routes, [{ dst: '10.1.0.0/16' }])
})
