import t from 'tap'
import { createHash } from 'node:crypto'
import { checkPrefix, isLabNetns, labTopology, LabConfigError } from '../../src/lab/topology.ts'
import { agentArgs, apiArgs, dnsArgs, inNode, kubeletArgs, labPaths } from '../../src/lab/commands.ts'
import { podNetnsName } from '../../src/lab/pod-netns.ts'
import { fixedTarget } from '../../src/lab/exec.ts'

t.test('the contract topology: names and addresses', async (t) => {
  const topo = labTopology('plab', 3)
  t.same(topo.wire, { netns: 'plab-wire', bridge: 'br0', ip: '172.18.0.1', prefixLen: 24 })
  t.same(topo.nodes.map((n) => [n.name, n.netns, n.ip, n.wirePeer, n.podNetnsPrefix]), [
    ['node-1', 'plab-node-1', '172.18.0.11', 'vn1', 'plab-n1'],
    ['node-2', 'plab-node-2', '172.18.0.12', 'vn2', 'plab-n2'],
    ['node-3', 'plab-node-3', '172.18.0.13', 'vn3', 'plab-n3'],
  ])
  t.same(topo.outside, { netns: 'plab-outside', ip: '172.18.0.200', wirePeer: 'vout' })
  t.same(topo.api, { host: '172.18.0.1', port: 6443 })
  t.equal(labTopology('plab', 100).nodes.at(-1)!.ip, '172.18.0.110', 'the largest lab stays below the outside client')
})

t.test('bad prefix or node count: a precise error', async (t) => {
  for (const bad of ['', 'Plab', 'p_lab', '-plab', 'plab-', 'a'.repeat(33), 'p/x', 'p lab']) {
    t.throws(() => checkPrefix(bad), { code: 'EPREFIX' }, JSON.stringify(bad))
  }
  t.equal(checkPrefix('pt1a2b-l'), 'pt1a2b-l')
  t.equal(checkPrefix('a'.repeat(32)), 'a'.repeat(32))
  for (const n of [0, -1, 1.5, 101, Number.NaN]) t.throws(() => labTopology('plab', n), { code: 'ENODES' }, String(n))
  t.type(labTopology('plab', 1), 'object')
  const e = (() => { try { labTopology('plab', 0) } catch (x) { return x } })()
  t.ok(e instanceof LabConfigError)
})

t.test('a lab sweeps its own namespaces only, not a lab whose prefix extends its own', async (t) => {
  for (const mine of ['plab-wire', 'plab-outside', 'plab-node-1', 'plab-node-12', 'plab-n3-p0a1b2c3d']) t.ok(isLabNetns('plab', mine), mine)
  for (const other of ['plab', 'plab2-wire', 'plab-2-wire', 'plab-x-node-1', 'xplab-wire', 'plab-node-0', 'plab-node-', 'plab-n1-pZZ', 'plab-n1-p0a1b2c3', 'plab-wire2', 'pt12-1234-node1']) {
    t.notOk(isLabNetns('plab', other), other)
  }
})

