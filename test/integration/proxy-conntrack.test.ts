// Stale UDP conntrack on a real kernel: a client on a fixed source port (like a
// DNS resolver) keeps reaching the old backend after the DNAT rule moved, until
// the flows staleFlows() names are deleted; then its next datagram reaches the
// new backend, and an unrelated flow to the same backend stays.
import t from 'tap'
import { makeNetns, linkNamespaces, type Netns } from '../lib/netns.ts'
import { waitFor } from '../lib/wait.ts'
import { staleFlows } from '../../src/proxy/conntrack/stale.ts'
import { clearStaleFlows } from '../../src/proxy/conntrack/clear.ts'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'

const A = '10.0.2.2', B = '10.0.2.3', VIP = '10.96.0.10', OTHER_VIP = '10.96.0.20'

// One process answering every datagram with its name. socat's UDP4-RECVFROM with fork
// forked a shell per datagram: slow under load, and a second datagram that came while
// a child was being forked could go unanswered (a CI run lost one that way).
const SERVER = `
const s = require('node:dgram').createSocket('udp4')
const [ip, name] = process.argv.slice(1)
s.on('message', (m, peer) => s.send(name + '\\n', peer.port, peer.address))
s.bind(5353, ip)
`
function serveUdp(ns: Netns, ip: string, name: string) {
  const child = ns.spawn(process.execPath, ['-e', SERVER, ip, name])
  return waitFor(`udp server ${name}`, () => ns.try('ss', ['-Hlun', `src ${ip}:5353`]).stdout.includes(`${ip}:5353`), { abandon: () => child.exitCode !== null })
}

// One datagram from a fixed source port; the answer names the backend, or undefined.
const CLIENT = `
const s = require('node:dgram').createSocket('udp4')
const [host, port, sport] = process.argv.slice(1)
const timer = setTimeout(() => process.exit(3), 3000)
s.on('message', (m) => { process.stdout.write(String(m).trim()); clearTimeout(timer); s.close() })
s.bind(Number(sport), () => s.send('q', Number(port), host))
`
function ask(client: Netns, host: string, sport: number): string | undefined {
  const r = client.try(process.execPath, ['-e', CLIENT, host, '53', String(sport)])
  return r.status === 0 ? r.stdout : undefined
}

function dnat(node: Netns, to: string) {
  node.run('nft', ['-f', '-'], {
    input: `table ip ptct
delete table ip ptct
table ip ptct {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${VIP} udp dport 53 dnat to ${to}:5353
    ip daddr ${OTHER_VIP} udp dport 53 dnat to ${A}:5353
  }
}
`,
  })
}

const flows = (node: Netns) => node.run('conntrack', ['-L', '-p', 'udp'], {}).split('\n').filter((l) => l.includes('dport=53 '))
const flowTo = (node: Netns, vip: string, backend: string) => flows(node).filter((l) => l.includes(`dst=${vip} `) && l.includes(`src=${backend} `))

function intent(endpoint: string): PortIntent {
  return {
    key: 'kube-system/dns:dns:udp:4', service: 'kube-system/dns', portName: 'dns', family: 4, protocol: 'udp',
    clusterIP: VIP, port: 53, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [{ ip: endpoint, port: 5353, local: true }], localEndpoints: [{ ip: endpoint, port: 5353, local: true }], hasAnyEndpoints: true,
  }
}

t.test('an endpoint that left: its UDP flows are deleted, exactly them, and the client moves to the new backend', async (t) => {
  const client = makeNetns('ctc'), node = makeNetns('ctn'), backends = makeNetns('ctb')
  t.teardown(() => { client.destroy(); node.destroy(); backends.destroy() })
  linkNamespaces(client, '10.0.1.2/24', node, '10.0.1.1/24', 'cc')
  const { bIf } = linkNamespaces(node, '10.0.2.1/24', backends, `${A}/24`, 'cb')
  backends.run('ip', ['addr', 'add', `${B}/24`, 'dev', bIf])
  client.run('ip', ['route', 'add', 'default', 'via', '10.0.1.1'])
  backends.run('ip', ['route', 'add', 'default', 'via', '10.0.2.1'])
  node.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1'])
  await serveUdp(backends, A, 'A')
  await serveUdp(backends, B, 'B')

  dnat(node, A)
  t.equal(ask(client, VIP, 40000), 'A')
  t.equal(ask(client, OTHER_VIP, 40001), 'A')
  t.equal(flowTo(node, VIP, A).length, 1, 'conntrack -L shows the flow to the VIP, DNATed to A')
  t.equal(flowTo(node, OTHER_VIP, A).length, 1, 'and the unrelated flow')

  // "A removed": the rule moves to B, but the live flow keeps its DNAT to A
  dnat(node, B)
  t.equal(ask(client, VIP, 40000), 'A', 'without clearing, the client on its fixed port still reaches A')

  const filters = staleFlows({ upserted: [intent(B)], removed: [], previous: new Map([['kube-system/dns:dns:udp:4', intent(A)]]) })
  t.same(filters.map((f) => [f.origDst, f.origDstPort, f.replySrc, f.replySrcPort]), [[VIP, 53, A, 5353]])
  const res = await clearStaleFlows(filters, { command: ['nsenter', `--net=${node.path}`, 'conntrack'] })
  t.same({ calls: res.calls, deleted: res.deleted, errors: res.errors.map((e) => e.message) }, { calls: 1, deleted: 1, errors: [] })

  t.same(flowTo(node, VIP, A), [], 'the stale flow is gone')
  t.equal(flowTo(node, OTHER_VIP, A).length, 1, 'the unrelated flow to A stays')
  t.equal(ask(client, VIP, 40000), 'B', 'the next datagram reaches B')
  t.equal(flowTo(node, VIP, B).length, 1)

  // clearing again finds nothing: conntrack's "0 flow entries" exit is not an error
  const again = await clearStaleFlows(filters, { command: ['nsenter', `--net=${node.path}`, 'conntrack'] })
  t.same({ deleted: again.deleted, errors: again.errors.length }, { deleted: 0, errors: 0 })
})
