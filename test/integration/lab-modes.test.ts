// The other proxy and overlay modes carry the same matrix: iptables + host-gw on two nodes.
import t from 'tap'
import { lab, leftovers, newLab, inNs } from '../lib/lab.ts'

t.test('lab up --proxy-mode iptables --overlay host-gw passes the matrix; down leaves nothing', async (t) => {
  const l = newLab('m')
  t.teardown(async () => { await lab(l, ['down']) })
  const r = await lab(l, ['up', '--nodes', '2', '--proxy-mode', 'iptables', '--overlay', 'host-gw'])
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /pod -> pod across nodes \(node-1 -> node-2\).*PASS/)
  t.match(r.stdout, /^7\/7 passed$/m)
  // host-gw: the route to node-2's pods goes straight via node-2's address, no VXLAN device
  const routes = inNs(`${l.prefix}-node-1`, 'ip', ['route'])
  t.match(routes, /10\.244\.\d+\.0\/24 via 172\.18\.0\.12 dev eth0/)
  t.notMatch(inNs(`${l.prefix}-node-1`, 'ip', ['-d', 'link']), /vxlan id/)
  t.match(inNs(`${l.prefix}-node-1`, 'iptables-save', []), /KUBE-SERVICES/, 'iptables mode wrote kube-proxy chains')
  const down = await lab(l, ['down'])
  t.equal(down.status, 0, down.stderr)
  t.same(leftovers(l), [])
})