t.test('command lines follow the contracts', async (t) => {
  const topo = labTopology('plab', 2)
  const p = labPaths('/var/lib/pontoon-lab', topo)
  t.equal(p.kubeconfig, '/var/lib/pontoon-lab/api/kubeconfig')
  t.equal(p.nodeKubeconfig, '/var/lib/pontoon-lab/api/kubeconfig-172.18.0.1')
  t.equal(p.log('agent', 'node-2'), '/var/lib/pontoon-lab/logs/agent-node-2.log')
  t.equal(p.log('api'), '/var/lib/pontoon-lab/logs/api.log')
  t.same(apiArgs(topo, p, 40000), ['api', '--data-dir', '/var/lib/pontoon-lab/api', '--listen', '127.0.0.1:40000',
    '--listen', '172.18.0.1:6443@/run/netns/plab-wire', '--service-cidr', '10.96.0.0/16', '--cluster-cidr', '10.244.0.0/16', '--scheduler'])
  const n2 = topo.nodes[1]!
  const a = agentArgs(n2, p, 'iptables', 'vxlan')
  const flag = (args: string[], f: string) => args[args.indexOf(f) + 1]
  t.equal(flag(a, '--node-name'), 'node-2')
  t.equal(flag(a, '--kubeconfig'), p.nodeKubeconfig, 'agents reach the API in the wire namespace')
  t.equal(flag(a, '--proxy-mode'), 'iptables')
  t.equal(flag(a, '--overlay'), 'vxlan')
  t.equal(flag(a, '--iface-cidr'), '172.18.0.0/24')
  t.equal(flag(a, '--cluster-cidr'), '10.244.0.0/16')
  t.equal(flag(a, '--cni-socket'), '/var/lib/pontoon-lab/nodes/node-2/cni.sock')
  t.equal(flag(a, '--cni-conf-dir'), '/var/lib/pontoon-lab/nodes/node-2/net.d')
  t.equal(flag(a, '--cni-ipam-data-dir'), '/var/lib/pontoon-lab/nodes/node-2/ipam', 'IPAM reservations stay inside the state dir')
  t.equal(flag(a, '--cni-mtu'), '1450', 'vxlan: underlay - 50')
  t.equal(flag(agentArgs(n2, p, 'nftables', 'host-gw'), '--cni-mtu'), '1500')
  const k = kubeletArgs(n2, p, '/opt/bin:/usr/lib/cni')
  t.equal(flag(k, '--cni-conf-dir'), flag(a, '--cni-conf-dir'), 'the kubelet reads the conflist the agent writes')
  t.equal(flag(k, '--netns-prefix'), 'plab-n2')
  t.equal(flag(k, '--state-dir'), '/var/lib/pontoon-lab/nodes/node-2/kubelet')
  t.equal(flag(k, '--cni-bin-dir'), '/opt/bin:/usr/lib/cni')
  t.equal(flag(k, '--cluster-dns'), '10.96.0.10', "pods' resolv.conf names kube-dns's ClusterIP")
  t.equal(flag(k, '--cluster-domain'), 'cluster.local')
  const d = dnsArgs(n2, p)
  t.equal(d[0], 'dns')
  t.equal(flag(d, '--listen'), '172.18.0.12:53', "on the node's address: kube-dns's endpoint")
  t.equal(flag(d, '--metrics-bind-address'), '127.0.0.1:9153', "metrics only on the node's loopback")
  t.equal(flag(d, '--kubeconfig'), flag(k, '--kubeconfig'))
  t.equal(flag(d, '--cluster-domain'), 'cluster.local')
  t.same(inNode(n2, '/x/pontoon', ['agent']), { cmd: 'nsenter', args: ['--net=/run/netns/plab-node-2', '--', '/x/pontoon', 'agent'] })
})

t.test("a pod's namespace: the node's prefix and sha256 of its uid", async (t) => {
  const topo = labTopology('plab', 3)
  const uid = '6f1c1b9e-0000-4000-8000-000000000001'
  const h = createHash('sha256').update(uid).digest('hex').slice(0, 8)
  t.equal(podNetnsName(topo, 'node-3', uid), `plab-n3-p${h}`)
  t.ok(isLabNetns('plab', podNetnsName(topo, 'node-3', uid)), 'and the sweep knows it')
  t.throws(() => podNetnsName(topo, undefined, uid), { code: 'EPOD_UNBOUND' })
  t.throws(() => podNetnsName(topo, 'node-3', undefined), { code: 'EPOD_NO_UID' })
  t.throws(() => podNetnsName(topo, 'node-9', uid), { code: 'EPOD_NODE' })
})

t.test('exec targets: outside, wire and nodes by name', async (t) => {
  const topo = labTopology('plab', 2)
  t.equal(fixedTarget(topo, 'outside'), 'plab-outside')
  t.equal(fixedTarget(topo, 'wire'), 'plab-wire')
  t.equal(fixedTarget(topo, 'node-2'), 'plab-node-2')
  t.throws(() => fixedTarget(topo, 'node-3'), { code: 'ENONODE' })
  t.equal(fixedTarget(topo, 'client'), undefined, 'a pod: resolved through the API')
})

t.test('what mutation testing found unpinned: one-letter prefix, messages, the error name', async (t) => {
  t.equal(checkPrefix('a'), 'a')
  t.throws(() => checkPrefix('A'), { name: 'LabConfigError', message: '--prefix "A" must be 1-32 characters of a-z, 0-9 and "-", starting and ending with a letter or digit' })
  t.throws(() => labTopology('plab', 0), { message: '--nodes must be an integer from 1 to 100 (got 0)' })
})
