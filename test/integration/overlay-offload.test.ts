// Why the VXLAN device may keep its tx checksum offload when pontoon's own
// service proxy runs (src/overlay/offload.ts): the "63 s delay" needs the
// tunnel's outer UDP packet to be SNATed, and that happens only when the inner
// packet's masquerade mark survives into the encapsulation, where a masquerade
// rule matches it a second time. Every pontoon proxy mode clears the mark as it
// masquerades (as kube-proxy does since 1.19), so the outer packet leaves as it
// was built. Proven here on the path that triggers the bug: outside -> NodePort
// on node-1 -> the only endpoint, a pod on node-2, through the tunnel, with
// offload on. The connection must answer, and node-1's conntrack must show the
// tunnel flow unNATed; a control rule that does SNAT the tunnel shows the
// conntrack check does see it when it happens. The flow check is the proof, not
// the answer: between namespaces a veth hands the receiver a packet whose
// checksum was never filled in (CHECKSUM_PARTIAL) and it is not verified, so a
// wrong one would go unnoticed here (on a real NIC it is dropped).
import t from 'tap'
import { tcpAsk, servePeer } from '../lib/traffic.ts'
import { waitFor } from '../lib/wait.ts'
import { applyObject, SERVICES, SLICES, agentTail } from '../lib/proxy-lab.ts'
import { buildOverlayLab, createNode, entriesFor, nodeAnnotations, startOverlayAgent, startOverlayApi, type LabNode } from '../lib/overlay-lab.ts'
import type { Netns } from '../lib/netns.ts'

const DEV = 'pontoon.1'
const NODE_PORT = 30080
const WAIT = { timeoutMs: 60_000, everyMs: 100 }

interface TunnelFlow { origSport: number; replyDport: number; origSrc: string; replyDst: string }

/** node's conntrack entries for the VXLAN port: the tunnel flows, original and reply tuples. */
function tunnelFlows(ns: Netns): TunnelFlow[] {
  const out = ns.try('conntrack', ['-L', '-p', 'udp', '--dport', '8472']).stdout
  return out.split('\n').filter((l) => l.includes('dport=8472')).map((l) => {
    const src = [...l.matchAll(/src=(\S+)/g)].map((m) => m[1]!)
    const dst = [...l.matchAll(/dst=(\S+)/g)].map((m) => m[1]!)
    const sport = [...l.matchAll(/sport=(\d+)/g)].map((m) => Number(m[1]))
    const dport = [...l.matchAll(/dport=(\d+)/g)].map((m) => Number(m[1]))
    return { origSrc: src[0]!, replyDst: dst[1]!, origSport: sport[0]!, replyDport: dport[1]! }
  })
}

const natted = (f: TunnelFlow) => f.replyDst !== f.origSrc || f.replyDport !== f.origSport

for (const proxyMode of ['nftables', 'iptables']) {
  t.test(`${proxyMode}: NodePort to a pod across the tunnel, tx checksum offload on`, async (t) => {
    const lab = buildOverlayLab(t, 2)
    const [n1, n2] = lab.nodes as [LabNode, LabNode]
    const api = await startOverlayApi(t, lab.wire)
    for (const n of lab.nodes) await createNode(api, n.name, n.podCIDR, n.ip)
    const agents = lab.nodes.map((n) => startOverlayAgent(t, api, n, 'vxlan', { proxyMode, extra: ['--nodeport-addresses', '172.19.0.0/24'] }))
    const tail = () => agents.map((a) => agentTail(a, 15)).join('\n')
    const mac2 = await waitFor('node-2 VTEP MAC', async () => (await nodeAnnotations(api, 'node-2'))['pontoon.io/vtep-mac'], WAIT)
    await waitFor('node-1 entries for node-2', () => { const e = entriesFor(n1.ns, DEV, n2.podCIDR, mac2); return e.neigh && e.route && e.fdb === n2.ip }, WAIT)
      .catch((e: Error) => { throw new Error(`${e.message}\n${tail()}`) })
    for (const n of lab.nodes) t.match(n.ns.run('ethtool', ['-k', DEV]), /^tx-checksumming: on/m, `${n.name}: the default with pontoon's own proxy leaves tx checksum offload on`)

    const pod = n2.pods[0]!
    await servePeer(pod.ns, 8080)
    await applyObject(api, SERVICES, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'far', namespace: 'default' },
      spec: { type: 'NodePort', selector: { app: 'far' }, ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: NODE_PORT, protocol: 'TCP' }] },
    })
    await applyObject(api, SLICES, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: 'far-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'far' } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [{ addresses: [pod.ip], nodeName: 'node-2', conditions: { ready: true, serving: true, terminating: false } }],
    })

    // each ask is a fresh TCP connection with a 2 s connect timeout: a dropped SYN (the bug) cannot pass
    const seen = await waitFor('outside -> node-1 NodePort -> pod on node-2', () => tcpAsk(lab.outside, n1.ip, NODE_PORT), WAIT)
      .catch((e: Error) => { throw new Error(`${e.message}\n${tail()}`) })
    t.equal(seen, '10.244.1.0', 'the pod on node-2 answered and saw node-1\'s tunnel address (the inner packet was masqueraded)')
    for (let i = 0; i < 5; i++) t.equal(tcpAsk(lab.outside, n1.ip, NODE_PORT), '10.244.1.0', `fresh connection ${i + 1} answers within its 2 s connect timeout`)

    const flows = tunnelFlows(n1.ns)
    t.ok(flows.length > 0, `node-1 tracks the tunnel flow to node-2 (${JSON.stringify(flows)})`)
    t.same(flows.filter(natted), [], 'no tunnel flow was SNATed: the outer packets left as the VXLAN device built them')

    t.test('control: a rule that does SNAT the tunnel shows in the same check', async (t) => {
      n1.ns.run('nft', ['add', 'table', 'ip', 'ptctl'])
      t.teardown(() => n1.ns.try('nft', ['delete', 'table', 'ip', 'ptctl']))
      n1.ns.run('nft', ['add', 'chain', 'ip', 'ptctl', 'post', '{ type nat hook postrouting priority 200; }'])
      n1.ns.run('nft', ['add', 'rule', 'ip', 'ptctl', 'post', 'udp', 'dport', '8472', 'masquerade', 'to', ':40000-40100'])
      n1.ns.try('conntrack', ['-D', '-p', 'udp', '--dport', '8472'])
      // the answer (or none) proves nothing here (see the top): the flow check must see the SNAT
      const r = tcpAsk(lab.outside, n1.ip, NODE_PORT)
      t.comment(`with the tunnel SNATed on purpose, a connection ${r === '10.244.1.0' ? 'still answered' : `did not answer (${r})`}`)
      const after = tunnelFlows(n1.ns)
      t.ok(after.some(natted), `the SNATed tunnel flow is seen as such (${JSON.stringify(after)})`)
    })
  })
}
