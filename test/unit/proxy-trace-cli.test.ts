import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Node } from '../../src/cluster/model.ts'
import type { ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import type { PortIntent, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { nodeFacts, parseDestination, parseTraceFlags, type RawTraceFlags } from '../../src/proxy/trace/flags.ts'
import { listOnce, runTrace, type PlannerFactory, type TraceArgs } from '../../src/cli/trace.ts'
import { writeUnreachableKubeconfig } from '../lib/cni.ts'

const raw = (o: Partial<RawTraceFlags> = {}): RawTraceFlags => ({ from: '10.244.1.5', to: '10.96.0.10:80/tcp', 'node-name': 'node-1', ...o })

t.test('flags: --to forms, defaults, canonical addresses', async (t) => {
  t.same(parseDestination('10.96.0.10:53/udp'), { to: '10.96.0.10', port: 53, protocol: 'udp' })
  t.same(parseDestination('10.96.0.10:80'), { to: '10.96.0.10', port: 80, protocol: 'tcp' })
  t.same(parseDestination('[FD00:10:96::A]:443/TCP'), { to: 'fd00:10:96::a', port: 443, protocol: 'tcp' })
  t.same(parseDestination('10.96.0.10:65535/sctp').port, 65535)
  const f = parseTraceFlags(raw())
  t.same(f.packet, { from: '10.244.1.5', to: '10.96.0.10', port: 80, protocol: 'tcp' })
  t.same([f.nodeName, f.clusterCIDRs, f.masqueradeAll, f.nodePortAddresses], ['node-1', [], false, { kind: 'primary' }], 'the agent\'s default')
  const g = parseTraceFlags(raw({ 'cluster-cidr': '10.244.0.0/16, fd00:10:244::/56', 'masquerade-all': true, 'nodeport-addresses': ' primary ' }))
  t.same([g.clusterCIDRs.length, g.masqueradeAll, g.nodePortAddresses], [2, true, { kind: 'primary' }])
  const c = parseTraceFlags(raw({ 'nodeport-addresses': '172.18.0.0/24' })).nodePortAddresses
  t.equal(c.kind === 'cidrs' && c.cidrs.length, 1)
})

t.test('malformed flags: the flag, the value and why, with a code', async (t) => {
  const cases: [Partial<RawTraceFlags>, string, string][] = [
    [{ from: '10.244.1.05' }, 'INVALID_FROM', '--from: "10.244.1.05" must not have leading 0s'],
    [{ to: 'fd00::1:80' }, 'INVALID_TO', '--to: "fd00::1:80": write an IPv6 address in brackets, e.g. [fd00::10]:80/tcp'],
    [{ to: '10.96.0.10' }, 'INVALID_TO', '--to: "10.96.0.10" is not IP:PORT/PROTO (an IPv6 address in brackets: [fd00::10]:53/udp)'],
    [{ to: '10.96.0.10:0' }, 'INVALID_TO', '--to: port "0" is not 1..65535'],
    [{ to: '10.96.0.10:080' }, 'INVALID_TO', '--to: port "080" is not 1..65535'],
    [{ to: '10.96.0.10:65536' }, 'INVALID_TO', '--to: port "65536" is not 1..65535'],
    [{ to: '10.96.0.10:80/icmp' }, 'INVALID_TO', '--to: protocol "icmp" is not tcp, udp or sctp'],
    [{ to: 'web:80' }, 'INVALID_TO', '--to: "web" must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
    [{ to: '[fd00::1]:80' }, 'INVALID_FROM', '--from: 10.244.1.5 and --to fd00::1 are not of one IP family'],
    [{ 'node-name': 'Node_1' }, 'INVALID_NODE_NAME', '--node-name: "Node_1" is not a DNS-1123 subdomain'],
    [{ 'node-name': 'a'.repeat(254) }, 'INVALID_NODE_NAME', `--node-name: "${'a'.repeat(254)}" is not a DNS-1123 subdomain`],
    [{ 'cluster-cidr': '10.244.0.1/16' }, 'INVALID_CLUSTER_CIDR', '--cluster-cidr: "10.244.0.1/16" must not have bits set beyond the prefix length (did you mean 10.244.0.0/16?)'],
    [{ 'cluster-cidr': '10.244.0.0/16,' }, 'INVALID_CLUSTER_CIDR', '--cluster-cidr: "" must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    [{ 'nodeport-addresses': 'eth0' }, 'INVALID_NODEPORT_ADDRESSES', '--nodeport-addresses: "eth0" must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
  ]
  for (const [o, code, msg] of cases) {
    try {
      parseTraceFlags(raw(o))
      t.fail(`no error for ${JSON.stringify(o)}`)
    } catch (e) {
      t.same([(e as { code: string }).code, (e as Error).message], [code, msg])
    }
  }
})

const node: Node = { name: 'node-1', podCIDRs: ['10.244.1.0/24'], internalIPs: ['172.18.0.2', '172.18.0.9', 'fc00::2'], externalIPs: ['192.0.2.2'], ready: true, zone: null, annotations: {} }

t.test('node facts: families from the node, --nodeport-addresses resolved to node addresses', async (t) => {
  const f = nodeFacts(parseTraceFlags(raw({ 'cluster-cidr': '10.244.0.0/16,fd00:10:244::/56', 'masquerade-all': true })), node)
  t.same(f.localAddresses, ['172.18.0.2', '172.18.0.9', 'fc00::2', '192.0.2.2'])
  t.same(f.plannerConfig, {
    nodeName: 'node-1', masqueradeAll: true,
    families: [
      { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: ['172.18.0.2', '172.18.0.9'] },
      { family: 6, clusterCIDRs: ['fd00:10:244::/56'], nodePortAddresses: ['fc00::2'] },
    ],
  })
  const primary = nodeFacts(parseTraceFlags(raw({ 'nodeport-addresses': 'primary' })), node).plannerConfig.families
  t.same(primary.map((x) => x.nodePortAddresses), [['172.18.0.2', '172.18.0.9'], ['fc00::2']], 'every InternalIP of the family, as the agent')
  const all = nodeFacts(parseTraceFlags(raw({ 'nodeport-addresses': '0.0.0.0/0' })), node).plannerConfig.families
  t.same(all.map((x) => x.nodePortAddresses), ['local', []])
  const cidrs = nodeFacts(parseTraceFlags(raw({ 'nodeport-addresses': '172.18.0.8/29,192.0.2.0/24' })), node).plannerConfig.families
  t.same(cidrs.map((x) => x.nodePortAddresses), [['172.18.0.9', '192.0.2.2'], []])
  // a node without addresses still plans the packet's family
  const bare = nodeFacts(parseTraceFlags(raw({ from: 'fd00::5', to: '[fd00::a]:80' })), { ...node, internalIPs: [], externalIPs: [] })
  t.same([bare.localAddresses, bare.plannerConfig.families.map((x) => x.family)], [[], [6]])
})

function webIntent(): PortIntent {
  return {
    key: 'default/web:http:tcp:4', service: 'default/web', portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: 30080, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [{ ip: '10.244.1.7', port: 8080, local: true }, { ip: '10.244.2.9', port: 8080, local: false }],
    localEndpoints: [{ ip: '10.244.1.7', port: 8080, local: true }], hasAnyEndpoints: true,
  }
}

const snapshot: ClusterSnapshot = { services: new Map(), endpointSlicesByService: new Map(), nodes: new Map([['node-1', node]]) }

function harness(o: { planner?: PlannerFactory; load?: () => Promise<ClusterSnapshot> } = {}) {
  const out: string[] = [], err: string[] = [], configs: unknown[] = []
  // a stand-in for ProxyPlanner: the plan it would build for one Service, with the globals it was given
  const planner: PlannerFactory = o.planner ?? ((config) => {
    configs.push(config)
    return { full: (): ProxyPlan => ({ globals: config, intents: new Map([['default/web:http:tcp:4', webIntent()]]) }) }
  })
  const run = (args: Partial<TraceArgs>) => runTrace({ ...raw(), ...args }, { loadSnapshot: o.load ?? (async () => snapshot), newPlanner: planner, out: (s) => out.push(s), err: (s) => err.push(s) })
  return { run, out, err, configs }
}

t.test('runTrace: plans for the node and prints the steps and the verdict', async (t) => {
  const h = harness()
  t.equal(await h.run({ 'cluster-cidr': '10.244.0.0/16' }), 0)
  t.same(h.err, [])
  t.match(h.out.join(''), /^frontend: 10\.96\.0\.10:80\/tcp is the clusterIP of default\/web/)
  t.match(h.out.join(''), /\n10\.96\.0\.10:80\/tcp from 10\.244\.1\.5 => one of \{10\.244\.1\.7:8080, 10\.244\.2\.9:8080\}\n$/)
  t.same((h.configs[0] as { families: unknown[] }).families[0], { family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: ['172.18.0.2', '172.18.0.9'] })
  // the node's addresses are the NodePort frontends and "the node itself"
  const np = harness()
  t.equal(await np.run({ from: '172.18.0.100', to: '192.0.2.2:30080/tcp', json: true, 'nodeport-addresses': '0.0.0.0/0' }), 0)
  const j = JSON.parse(np.out.join(''))
  t.same([j.frontend.kind, j.line], ['node-port', '192.0.2.2:30080/tcp from 172.18.0.100 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq'])
})

t.test('runTrace: exit 2 for bad flags or an unknown node, 1 when the API or the plan fails', async (t) => {
  const bad = harness()
  t.equal(await bad.run({ to: '10.96.0.10:99999' }), 2)
  t.same(bad.err, ['pontoon trace: --to: port "99999" is not 1..65535 (INVALID_TO)\n'])
  t.same(bad.out, [])
  const unknown = harness()
  t.equal(await unknown.run({ 'node-name': 'node-7' }), 2)
  t.same(unknown.err, ['pontoon trace: --node-name: no Node "node-7" in the cluster (INVALID_NODE_NAME)\n'])
  const api = harness({ load: async () => { throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) } })
  t.equal(await api.run({}), 1)
  t.same(api.err, ['pontoon trace: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)\n'])
  const cfg = harness({ planner: () => { throw Object.assign(new Error('proxy planner config: families[0].clusterCIDRs[0]: bad'), { code: 'PLAN_CONFIG_CLUSTER_CIDR' }) } })
  t.equal(await cfg.run({}), 2)
  t.same(cfg.err, ['pontoon trace: proxy planner config: families[0].clusterCIDRs[0]: bad (PLAN_CONFIG_CLUSTER_CIDR)\n'])
  const broken = harness({ planner: () => ({ full: () => { throw new Error('boom') } }) })
  t.equal(await broken.run({}), 1)
  t.same(broken.err, ['pontoon trace: boom (ERROR)\n'])
})

t.test('listOnce: an API that never answers is an error naming the last failure, after the deadline', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-trace-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = writeUnreachableKubeconfig(join(dir, 'kubeconfig'))
  await t.rejects(listOnce(file, 300), { message: /^the API did not list Services, EndpointSlices and Nodes within 0\.3 s/ })
  await t.rejects(listOnce(join(dir, 'missing')), { code: /KUBECONFIG/ })
})
