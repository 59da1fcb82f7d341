// A corpus of bad inputs, run through the real executable: each gets the spec's
// error JSON with the expected code and a message naming the field, and none
// leaves state behind (no links, no reservations, no nft table).
import t, { type Test } from 'tap'
import { readdirSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { makeNetns } from '../lib/netns.ts'
import { cni, bridgeConf, tempDataDir, PONTOON_CNI, PONTOON_IPAM, type CniCall } from '../lib/cni.ts'

const node = makeNetns('node')
const pod = makeNetns('pod')
const data = tempDataDir('bad')
t.teardown(() => { pod.destroy(); node.destroy(); data.cleanup() })

const good = bridgeConf({ dataDir: data.dir, ipMasq: true })
const add: CniCall = { command: 'ADD', containerId: 'c-bad', netns: pod.path, ifName: 'eth0' }
const ipam = (patch: Record<string, unknown>) => ({ ...good, ipam: { ...good.ipam, ...patch } })

type Case = [name: string, plugin: string, call: CniCall, stdin: unknown, code: number, msg: RegExp]
const cases: Case[] = [
  // environment (4)
  ['no CNI_COMMAND', PONTOON_CNI, { ...add, command: undefined as never }, good, 4, /CNI_COMMAND: required/],
  ['unknown CNI_COMMAND', PONTOON_CNI, { ...add, command: 'FROB' as never }, good, 4, /CNI_COMMAND: unknown/],
  ['ADD without CNI_NETNS', PONTOON_CNI, { ...add, netns: '' }, good, 4, /CNI_NETNS/],
  ['ADD without CNI_CONTAINERID', PONTOON_CNI, { ...add, containerId: '' }, good, 4, /CNI_CONTAINERID/],
  ['ADD without CNI_IFNAME', PONTOON_CNI, { ...add, ifName: '' }, good, 4, /CNI_IFNAME/],
  ['container id with a slash', PONTOON_CNI, { ...add, containerId: 'a/b' }, good, 4, /CNI_CONTAINERID/],
  ['interface name too long', PONTOON_CNI, { ...add, ifName: 'eth0123456789012' }, good, 4, /CNI_IFNAME: .*15/],
  ['interface name with space', PONTOON_CNI, { ...add, ifName: 'et h0' }, good, 4, /CNI_IFNAME/],
  ['malformed CNI_ARGS', PONTOON_CNI, { ...add, args: 'IP' }, good, 4, /CNI_ARGS/],
  // decoding (6)
  ['empty stdin', PONTOON_CNI, add, '', 6, /stdin: empty/],
  ['truncated JSON', PONTOON_CNI, add, '{"cniVersion": "1.0.0", "name"', 6, /not valid JSON/],
  ['JSON array', PONTOON_CNI, add, '[1,2]', 6, /expected a JSON object/],
  ['prevResult not an object', PONTOON_CNI, add, { ...good, prevResult: 'x' }, 6, /prevResult: expected a JSON object/],
  ['prevResult ips not an array', PONTOON_CNI, add, { ...good, prevResult: { cniVersion: '1.0.0', ips: 3 } }, 6, /prevResult.ips/],
  // version (1)
  ['unsupported cniVersion', PONTOON_CNI, add, { ...good, cniVersion: '0.2.0' }, 1, /cniVersion: version "0.2.0" is not supported/],
  ['future cniVersion', PONTOON_CNI, add, { ...good, cniVersion: '2.0.0' }, 1, /not supported/],
  ['GC on 1.0.0', PONTOON_CNI, { command: 'GC' }, { ...good, cniVersion: '1.0.0' }, 1, /does not support GC/],
  // configuration (7)
  ['missing cniVersion', PONTOON_CNI, add, { ...good, cniVersion: undefined }, 7, /cniVersion: missing/],
  ['missing name', PONTOON_CNI, add, { ...good, name: undefined }, 7, /name: required/],
  ['name with spaces', PONTOON_CNI, add, { ...good, name: 'my net' }, 7, /name: "my net"/],
  ['wrong plugin type', PONTOON_CNI, add, { ...good, type: 'bridge' }, 7, /type: "bridge" is not this plugin/],
  ['mtu as a string', PONTOON_CNI, add, { ...good, mtu: '1500' }, 7, /mtu: expected number/],
  ['mtu too large', PONTOON_CNI, add, { ...good, mtu: 70000 }, 7, /mtu: must be at most 65535/],
  ['bridge name too long', PONTOON_CNI, add, { ...good, bridge: 'bridge-name-too-long' }, 7, /bridge: must have at most 15/],
  ['isGateway not boolean', PONTOON_CNI, add, { ...good, isGateway: 'true' }, 7, /isGateway: expected boolean/],
  ['no ipam', PONTOON_CNI, add, { ...good, ipam: undefined }, 7, /ipam: required but missing/],
  ['ipam type missing', PONTOON_CNI, add, { ...good, ipam: {} }, 7, /ipam.type: required/],
  ['ipam type not on CNI_PATH', PONTOON_CNI, add, { ...good, ipam: { type: 'no-such-ipam' } }, 7, /ipam.type: plugin "no-such-ipam" not found/],
  ['ipam type is a path', PONTOON_CNI, add, { ...good, ipam: { type: '/bin/sh' } }, 7, /ipam.type: .* must be a plugin name/],
  ['ipam subnet not a CIDR', PONTOON_CNI, add, ipam({ ranges: [[{ subnet: '10.244.0.0' }]] }), 7, /ipam\.ranges\[0\]\[0\]\.subnet/],
  ['ipam no ranges', PONTOON_CNI, add, ipam({ ranges: [] }), 7, /ipam/],
  ['ipam rangeStart outside subnet', PONTOON_CNI, add, ipam({ ranges: [[{ subnet: '10.244.7.0/24', rangeStart: '10.9.9.9' }]] }), 7, /rangeStart/],
  ['ipam gateway not an IP', PONTOON_CNI, add, ipam({ ranges: [[{ subnet: '10.244.7.0/24', gateway: 'gw' }]] }), 7, /gateway/],
  ['ipam routes malformed', PONTOON_CNI, add, ipam({ routes: [{ dst: 'default' }] }), 7, /routes\[0\]\.dst/],
  ['hairpin with promisc', PONTOON_CNI, add, { ...good, hairpinMode: true, promiscMode: true }, 7, /hairpinMode, promiscMode/],
  ['GC without valid-attachments (never "release everything")', PONTOON_CNI, { command: 'GC' }, good, 7, /valid-attachments: required for GC/],
  ['GC attachments not an array', PONTOON_CNI, { command: 'GC' }, { ...good, 'cni.dev/valid-attachments': {} }, 7, /valid-attachments/],
  // the pod's netns (3)
  ['netns that does not exist', PONTOON_CNI, { ...add, netns: '/run/netns/pontoon-no-such-ns' }, good, 3, /CNI_NETNS: cannot open/],
  // the standalone IPAM plugin
  ['ipam plugin: bad range', PONTOON_IPAM, add, { cniVersion: '1.0.0', name: 'podnet', type: 'bridge', ipam: { type: 'pontoon-ipam', ranges: 5 } }, 7, /ranges/],
  ['ipam plugin: requested IP outside the range', PONTOON_IPAM, { ...add, args: 'IP=10.99.0.1' }, { cniVersion: '1.0.0', name: 'podnet', type: 'bridge', ipam: { type: 'pontoon-ipam', ranges: [[{ subnet: '10.244.7.0/24' }]], dataDir: data.dir } }, 7, /10\.99\.0\.1/],
]

t.ok(cases.length >= 30, `${cases.length} cases`)

function noState(t: Test) {
  t.equal(pod.try('ip', ['link', 'show', 'eth0']).status, 1, 'no pod interface')
  const links = JSON.parse(node.run('ip', ['-j', 'link']) as string) as Array<{ ifname: string }>
  t.same(links.filter((l) => l.ifname.startsWith('pnv')).map((l) => l.ifname), [], 'no host veth')
  const dir = join(data.dir, 'podnet')
  const ips = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d/.test(f)) : []
  t.same(ips, [], 'no reservation')
  t.not(node.try('nft', ['list', 'table', 'inet', 'pontoon-cni']).status, 0, 'no masquerade table')
}

for (const [name, plugin, call, stdin, code, msg] of cases) {
  t.test(name, async (t) => {
    const r = cni(node, plugin, call, stdin)
    t.not(r.status, 0, 'non-zero exit')
    t.ok(r.json, `stdout is JSON: ${r.stdout}`)
    t.equal(r.json?.code, code, r.stdout)
    t.match(r.json?.msg, msg)
    t.type(r.json?.cniVersion, 'string')
    noState(t)
  })
}
