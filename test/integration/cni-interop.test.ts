// Interop with Debian's containernetworking-plugins 1.1.1 (/usr/lib/cni), which
// speak CNI up to 1.0.0: our bridge over their host-local, their bridge over our
// IPAM, and our shipped conflist with their portmap run the way libcni runs it.
// Every case sends real packets and reads the kernel's state back.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns, linkNamespaces, type Netns } from '../lib/netns.ts'
import { cni, tempDataDir, PONTOON_CNI, REF_DIR, ROOT, type CniCall, type CniOutcome } from '../lib/cni.ts'
import { servePeer, tcpAsk, ping } from '../lib/traffic.ts'

const VERSION = '1.0.0'
const SUBNET = '10.244.9.0/24'
const GATEWAY = '10.244.9.1'

/** What the helpers need of a tap test: somewhere to hang cleanup. */
interface Test { teardown(fn: () => void): void }

/** Reserved addresses in an IPAM data dir (host-local's layout: one file per IP). */
function reserved(dataDir: string, network: string): string[] {
  try { return readdirSync(join(dataDir, network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).sort() } catch { return [] }
}

function firstIp(r: CniOutcome): string {
  return String(r.json?.ips?.[0]?.address ?? '').split('/')[0] ?? ''
}

function nodeWithPods(t: Test, count: number) {
  const node = makeNetns('node')
  const pods = Array.from({ length: count }, () => makeNetns('pod'))
  const data = tempDataDir('interop')
  t.teardown(() => { for (const p of pods) p.destroy(); node.destroy(); data.cleanup() })
  return { node, pods, data }
}

/** One conflist loaded from cni-config/, pointed at a test data dir and subnet. */
type Conflist = { cniVersion: string; name: string; plugins: Record<string, any>[] }

function loadConflist(file: string, dataDir: string): Conflist {
  const list = JSON.parse(readFileSync(join(ROOT, 'cni-config', file), 'utf8'))
  for (const p of list.plugins) if (p.ipam) p.ipam = { ...p.ipam, dataDir, ranges: [[{ subnet: SUBNET }]] }
  return list
}

/**
 * Run a conflist as libcni does: ADD plugin by plugin with the previous result
 * injected as prevResult and runtimeConfig filtered by each plugin's declared
 * capabilities; DEL in reverse order, each given the cached final result.
 */
function runConflist(node: Netns, list: Conflist, runtimeConfig: Record<string, unknown>) {
  const bin = (type: string) => (type.startsWith('pontoon') ? join(ROOT, 'dist/bin', type) : join(REF_DIR, type))
  const confFor = (p: Record<string, any>, prevResult: unknown) => {
    const caps = Object.keys(p.capabilities ?? {}).filter((k) => p.capabilities[k] === true && k in runtimeConfig)
    const conf: Record<string, unknown> = { ...p, cniVersion: list.cniVersion, name: list.name }
    if (caps.length) conf.runtimeConfig = Object.fromEntries(caps.map((k) => [k, runtimeConfig[k]]))
    if (prevResult !== undefined) conf.prevResult = prevResult
    return conf
  }
  return {
    add(call: Omit<CniCall, 'command'>): { outcomes: CniOutcome[]; result: unknown } {
      let prev: unknown
      const outcomes: CniOutcome[] = []
      for (const p of list.plugins) {
        const r = cni(node, bin(p.type), { ...call, command: 'ADD' }, confFor(p, prev))
        outcomes.push(r)
        if (r.status !== 0) break
        prev = r.json
      }
      return { outcomes, result: prev }
    },
    del(call: Omit<CniCall, 'command'>, cached: unknown): CniOutcome[] {
      return [...list.plugins].reverse().map((p) => cni(node, bin(p.type), { ...call, command: 'DEL' }, confFor(p, cached)))
    },
  }
}

t.test('our bridge delegates to the reference host-local: its data dir holds the IPs, pods talk, DEL releases', async (t) => {
  const { node, pods: [a, b], data } = nodeWithPods(t, 2)
  const list = loadConflist('10-pontoon-host-local.conflist', data.dir)
  const conf: Record<string, any> = { ...list.plugins[0], cniVersion: VERSION, name: list.name }
  t.equal(conf.ipam.type, 'host-local')

  const ra = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'hl-a', netns: a!.path, ifName: 'eth0' }, conf)
  const rb = cni(node, PONTOON_CNI, { command: 'ADD', containerId: 'hl-b', netns: b!.path, ifName: 'eth0' }, conf)
  t.equal(ra.status, 0, ra.stdout + ra.stderr)
  t.equal(rb.status, 0, rb.stdout + rb.stderr)
  t.equal(ra.json.cniVersion, VERSION, 'answers in the version it was asked in')
  const ipA = firstIp(ra), ipB = firstIp(rb)
  t.same(reserved(data.dir, list.name), [ipA, ipB].sort(), 'host-local recorded both IPs in its own data dir')
  t.equal(readFileSync(join(data.dir, list.name, ipA), 'utf8').split(/\r?\n/)[0], 'hl-a', 'host-local wrote the container id')
  const eth0 = JSON.parse(a!.run('ip', ['-j', 'addr', 'show', 'eth0']))[0]
  t.ok(eth0.addr_info.some((x: any) => x.local === ipA && x.prefixlen === 24), 'the pod carries the IP host-local chose')

  await servePeer(b!, 8080)
  t.equal(tcpAsk(a!, ipB, 8080), ipA, 'pod a reaches pod b, which sees a\'s own address')
  t.ok(ping(b!, GATEWAY), 'pod b reaches the gateway')

  const rd = cni(node, PONTOON_CNI, { command: 'DEL', containerId: 'hl-a', netns: a!.path, ifName: 'eth0' }, conf)
  t.equal(rd.status, 0, rd.stdout + rd.stderr)
  t.same(reserved(data.dir, list.name), [ipB], 'DEL released a\'s IP in host-local\'s dir, and only that one')
  t.equal(a!.try('ip', ['link', 'show', 'eth0']).status, 1, 'pod interface gone')
})

