// The proxy's flags and NodePort address resolution, and the host-namespace guard.
import t from 'tap'
import { parseNodePortAddresses, resolveNodePortAddresses } from '../../src/proxy/nodeport-addresses.ts'
import { parseClusterCIDRs } from '../../src/proxy/flags.ts'
import { readlinkSync } from 'node:fs'
import { assertNotHostNetns } from '../../src/proxy/host-netns-guard.ts'

t.test('--nodeport-addresses parses primary or CIDRs, and names the bad item', async (t) => {
  t.same(parseNodePortAddresses(' primary '), { kind: 'primary' })
  const c = parseNodePortAddresses('172.18.0.0/24, fd00::/64')
  t.equal(c.kind, 'cidrs')
  t.equal(c.kind === 'cidrs' && c.cidrs.length, 2)
  t.throws(() => parseNodePortAddresses(''), { code: 'BAD_NODEPORT_ADDRESSES' })
  t.throws(() => parseNodePortAddresses('172.18.0.0/24,10.1/8'), /item 2 "10\.1\/8"/)
  t.throws(() => parseNodePortAddresses('172.18.0.1/24'), /item 1/, 'host bits are refused')
})

t.test('primary takes the Node InternalIPs of the family, else every local address', async (t) => {
  const p = parseNodePortAddresses('primary')
  t.same(resolveNodePortAddresses(p, 4, ['172.18.0.2', 'fd00::2'], []), { addresses: ['172.18.0.2'] })
  t.same(resolveNodePortAddresses(p, 6, ['172.18.0.2', 'fd00:0::2'], []), { addresses: ['fd00::2'] }, 'canonical form')
  const none = resolveNodePortAddresses(p, 6, ['172.18.0.2'], [])
  t.equal(none.addresses, 'local')
  t.match(none.note, /no IPv6 InternalIP/)
})

t.test('CIDRs pick the local addresses inside them; a /0 means every local address', async (t) => {
  const local = ['127.0.0.1/8', '172.18.0.2/24', '10.244.1.1/24', 'fd00::2/64']
  t.same(resolveNodePortAddresses(parseNodePortAddresses('172.18.0.0/16,10.244.1.0/24'), 4, [], local), { addresses: ['10.244.1.1', '172.18.0.2'] })
  t.same(resolveNodePortAddresses(parseNodePortAddresses('172.18.0.0/16'), 6, [], local), { addresses: [] }, 'no CIDR of the family: no NodePorts on it')
  t.same(resolveNodePortAddresses(parseNodePortAddresses('0.0.0.0/0'), 4, [], local), { addresses: 'local' })
  t.same(resolveNodePortAddresses(parseNodePortAddresses('0.0.0.0/0'), 6, [], local), { addresses: [] })
})

t.test('--cluster-cidr', async (t) => {
  t.same(parseClusterCIDRs(undefined), [])
  t.same(parseClusterCIDRs(' '), [])
  t.same(parseClusterCIDRs('10.244.0.0/16,fd00:10:244::/56'), ['10.244.0.0/16', 'fd00:10:244::/56'])
  t.throws(() => parseClusterCIDRs('10.244.0.0/16,012.1.0.0/16'), { code: 'BAD_PROXY_FLAG', message: /item 2/ })
  t.throws(() => parseClusterCIDRs('10.244.0.1/16'), /item 1 "10\.244\.0\.1\/16"/)
})

t.test('the guard refuses the namespace it was told to keep clean, and only that one', async (t) => {
  const here = readlinkSync('/proc/thread-self/ns/net')
  t.doesNotThrow(() => assertNotHostNetns('x', {}))
  t.throws(() => assertNotHostNetns('proxy', { PONTOON_FORBID_NETNS: here }), { code: 'HOST_NETNS_FORBIDDEN', message: /^proxy: refusing/ })
  t.doesNotThrow(() => assertNotHostNetns('x', { PONTOON_FORBID_NETNS: 'net:[1]' }))
})

t.test('--ipvs-* flags: scheduler names and whole seconds, refused with the flag named', async (t) => {
  const { parseIpvsFlags } = await import('../../src/proxy/flags.ts')
  const ok = { scheduler: 'mh', strictARP: true, tcp: 900, tcpFin: 120, udp: 0 }
  t.same(parseIpvsFlags(ok), { scheduler: 'mh', strictARP: true, timeouts: { tcp: 900, tcpFin: 120, udp: 0 } })
  for (const s of ['rr', 'wrr', 'lc', 'sh', 'mh']) t.equal(parseIpvsFlags({ ...ok, scheduler: s }).scheduler, s)
  t.throws(() => parseIpvsFlags({ ...ok, scheduler: 'dh' }), { code: 'BAD_PROXY_FLAG', message: /--ipvs-scheduler: "dh" is not one of rr, wrr, lc, sh, mh/ })
  t.throws(() => parseIpvsFlags({ ...ok, tcp: -1 }), { code: 'BAD_PROXY_FLAG', message: /--ipvs-tcp-timeout/ })
  t.throws(() => parseIpvsFlags({ ...ok, tcpFin: 1.5 }), { code: 'BAD_PROXY_FLAG', message: /--ipvs-tcpfin-timeout/ })
  t.throws(() => parseIpvsFlags({ ...ok, udp: Number.NaN }), { code: 'BAD_PROXY_FLAG', message: /--ipvs-udp-timeout/ })
})
