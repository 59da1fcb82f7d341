// Links, addresses and routes through Rtnl in a throwaway namespace, each
// result read back with iproute2 (a separate implementation) to prove it.
import t from 'tap'
import { makeNetns } from '../lib/netns.ts'
import { NetlinkError, NetlinkInputError, Rtnl } from '../../src/netlink/index.ts'

const ns = makeNetns('nll')
t.teardown(() => ns.destroy())
const ipj = (...args: string[]): any => JSON.parse(ns.run('ip', ['-j', ...args]) || '[]')

t.test('bridge: create, read back, idempotent, up, delete', async (t) => {
  const nl = await Rtnl.open(ns.path)
  t.teardown(() => nl.close())
  const br = await nl.addBridge('br0', { mtu: 1400, mac: '02:00:00:aa:bb:01' })
  const [shown] = ipj('-d', 'link', 'show', 'br0')
  t.equal(shown.linkinfo.info_kind, 'bridge')
  t.equal(shown.mtu, 1400)
  t.equal(shown.address, '02:00:00:aa:bb:01')
  t.equal(br.index, shown.ifindex)
  t.match(br, { name: 'br0', kind: 'bridge', mtu: 1400, mac: '02:00:00:aa:bb:01', up: false })

  const again = await nl.addBridge('br0')
  t.equal(again.index, br.index, 'existing bridge is returned, not recreated')

  await nl.setUp(br.index)
  t.ok(ipj('link', 'show', 'br0')[0].flags.includes('UP'))
  t.equal((await nl.linkByIndex(br.index))?.up, true)
  await nl.setMtu(br.index, 1300)
  t.equal(ipj('link', 'show', 'br0')[0].mtu, 1300)
  await nl.setDown(br.index)
  t.notOk(ipj('link', 'show', 'br0')[0].flags.includes('UP'))

  t.equal(await nl.deleteLink('br0'), true)
  t.equal(ns.try('ip', ['link', 'show', 'br0']).status, 1, 'gone from the kernel')
  t.equal(await nl.deleteLink('br0'), false, 'deleting a missing link by name is success')
  t.equal(await nl.deleteLink(br.index), false, 'and by index')
  t.equal(await nl.linkByName('br0'), undefined)
  t.equal(await nl.linkByIndex(br.index), undefined)
})

t.test('a name taken by another kind is an error and leaves the link alone', async (t) => {
  const nl = await Rtnl.open(ns.path)
  t.teardown(() => nl.close())
  // This kernel has no dummy driver; a vxlan device is the other kind at hand.
  ns.run('ip', ['link', 'add', 'vx9', 'type', 'vxlan', 'id', '9', 'dstport', '4789'])
  await t.rejects(nl.addBridge('vx9'), { name: 'NetlinkError', code: 'EEXIST', op: 'addBridge' })
  t.equal(ipj('-d', 'link', 'show', 'vx9')[0].linkinfo.info_kind, 'vxlan')
  const links = await nl.links()
  t.ok(links.some((l) => l.name === 'lo') && links.some((l) => l.name === 'vx9' && l.kind === 'vxlan'))
  await nl.deleteLink('vx9')
})

t.test('addresses: v4 and v6 with nodad, idempotent add and delete', async (t) => {
  const nl = await Rtnl.open(ns.path)
  t.teardown(() => nl.close())
  const br = await nl.addBridge('br1')
  await nl.setUp(br.index)
  await nl.addAddr(br.index, '10.44.0.1/24')
  await nl.addAddr(br.index, '10.44.0.1/24') // EEXIST is success
  await nl.addAddr(br.index, 'fd44::1/64', { noDad: true })
  await nl.addAddr(br.index, 'fd44::1/64', { noDad: true })

  const info = ipj('addr', 'show', 'br1')[0].addr_info as any[]
  const v4 = info.find((a) => a.local === '10.44.0.1')
  t.match(v4, { family: 'inet', prefixlen: 24, broadcast: '10.44.0.255' })
  const v6 = info.find((a) => a.local === 'fd44::1')
  t.match(v6, { family: 'inet6', prefixlen: 64 })
  t.equal(v6.tentative, undefined, 'nodad address is not tentative')
  t.equal(v6.nodad, true)

  const mine = await nl.addrs(br.index)
  t.match(mine.filter((a) => !a.cidr.startsWith('fe80')), [
    { index: br.index, cidr: '10.44.0.1/24', family: 4, tentative: false },
    { index: br.index, cidr: 'fd44::1/64', family: 6, tentative: false },
  ])
  t.same((await nl.addrs(br.index, 4)).map((a) => a.cidr), ['10.44.0.1/24'])
  t.notOk((await nl.addrs(1, 4)).some((a) => a.cidr === '10.44.0.1/24'), 'index filter applies')

  t.equal(await nl.delAddr(br.index, '10.44.0.1/24'), true)
  t.equal(await nl.delAddr(br.index, '10.44.0.1/24'), false)
  t.notOk(ipj('addr', 'show', 'br1')[0].addr_info.some((a: any) => a.local === '10.44.0.1'))
  await nl.deleteLink('br1')
})