t.test('the reference bridge delegates to pontoon-ipam: ADD, the gateway answers, DEL releases in our dir', async (t) => {
  const { node, pods: [a], data } = nodeWithPods(t, 1)
  const conf = {
    cniVersion: VERSION, name: 'refbr', type: 'bridge', bridge: 'cni1', isGateway: true, isDefaultGateway: true,
    ipam: { type: 'pontoon-ipam', ranges: [[{ subnet: SUBNET }]], dataDir: data.dir },
  }
  const call = { containerId: 'rb-a', netns: a!.path, ifName: 'eth0' }
  const r = cni(node, join(REF_DIR, 'bridge'), { ...call, command: 'ADD' }, conf)
  t.equal(r.status, 0, r.stdout + r.stderr)
  if (r.status !== 0) return
  const ip = firstIp(r)
  t.match(ip, /^10\.244\.9\.\d+$/)
  t.same(reserved(data.dir, 'refbr'), [ip], 'our IPAM recorded the IP')
  t.equal(readFileSync(join(data.dir, 'refbr', ip), 'utf8').split(/\r?\n/)[0], 'rb-a')
  const eth0 = JSON.parse(a!.run('ip', ['-j', 'addr', 'show', 'eth0']))[0]
  t.ok(eth0.addr_info.some((x: any) => x.local === ip), 'the pod carries the IP our IPAM chose')
  t.ok(ping(a!, GATEWAY), 'the pod reaches the gateway on the reference bridge')

  const d = cni(node, join(REF_DIR, 'bridge'), { ...call, command: 'DEL' }, conf)
  t.equal(d.status, 0, d.stdout + d.stderr)
  t.same(reserved(data.dir, 'refbr'), [], 'DEL released the IP in our data dir')
})

t.test('10-pontoon.conflist with the reference portmap: hostPort 8080 reaches the pod, DEL removes the rules', async (t) => {
  const { node, pods: [pod], data } = nodeWithPods(t, 1)
  const outside = makeNetns('ext')
  t.teardown(() => outside.destroy())
  linkNamespaces(node, '192.168.78.1/24', outside, '192.168.78.2/24')
  const list = loadConflist('10-pontoon.conflist', data.dir)
  t.same(list.plugins.map((p) => p.type), ['pontoon-cni', 'portmap'])
  const chain = runConflist(node, list, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] })
  const call = { containerId: 'pm-a', netns: pod!.path, ifName: 'eth0' }

  const { outcomes, result } = chain.add(call)
  for (const o of outcomes) t.equal(o.status, 0, o.stdout + o.stderr)
  t.equal(outcomes.length, 2)
  const podIp = String((result as any)?.ips?.[0]?.address).split('/')[0] ?? ''
  t.same(reserved(data.dir, list.name), [podIp])
  t.match(node.run('iptables-save', ['-t', 'nat']), new RegExp(`DNAT --to-destination ${podIp.replace(/\./g, '\\.')}:80`), 'portmap programmed the DNAT')

  await servePeer(pod!, 80)
  t.equal(tcpAsk(outside, '192.168.78.1', 8080), '192.168.78.2', 'node:8080 from outside lands on the pod\'s :80, client address kept')
  t.equal(tcpAsk(outside, podIp, 80, 1), undefined, 'the outside has no direct route to the pod: only the port mapping carries it')

  for (const o of chain.del(call, result)) t.equal(o.status, 0, o.stdout + o.stderr)
  const nat = node.run('iptables-save', ['-t', 'nat'])
  t.notMatch(nat, /DNAT --to-destination/, 'no DNAT rule left')
  t.notMatch(nat, /CNI-DN-/, 'the per-container chain is gone')
  t.same(reserved(data.dir, list.name), [], 'IP released')
  t.equal(tcpAsk(outside, '192.168.78.1', 8080, 1), undefined, 'node:8080 no longer answers')
})
