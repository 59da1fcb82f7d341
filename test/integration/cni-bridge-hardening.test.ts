// The bridge plugin's hardening, against the real kernel: a pinned bridge MAC,
// arp_notify in the pod, the plugin's own netns refused, DEL's order, IPAM
// rollback, best-effort GC, link ownership by alias, and nft-safe tags.
import t, { type Test } from 'tap'
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, type Netns } from '../lib/netns.ts'
import { cni, bridgeConf, tempDataDir, PONTOON_CNI, CNI_PATH, REF_DIR } from '../lib/cni.ts'
import { hostVethName, masqTag } from '../../src/cni/bridge/names.ts'

const SUBNET = '10.244.7.0/24'

function setup(t: Test, extra: Record<string, unknown> = {}) {
  const node = makeNetns('node')
  const data = tempDataDir('hard')
  const pods: Netns[] = []
  t.teardown(() => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() })
  const conf = bridgeConf({ dataDir: data.dir, subnet: SUBNET, ...extra })
  const add = (id: string, confOverride?: unknown, env?: NodeJS.ProcessEnv, path?: string) => {
    const pod = makeNetns('pod')
    pods.push(pod)
    const r = cni(node, PONTOON_CNI, { command: 'ADD', containerId: id, netns: pod.path, ifName: 'eth0', env, path }, confOverride ?? conf)
    return { pod, r, ip: r.json?.ips?.[0]?.address?.split('/')[0] as string }
  }
  return { node, data, conf, add }
}

const ipj = (ns: Netns, ...args: string[]): any[] => JSON.parse(ns.run('ip', ['-j', ...args]) || '[]')
const reservations = (dir: string): string[] => existsSync(dir) ? readdirSync(dir).filter((f) => /^\d/.test(f)) : []

/**
 * An IPAM plugin on CNI_PATH that is Debian's host-local with one behaviour
 * changed (a shell fragment run before host-local; $in holds stdin). Returns
 * the CNI_PATH to use and a host-local config section.
 */
function wrappedHostLocal(t: Test, name: string, fragment: string) {
  const dir = tempDataDir(`ipam-${name}`)
  t.teardown(dir.cleanup)
  const bin = join(dir.dir, name)
  // Debian's host-local speaks up to 1.0.0; the result it gives is read the same.
  writeFileSync(bin, `#!/bin/sh\nin=$(cat | sed 's/"cniVersion":"1.1.0"/"cniVersion":"1.0.0"/g')\n${fragment}\nprintf '%s' "$in" | exec ${REF_DIR}/host-local\n`)
  chmodSync(bin, 0o755)
  const store = join(dir.dir, 'store')
  return {
    path: `${dir.dir}:${CNI_PATH}`,
    ipam: { type: name, ranges: [[{ subnet: SUBNET }]], dataDir: store },
    store: (net = 'podnet') => reservations(join(store, net)),
    dir: dir.dir,
  }
}

t.test('the bridge MAC is pinned: a pod with a lower MAC joining or leaving does not move it', async (t) => {
  const { node, add, conf } = setup(t)
  const a = add('c-mac-a')
  t.equal(a.r.status, 0, a.r.stdout)
  const mac = () => ipj(node, 'link', 'show', 'cni0')[0].address as string
  const pinned = mac()
  t.equal(a.r.json.interfaces[0].mac, pinned, 'the result reports the bridge MAC')
  t.ok(a.pod.run('busybox', ['ping', '-c', '1', '-W', '1', '10.244.7.1']).length > 0)

  const b = add('c-mac-b')
  t.equal(b.r.status, 0, b.r.stdout)
  node.run('ip', ['link', 'set', b.r.json.interfaces[1].name, 'address', '00:00:00:00:00:01'])
  t.equal(mac(), pinned, 'a port with the lowest MAC joined: the bridge kept its MAC')
  const del = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c-mac-b', netns: b.pod.path, ifName: 'eth0' }, conf)
  t.equal(del.status, 0, del.stdout)
  t.equal(mac(), pinned, 'and it left: still the same')
  t.ok(a.pod.run('busybox', ['ping', '-c', '1', '-W', '1', '10.244.7.1']).length > 0)
  const neigh = ipj(a.pod, 'neigh', 'show', '10.244.7.1')
  t.equal(neigh[0]?.lladdr, pinned, "the pod's ARP entry for the gateway is the bridge's MAC")
})

t.test('arp_notify is on in the pod', async (t) => {
  const { add } = setup(t)
  const a = add('c-arp')
  t.equal(a.r.status, 0, a.r.stdout)
  t.equal(a.pod.run('cat', ['/proc/sys/net/ipv4/conf/eth0/arp_notify']).trim(), '1')
})