t.test('routes: add, idempotent, replace, delete, v4 and v6, default', async (t) => {
  const nl = await Rtnl.open(ns.path)
  t.teardown(() => nl.close())
  const d = await nl.addBridge('rt0')
  await nl.setUp(d.index)
  await nl.addAddr(d.index, '10.55.0.1/24')
  await nl.addAddr(d.index, 'fd55::1/64', { noDad: true })

  await nl.addRoute({ dst: '10.60.0.0/16', gw: '10.55.0.9' })
  await nl.addRoute({ dst: '10.60.0.0/16', gw: '10.55.0.9' })
  await nl.addRoute({ dst: '10.61.0.0/16', index: d.index, metric: 50 })
  await nl.addRoute({ dst: '0.0.0.0/0', gw: '10.55.0.254' })
  await nl.addRoute({ dst: 'fd60::/48', gw: 'fd55::9' })
  await nl.addRoute({ dst: '10.62.0.0/16', gw: '10.62.0.1', index: d.index, onlink: true, table: 100 })

  const v4 = ipj('-d', 'route', 'show') as any[]
  t.match(v4.find((r) => r.dst === '10.60.0.0/16'), { gateway: '10.55.0.9', dev: 'rt0', protocol: 'boot' })
  t.match(v4.find((r) => r.dst === '10.61.0.0/16'), { dev: 'rt0', scope: 'link', metric: 50 })
  t.match(v4.find((r) => r.dst === 'default'), { gateway: '10.55.0.254' })
  t.match(ipj('-6', 'route', 'show').find((r: any) => r.dst === 'fd60::/48'), { gateway: 'fd55::9', dev: 'rt0' })
  const t100 = ipj('route', 'show', 'table', '100') as any[]
  t.match(t100[0], { dst: '10.62.0.0/16', gateway: '10.62.0.1', flags: ['onlink'] })

  const mine = await nl.routes(4)
  t.match(mine.find((r) => r.dst === '10.60.0.0/16'), { gw: '10.55.0.9', index: d.index, table: 254, protocol: 3 })
  t.match(mine.find((r) => r.dst === '0.0.0.0/0'), { gw: '10.55.0.254' })
  t.match(await nl.routes(4, 100), [{ dst: '10.62.0.0/16', onlink: true, table: 100 }])
  t.ok((await nl.routes(6)).some((r) => r.dst === 'fd60::/48' && r.gw === 'fd55::9'))

  await nl.replaceRoute({ dst: '10.60.0.0/16', gw: '10.55.0.10' })
  const replaced = (ipj('route', 'show') as any[]).filter((r) => r.dst === '10.60.0.0/16')
  t.equal(replaced.length, 1)
  t.equal(replaced[0].gateway, '10.55.0.10')

  t.equal(await nl.delRoute({ dst: '10.60.0.0/16', gw: '10.55.0.10' }), true)
  t.equal(await nl.delRoute({ dst: '10.60.0.0/16', gw: '10.55.0.10' }), false)
  t.equal(await nl.delRoute({ dst: 'fd60::/48', gw: 'fd55::9' }), true)
  t.notOk((ipj('route', 'show') as any[]).some((r) => r.dst === '10.60.0.0/16'))
  t.notOk((ipj('-6', 'route', 'show') as any[]).some((r) => r.dst === 'fd60::/48'))

  // The kernel's own refusal comes back typed: a gateway that is not reachable.
  await t.rejects(nl.addRoute({ dst: '10.70.0.0/16', gw: '192.0.2.1' }), { name: 'NetlinkError', code: 'ENETUNREACH', op: 'addRoute' })
  await nl.deleteLink('rt0')
})

t.test('bad input is refused before anything is sent', async (t) => {
  const nl = await Rtnl.open(ns.path)
  t.teardown(() => nl.close())
  const before = ns.run('ip', ['-j', 'link'])
  await t.rejects(nl.addBridge('this-name-is-too-long'), { code: 'EINVAL_NAME' })
  await t.rejects(nl.addBridge('ok0', { mac: 'zz:zz' }), { code: 'EINVAL_MAC' })
  await t.rejects(nl.addBridge('ok0', { mtu: 10 }), { code: 'EINVAL_MTU' })
  await t.rejects(nl.addVeth('ok0', 'bad/name'), { code: 'EINVAL_PEERNAME' })
  await t.rejects(nl.addAddr(1, '10.0.0.1'), { code: 'EINVAL_CIDR' })
  await t.rejects(nl.addAddr(1, '10.0.0.1/33'), { code: 'EINVAL_CIDR' })
  await t.rejects(nl.addAddr(0, '10.0.0.1/24'), { code: 'EINVAL_INDEX' })
  await t.rejects(nl.addRoute({ dst: '10.0.0.1/16', index: 1 }), { code: 'EINVAL_DST' })
  await t.rejects(nl.addRoute({ dst: '10.0.0.0/16', gw: 'fd00::1' }), { code: 'EINVAL_GW' })
  await t.rejects(nl.addRoute({ dst: '10.0.0.0/16' }), { code: 'EINVAL_INDEX' })
  const e = await nl.addAddr(1, 'nope/1').catch((x: unknown) => x)
  t.ok(e instanceof NetlinkInputError && e instanceof NetlinkError)
  t.equal(ns.run('ip', ['-j', 'link']), before, 'no link was created')
})
