// The bridge plugin against the real kernel: links, addresses, routes read back,
// and TCP between pods, to the gateway, through hairpin and through masquerade.
import t, { type Test } from 'tap'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, linkNamespaces, type Netns } from '../lib/netns.ts'
import { cni, bridgeConf, tempDataDir, PONTOON_CNI } from '../lib/cni.ts'
import { servePeer, tcpAsk, ping } from '../lib/traffic.ts'

const SUBNET = '10.244.7.0/24'

function setup(t: Test, extra: Record<string, unknown> = {}) {
  const node = makeNetns('node')
  const data = tempDataDir('bridge')
  const pods: Netns[] = []
  t.teardown(() => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() })
  const conf = bridgeConf({ dataDir: data.dir, subnet: SUBNET, ...extra })
  const add = (id: string, confOverride?: unknown) => {
    const pod = makeNetns('pod')
    pods.push(pod)
    const r = cni(node, PONTOON_CNI, { command: 'ADD', containerId: id, netns: pod.path, ifName: 'eth0' }, confOverride ?? conf)
    return { pod, r, ip: r.json?.ips?.[0]?.address?.split('/')[0] as string }
  }
  return { node, data, conf, add }
}

function ipj(ns: Netns, ...args: string[]): any[] {
  return JSON.parse(ns.run('ip', ['-j', ...args]) || '[]')
}

