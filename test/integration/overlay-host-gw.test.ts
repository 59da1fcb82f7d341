// host-gw: two node namespaces on one underlay segment, `pontoon agent
// --overlay host-gw` in each. Every remote subnet is a plain route via the
// remote node's underlay address; no vxlan device, no VTEP MAC; pods reach each
// other with their own source addresses.
import t from 'tap'
import { ping, servePeer, tcpAsk } from '../lib/traffic.ts'
import { waitFor } from '../lib/wait.ts'
import { buildOverlayLab, createNode, ipJson, nodeAnnotations, startOverlayAgent, startOverlayApi, type LabNode } from '../lib/overlay-lab.ts'
import { agentTail } from '../lib/proxy-lab.ts'

const lab = buildOverlayLab(t, 2)
const [n1, n2] = lab.nodes as [LabNode, LabNode]
const WAIT = { timeoutMs: 60_000, everyMs: 100 }

t.test('host-gw routes and carries traffic', async (t) => {
  const api = await startOverlayApi(t, lab.wire)
  for (const n of lab.nodes) await createNode(api, n.name, n.podCIDR, n.ip)
  // A vxlan device left from an earlier vxlan run is the overlay's own: host-gw removes it.
  n1.ns.run('ip', ['link', 'add', 'pontoon.1', 'type', 'vxlan', 'id', '1', 'dstport', '8472', 'dev', 'eth0'])
  const agents = lab.nodes.map((n) => startOverlayAgent(t, api, n, 'host-gw'))
  const tail = () => agents.map((a) => agentTail(a, 10)).join('\n')

  for (const n of lab.nodes) {
    const ann = await waitFor(`${n.name}'s annotations`, async () => {
      const a = await nodeAnnotations(api, n.name)
      return a['pontoon.io/backend-type'] ? a : undefined
    }, WAIT).catch((e: Error) => { throw new Error(`${e.message}\n${tail()}`) })
    t.equal(ann['pontoon.io/backend-type'], 'host-gw')
    t.equal(ann['pontoon.io/public-ip'], n.ip)
    t.notOk('pontoon.io/vtep-mac' in ann, 'no VTEP MAC in host-gw mode')
  }
  for (const [n, r] of [[n1, n2], [n2, n1]] as const) {
    const route = await waitFor(`${n.name}'s route to ${r.podCIDR}`, () => ipJson(n.ns, ['route', 'show', r.podCIDR])[0], WAIT)
    t.match(route, { dst: r.podCIDR, gateway: r.ip, dev: 'eth0' }, `${n.name}: ${r.podCIDR} via ${r.ip} dev eth0`)
    t.notOk((route.flags ?? []).includes('onlink'), 'a plain route, not onlink')
  }
  await waitFor('node-1 to drop the leftover vxlan device', () => ipJson(n1.ns, ['link', 'show']).every((l) => l.ifname !== 'pontoon.1'), WAIT)
  t.pass('no vxlan device on node-1')

  const [p1, p2] = [n1.pods[0]!, n2.pods[0]!]
  t.ok(await waitFor('ping across host-gw', () => ping(p1.ns, p2.ip), WAIT), 'ping node-1 pod -> node-2 pod')
  await servePeer(p2.ns, 7100)
  t.equal(await waitFor('TCP across host-gw', () => tcpAsk(p1.ns, p2.ip, 7100), WAIT), p1.ip, 'TCP across host-gw: the server sees the pod IP')

  n1.ns.run('ip', ['route', 'del', n2.podCIDR])
  await waitFor('the deleted route to come back', () => ipJson(n1.ns, ['route', 'show', n2.podCIDR]).length === 1, WAIT)
  t.pass('a host-gw route deleted by hand comes back')
})