t.test("a CNI_NETNS that is the plugin's own namespace is refused before anything is done", async (t) => {
  const { node, conf, data } = setup(t)
  node.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0peer'])
  const before = ipj(node, 'link').map((l) => l.ifname).sort()
  for (const netns of [node.path, '/proc/self/ns/net']) {
    for (const command of ['ADD', 'CHECK', 'DEL'] as const) {
      const c = command === 'CHECK' ? { ...conf, prevResult: { cniVersion: '1.1.0' } } : conf
      const r = cni(node, PONTOON_CNI, { command, containerId: 'c-own', netns, ifName: 'eth0' }, c)
      t.equal(r.status, 1, `${command} ${netns}`)
      t.equal(r.json?.code, 4, 'invalid environment')
      t.match(r.json?.msg, /^CNI_NETNS: .* is the plugin's own network namespace/)
    }
  }
  t.same(ipj(node, 'link').map((l) => l.ifname).sort(), before, "the node's links are untouched (its eth0 survives DEL)")
  t.same(ipj(node, 'route'), [], 'no route was added to the node')
  t.same(reservations(join(data.dir, 'podnet')), [], 'no address was reserved')
})

t.test('DEL removes the link before it releases the IP', async (t) => {
  // The IPAM records, at the moment DEL reaches it, which ports the bridge still has.
  const rec = wrappedHostLocal(t, 'rec-ipam', 'if [ "$CNI_COMMAND" = DEL ]; then ip -o link show master cni0 >> "$REC_FILE" 2>&1; echo DEL >> "$REC_FILE"; fi')
  const { node, add, conf } = setup(t)
  const c = { ...conf, ipam: rec.ipam }
  const recFile = join(rec.dir, 'rec')
  const a = add('c-order', c, {}, rec.path)
  t.equal(a.r.status, 0, a.r.stdout)
  const hostIf = a.r.json.interfaces[1].name
  t.same(rec.store(), [a.ip])
  const del = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c-order', netns: a.pod.path, ifName: 'eth0', path: rec.path, env: { REC_FILE: recFile } }, c)
  t.equal(del.status, 0, del.stdout)
  const seen = readFileSync(recFile, 'utf8')
  t.match(seen, /DEL/, 'the IPAM was called')
  t.notMatch(seen, hostIf, 'and the host veth was already gone by then')
  t.same(rec.store(), [], 'the IP is released')
})

t.test('ADD releases the address when the delegated IPAM result does not decode', async (t) => {
  // host-local reserves an address, then the result is mangled on its way back.
  const bad = wrappedHostLocal(t, 'bad-ipam', `if [ "$CNI_COMMAND" = ADD ]; then printf '%s' "$in" | ${REF_DIR}/host-local >/dev/null && echo '{"cniVersion":"1.0.0","ips":"not-a-list"}'; exit 0; fi`)
  const { add, conf } = setup(t)
  const a = add('c-decode', { ...conf, ipam: bad.ipam }, {}, bad.path)
  t.equal(a.r.status, 1)
  t.equal(a.r.json.code, 6, a.r.stdout)
  t.match(a.r.json.msg, /ips/)
  t.same(bad.store(), [], 'the reservation host-local made was released by the rollback')
})

t.test('a failed ADD after the IPAM step releases the IP (the rollback is exercised)', async (t) => {
  const { add, conf, data } = setup(t)
  const pre = add('c-first')
  t.equal(pre.r.status, 0)
  // The pod already has an eth0: ADD fails after IPAM has reserved.
  const pod = makeNetns('pod')
  t.teardown(() => pod.destroy())
  pod.run('ip', ['link', 'add', 'eth0', 'type', 'bridge'])
  const r = cni(setup(t).node, PONTOON_CNI, { command: 'ADD', containerId: 'c-exists', netns: pod.path, ifName: 'eth0' }, conf)
  t.equal(r.status, 1)
  t.equal(r.json.code, 106, r.stdout)
  t.same(reservations(join(data.dir, 'podnet')), [pre.ip], "only the first pod's reservation is left")
})

t.test('GC is best-effort: a failing IPAM GC does not stop links and rules going', async (t) => {
  const broken = wrappedHostLocal(t, 'gcfail-ipam', 'if [ "$CNI_COMMAND" = GC ]; then echo \'{"cniVersion":"1.1.0","code":5,"msg":"store unavailable"}\'; exit 1; fi')
  const { node, add, conf } = setup(t, { ipMasq: true })
  const c = { ...conf, ipam: broken.ipam }
  const keep = add('c-gc-keep', c, {}, broken.path), leak = add('c-gc-leak', c, {}, broken.path)
  t.equal(keep.r.status, 0, keep.r.stdout)
  t.equal(leak.r.status, 0, leak.r.stdout)
  const gc = cni(node, PONTOON_CNI, { command: 'GC', path: broken.path }, { ...c, 'cni.dev/valid-attachments': [{ containerID: 'c-gc-keep', ifname: 'eth0' }] })
  t.equal(gc.status, 1, 'GC reports the failure')
  t.equal(gc.json.code, 5)
  t.match(gc.json.msg, /^GC incomplete: ipam \(gcfail-ipam\): .*store unavailable/)
  t.equal(node.try('ip', ['link', 'show', leak.r.json.interfaces[1].name]).status, 1, 'the leaked veth went anyway')
  t.equal(node.try('ip', ['link', 'show', keep.r.json.interfaces[1].name]).status, 0, 'the valid one stays')
  const rules = node.run('nft', ['list', 'table', 'inet', 'pontoon-cni'])
  t.match(rules, /c-gc-keep/)
  t.notMatch(rules, /c-gc-leak/, 'the leaked masquerade rule went anyway')
})

t.test('host veths carry 48 bits of hash and their owner in the alias; links pontoon does not own are never deleted', async (t) => {
  const { node, add, conf } = setup(t)
  const a = add('c-own-a')
  t.equal(a.r.status, 0, a.r.stdout)
  const hostIf = a.r.json.interfaces[1].name
  t.match(hostIf, /^pnv[0-9a-f]{12}$/)
  t.equal(ipj(node, 'link', 'show', hostIf)[0].ifalias, 'pontoon:c-own-a/eth0', 'host end alias')
  t.equal(ipj(a.pod, 'link', 'show', 'eth0')[0].ifalias, 'pontoon:c-own-a/eth0', 'pod end alias')

  // A foreign link that has the very name of an attachment's host veth.
  const squat = hostVethName('c-squat', 'eth0')
  node.run('ip', ['link', 'add', squat, 'type', 'bridge'])
  node.run('ip', ['link', 'set', squat, 'alias', 'someone-else'])
  const pod = makeNetns('pod')
  t.teardown(() => pod.destroy())
  const call = { containerId: 'c-squat', netns: pod.path, ifName: 'eth0' }
  const r = cni(node, PONTOON_CNI, { command: 'ADD', ...call }, conf)
  t.equal(r.status, 1)
  t.equal(r.json.code, 106)
  t.match(r.json.msg, new RegExp(`host veth ${squat} exists and is not this attachment's`))
  t.equal(node.try('ip', ['link', 'show', squat]).status, 0, 'ADD left the foreign link alone')
  t.equal(cni(node, PONTOON_CNI, { command: 'DEL', ...call }, conf).status, 0, 'DEL is still forgiving')
  t.equal(node.try('ip', ['link', 'show', squat]).status, 0, 'DEL left it alone')

  // A foreign port on our bridge with a name like ours, without our alias.
  const foreign = 'pnv000000000000'
  node.run('ip', ['link', 'add', foreign, 'type', 'veth', 'peer', 'name', 'fpeer0'])
  node.run('ip', ['link', 'set', foreign, 'master', 'cni0'])
  const gc = cni(node, PONTOON_CNI, { command: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [] })
  t.equal(gc.status, 0, gc.stdout)
  t.equal(node.try('ip', ['link', 'show', foreign]).status, 0, 'GC left the foreign port alone')
  t.equal(node.try('ip', ['link', 'show', hostIf]).status, 1, 'and removed our stale one')
})

t.test('masquerade works for a network name far longer than an nft comment', async (t) => {
  const name = 'n'.repeat(200)
  const { node, add, conf } = setup(t, { name, ipMasq: true })
  const a = add('c-long')
  t.equal(a.r.status, 0, a.r.stdout)
  const tag = masqTag(name, 'c-long', 'eth0')
  const chain = () => JSON.parse(node.run('nft', ['-j', 'list', 'chain', 'inet', 'pontoon-cni', 'postrouting'])).nftables
    .filter((x: any) => x.rule).map((x: any) => x.rule.comment)
  t.same(chain(), [tag], 'the rule carries the hashed tag')
  t.ok(Buffer.byteLength(tag) <= 128)
  const del = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'c-long', netns: a.pod.path, ifName: 'eth0' }, conf)
  t.equal(del.status, 0, del.stdout)
  t.same(chain(), [], 'DEL finds it by the same tag')
})
