// A veth pair made from namespace A with its peer created straight inside B,
// A's end on a bridge with hairpin, then addresses on both sides and a real
// ping across: the kernel state is read back with ip/bridge and the pair carries traffic.
import t from 'tap'
import { closeSync } from 'node:fs'
import { makeNetns } from '../lib/netns.ts'
import { Rtnl } from '../../src/netlink/index.ts'
import { openNetnsFd } from '../../src/netns/index.ts'

const a = makeNetns('nva')
const b = makeNetns('nvb')
t.teardown(() => { a.destroy(); b.destroy() })
const ipj = (ns: typeof a, ...args: string[]): any => JSON.parse(ns.run('ip', ['-j', ...args]) || '[]')

t.test('veth across namespaces, bridge port flags, traffic', async (t) => {
  const na = await Rtnl.open(a.path)
  const nb = await Rtnl.open(b.path)
  t.teardown(() => { na.close(); nb.close() })

  const br = await na.addBridge('cni0', { mtu: 1400 })
  const fd = openNetnsFd(b.path)
  try {
    await na.addVeth('veth0a', 'eth0', { peerNsFd: fd, mtu: 1400, peerMac: '02:00:00:00:0b:01' })
  } finally { closeSync(fd) }

  t.equal(await na.linkByName('eth0'), undefined, 'the peer is not in A')
  const [peerShown] = ipj(b, '-d', 'link', 'show', 'eth0')
  t.match(peerShown, { address: '02:00:00:00:0b:01', mtu: 1400, linkinfo: { info_kind: 'veth' } })
  const host = await na.linkByName('veth0a')
  t.ok(host)
  if (!host) return
  t.match(host, { kind: 'veth', mtu: 1400, linkIndex: peerShown.ifindex })
  t.type(host.linkNetnsId, 'number', 'peer lives in another namespace')
  await t.rejects(na.addVeth('veth0a', 'other0'), { code: 'EEXIST' }, 'a taken veth name is an error, so the caller picks another')

  await na.setMaster(host.index, br.index)
  await na.setHairpin(host.index, true)
  await na.setPromisc(br.index, true)
  await na.setUp(host.index)
  await na.setUp(br.index)

  t.equal(ipj(a, '-d', 'link', 'show', 'veth0a')[0].linkinfo.info_slave_data.hairpin, true)
  const port = (JSON.parse(a.run('bridge', ['-j', '-d', 'link', 'show', 'dev', 'veth0a'])) as any[])[0]
  t.match(port, { master: 'cni0', hairpin: true })
  t.ok(ipj(a, 'link', 'show', 'cni0')[0].flags.includes('PROMISC'))
  t.match(await na.linkByIndex(host.index), { masterIndex: br.index, hairpin: true, up: true })
  t.match(await na.linkByIndex(br.index), { promisc: true, up: true })

  await na.setHairpin(host.index, false)
  t.equal((JSON.parse(a.run('bridge', ['-j', '-d', 'link', 'show', 'dev', 'veth0a'])) as any[])[0].hairpin, false)
  await na.setPromisc(br.index, false)
  t.notOk(ipj(a, 'link', 'show', 'cni0')[0].flags.includes('PROMISC'))

  await na.addAddr(br.index, '10.88.0.1/24')
  const eth0 = await nb.linkByName('eth0')
  t.ok(eth0)
  if (!eth0) return
  await nb.addAddr(eth0.index, '10.88.0.2/24')
  await nb.setUp(eth0.index)
  await nb.addRoute({ dst: '0.0.0.0/0', gw: '10.88.0.1' })
  t.match(ipj(b, 'route', 'show', 'default')[0], { gateway: '10.88.0.1', dev: 'eth0' })

  const ping = b.try('busybox', ['ping', '-c', '1', '-W', '2', '10.88.0.1'])
  t.equal(ping.status, 0, `ping from B to A's bridge: ${ping.stdout}${ping.stderr}`)
  t.match(ping.stdout, /1 packets received/)

  // Deleting one end removes the pair: the peer in B goes too.
  t.equal(await na.deleteLink('veth0a'), true)
  t.equal(b.try('ip', ['link', 'show', 'eth0']).status, 1)
})