t.test('ADD builds the bridge, the veth, addresses and routes', async (t) => {
  const { node, add, data } = setup(t, { mtu: 1400 })
  const { pod, r, ip } = add('c-a')
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.equal(r.json.cniVersion, '1.1.0')
  t.match(ip, /^10\.244\.7\.\d+$/)

  const br = ipj(node, '-d', 'link', 'show', 'cni0')[0]
  t.equal(br.linkinfo.info_kind, 'bridge')
  t.same(ipj(node, 'addr', 'show', 'cni0')[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`), ['10.244.7.1/24'])
  const hostIf = r.json.interfaces[1].name
  const hv = ipj(node, '-d', 'link', 'show', hostIf)[0]
  t.equal(hv.master, 'cni0')
  t.equal(hv.linkinfo.info_kind, 'veth')
  t.equal(hv.mtu, 1400)
  t.ok(hv.flags.includes('UP'))

  const eth0 = ipj(pod, 'addr', 'show', 'eth0')[0]
  t.equal(eth0.mtu, 1400)
  t.equal(eth0.address, r.json.interfaces[2].mac)
  t.ok(eth0.addr_info.some((a: any) => a.local === ip && a.prefixlen === 24))
  t.same(ipj(pod, 'route', 'show', 'default').map((x: any) => x.gateway), ['10.244.7.1'])
  t.ok(ipj(pod, 'link', 'show', 'lo')[0].flags.includes('UP'), 'loopback is up')
  t.equal(node.run('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1')
  t.ok(existsSync(join(data.dir, 'podnet', ip)), 'reservation on disk')
})

t.test('two pods reach each other over TCP, and a pod reaches its gateway', async (t) => {
  const { add } = setup(t)
  const a = add('c-a'), b = add('c-b')
  t.equal(a.r.status, 0); t.equal(b.r.status, 0)
  t.not(a.ip, b.ip)
  await servePeer(b.pod, 8080)
  t.equal(tcpAsk(a.pod, b.ip, 8080), a.ip, 'b sees a with its own address: no NAT inside the pod network')
  t.ok(ping(a.pod, '10.244.7.1'), 'gateway answers')
})

t.test('hairpin: traffic that leaves a bridge port comes back through the same port only in hairpin mode', async (t) => {
  // A macvlan in VEPA mode sends every frame to the "switch" (our bridge), even
  // frames for its own parent: they reach the parent only if the port hairpins.
  for (const hairpin of [true, false]) {
    const hp = tempDataDir('hp')
    t.teardown(hp.cleanup)
    const { add } = setup(t, { hairpinMode: hairpin, ipam: { type: 'pontoon-ipam', ranges: [[{ subnet: SUBNET, rangeEnd: '10.244.7.100' }]], dataDir: hp.dir } })
    const a = add(`c-hp-${hairpin}`)
    t.equal(a.r.status, 0, a.r.stdout)
    const hv = ipj(a.pod, 'link', 'show', 'eth0')[0]
    t.ok(hv)
    const side = makeNetns('side')
    t.teardown(() => side.destroy())
    a.pod.run('ip', ['link', 'add', 'mv0', 'link', 'eth0', 'type', 'macvlan', 'mode', 'vepa'])
    a.pod.run('ip', ['link', 'set', 'mv0', 'netns', side.path])
    side.run('ip', ['addr', 'add', '10.244.7.250/24', 'dev', 'mv0'])
    side.run('ip', ['link', 'set', 'mv0', 'up'])
    await servePeer(a.pod, 8080)
    const answer = tcpAsk(side, a.ip, 8080, 1)
    if (hairpin) t.equal(answer, '10.244.7.250', 'hairpin on: the reflected frames carry the connection')
    else t.equal(answer, undefined, 'hairpin off: the bridge drops frames back out of their own port')
  }
})

t.test('ipMasq: an outside server sees the node address, and only because of the rule', async (t) => {
  for (const masq of [true, false]) {
    const { node, add } = setup(t, { ipMasq: masq })
    const ext = makeNetns('ext')
    t.teardown(() => ext.destroy())
    linkNamespaces(node, '192.168.77.1/24', ext, '192.168.77.2/24')
    const a = add(`c-m-${masq}`)
    t.equal(a.r.status, 0)
    await servePeer(ext, 9090)
    const rules = node.try('nft', ['-j', 'list', 'table', 'inet', 'pontoon-cni'])
    if (masq) {
      t.equal(tcpAsk(a.pod, '192.168.77.2', 9090), '192.168.77.1', 'masqueraded to the node address')
      t.match(rules.stdout, /"masquerade"/)
    } else {
      t.equal(tcpAsk(a.pod, '192.168.77.2', 9090, 1), undefined, 'without masquerade the outside has no route back')
      t.not(rules.status, 0, 'no table when ipMasq is off')
    }
  }
})

t.test('DEL removes everything, twice in a row and with an empty netns', async (t) => {
  const { node, add, conf, data } = setup(t, { ipMasq: true })
  const a = add('c-del')
  t.equal(a.r.status, 0)
  const hostIf = a.r.json.interfaces[1].name
  const call = { command: 'DEL' as const, containerId: 'c-del', netns: a.pod.path, ifName: 'eth0' }
  for (const netns of [a.pod.path, a.pod.path, '']) {
    const r = cni(node, PONTOON_CNI, { ...call, netns }, conf)
    t.equal(r.status, 0, `DEL with netns=${JSON.stringify(netns)}: ${r.stdout}`)
    t.equal(r.stdout, '', 'DEL prints nothing on success')
  }
  t.equal(node.try('ip', ['link', 'show', hostIf]).status, 1, 'host veth gone')
  t.equal(a.pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'pod interface gone')
  t.same(readdirSync(join(data.dir, 'podnet')).filter((f) => /^\d/.test(f)), [], 'no reservation left')
  t.notMatch(node.run('nft', ['list', 'table', 'inet', 'pontoon-cni']), /masquerade/, 'no masquerade rule left')
})

t.test('DEL with an empty netns alone still removes the host veth and the IP', async (t) => {
  const { node, add, conf, data } = setup(t)
  const a = add('c-del2')
  const hostIf = a.r.json.interfaces[1].name
  const r = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c-del2', netns: '', ifName: 'eth0' }, conf)
  t.equal(r.status, 0, r.stdout)
  t.equal(node.try('ip', ['link', 'show', hostIf]).status, 1)
  t.equal(a.pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'the pod end went with its peer')
  t.same(readdirSync(join(data.dir, 'podnet')).filter((f) => /^\d/.test(f)), [])
})

t.test('CHECK passes on a healthy attachment and catches a deleted route or address', async (t) => {
  const { node, add, conf } = setup(t)
  const a = add('c-chk')
  const withPrev = { ...conf, prevResult: a.r.json }
  const call = { command: 'CHECK' as const, containerId: 'c-chk', netns: a.pod.path, ifName: 'eth0' }
  t.equal(cni(node, PONTOON_CNI, call, withPrev).status, 0)
  a.pod.run('ip', ['route', 'del', 'default'])
  let r = cni(node, PONTOON_CNI, call, withPrev)
  t.equal(r.status, 1)
  t.equal(r.json.code, 105)
  t.match(r.json.msg, /route 0\.0\.0\.0\/0 via 10\.244\.7\.1 is missing/)
  a.pod.run('ip', ['route', 'add', 'default', 'via', '10.244.7.1'])
  t.equal(cni(node, PONTOON_CNI, call, withPrev).status, 0, 'healthy again')
  a.pod.run('ip', ['addr', 'flush', 'dev', 'eth0'])
  r = cni(node, PONTOON_CNI, call, withPrev)
  t.match(r.json.msg, /address 10\.244\.7\.\d+\/24 is missing/)
  r = cni(node, PONTOON_CNI, call, conf)
  t.equal(r.json.code, 7, 'CHECK without prevResult is a config error')
})

t.test('GC frees leaked reservations, rules and veths, and keeps valid ones', async (t) => {
  const { node, add, conf, data } = setup(t, { ipMasq: true })
  const keep = add('c-keep'), leak = add('c-leak')
  const gcConf = { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'c-keep', ifname: 'eth0' }] }
  const r = cni(node, PONTOON_CNI, { command: 'GC' }, gcConf)
  t.equal(r.status, 0, r.stdout)
  const files = readdirSync(join(data.dir, 'podnet')).filter((f) => /^\d/.test(f))
  t.same(files, [keep.ip])
  t.equal(node.try('ip', ['link', 'show', leak.r.json.interfaces[1].name]).status, 1, 'leaked veth removed')
  t.equal(node.try('ip', ['link', 'show', keep.r.json.interfaces[1].name]).status, 0, 'valid veth kept')
  const rules = node.run('nft', ['list', 'table', 'inet', 'pontoon-cni'])
  t.match(rules, /c-keep/)
  t.notMatch(rules, /c-leak/)
  await servePeer(keep.pod, 8081)
  t.ok(ping(keep.pod, '10.244.7.1'), 'the kept pod still has its network')
})

t.test('STATUS is 0 when ready and 50 when the pool is exhausted', async (t) => {
  const { node, add, data } = setup(t)
  const tiny = bridgeConf({ dataDir: data.dir, subnet: '10.244.9.0/30', name: 'tiny' })
  t.equal(cni(node, PONTOON_CNI, { command: 'STATUS' }, tiny).status, 0)
  const a = add('c-s1', tiny)
  t.equal(a.r.status, 0, a.r.stdout)
  const b = add('c-s2', tiny)
  t.equal(b.r.status, 1)
  t.equal(b.r.json.code, 101, 'an exhausted pool on ADD')
  t.equal(b.pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'failed ADD left no interface')
  const s = cni(node, PONTOON_CNI, { command: 'STATUS' }, tiny)
  t.equal(s.status, 1)
  t.equal(s.json.code, 50)
  t.match(s.json.msg, /exhaust|no .*available/i)
})

t.test('dual stack: both families configured without DAD delay, TCP over IPv6 between pods', async (t) => {
  const data = tempDataDir('ds')
  t.teardown(() => data.cleanup())
  const { add } = setup(t, {
    ipam: { type: 'pontoon-ipam', ranges: [[{ subnet: SUBNET }], [{ subnet: 'fd00:10:244:7::/64' }]], dataDir: data.dir },
  })
  const a = add('c-ds-a'), b = add('c-ds-b')
  t.equal(a.r.status, 0, a.r.stdout)
  t.equal(b.r.status, 0, b.r.stdout)
  const v6 = (r: typeof a) => r.r.json.ips.find((i: any) => i.address.includes(':')).address.split('/')[0] as string
  t.match(v6(a), /^fd00:10:244:7::/)
  const addrs = ipj(b.pod, '-6', 'addr', 'show', 'eth0')[0].addr_info.filter((x: any) => x.scope === 'global')
  t.same(addrs.map((x: any) => x.local), [v6(b)])
  t.notOk(addrs[0].tentative, 'no DAD: the address is usable at once')
  t.same(ipj(b.pod, '-6', 'route', 'show', 'default').map((x: any) => x.gateway), ['fd00:10:244:7::1'])
  await servePeer(b.pod, 8080, '::')
  t.equal(tcpAsk(a.pod, v6(b), 8080), v6(a), 'IPv6 TCP pod to pod')
  t.ok(ping(a.pod, 'fd00:10:244:7::1'), 'IPv6 gateway answers')
})

t.test('results come in the version each runtime asked for', async (t) => {
  const { add, conf } = setup(t)
  for (const [i, v] of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'].entries()) {
    const r = add(`c-v${i}`, { ...conf, cniVersion: v }).r
    t.equal(r.status, 0, r.stdout)
    t.equal(r.json.cniVersion, v)
    t.equal(r.json.ips[0].version, v.startsWith('0.') ? '4' : undefined, `${v}: per-IP version field`)
  }
})

t.test('GC and DEL work on a host without nft when ipMasq was never used', async (t) => {
  const { node, add, conf, data } = setup(t)
  const a = add('c-nonft')
  t.equal(a.r.status, 0)
  const noNft = { PATH: '/nonexistent' }
  const gc = cni(node, PONTOON_CNI, { command: 'GC', env: noNft }, { ...conf, 'cni.dev/valid-attachments': [] })
  t.equal(gc.status, 0, gc.stdout)
  t.same(readdirSync(join(data.dir, 'podnet')).filter((f) => /^\d/.test(f)), [], 'GC released the IP')
  const del = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c-nonft', netns: a.pod.path, ifName: 'eth0', env: noNft }, conf)
  t.equal(del.status, 0, del.stdout)
})
