// plannerConfig: the planner's node facts, checked, in canonical form.
import t from 'tap'
import { PlanConfigError, plannerConfig, type PlanConfigErrorCode } from '../../src/proxy/plan/config.ts'
import { ProxyPlanner } from '../../src/proxy/plan/planner.ts'
import { dualConfig, THIS_NODE } from '../lib/proxy-fixtures.ts'

function refused(input: unknown): { code: PlanConfigErrorCode; field: string; message: string; cause: unknown } {
  try {
    plannerConfig(input)
  } catch (e) {
    if (e instanceof PlanConfigError) return { code: e.code, field: e.field, message: e.message, cause: e.cause }
    throw e
  }
  throw new Error(`accepted ${JSON.stringify(input)}`)
}

t.test('a dual-stack config comes back canonical, masqueradeAll defaulting to false', async (t) => {
  const g = plannerConfig({
    nodeName: 'node-a.example',
    families: [
      { family: 6, clusterCIDRs: ['FD00:10:244:0:0:0:0:0/48', 'fd00:10:244::/48'], nodePortAddresses: ['2001:DB8::1', '2001:db8::1'] },
      { family: 4, nodePortAddresses: 'local' },
    ],
  })
  t.same(g, {
    nodeName: 'node-a.example',
    masqueradeAll: false,
    families: [
      { family: 6, clusterCIDRs: ['fd00:10:244::/48'], nodePortAddresses: ['2001:db8::1'] },
      { family: 4, clusterCIDRs: [], nodePortAddresses: 'local' },
    ],
  })
  t.equal(plannerConfig({ ...dualConfig(), masqueradeAll: true }).masqueradeAll, true)
  t.same(plannerConfig({ nodeName: THIS_NODE, families: [{ family: 4, nodePortAddresses: [] }] }).families[0]!.nodePortAddresses, [],
    'no NodePort address of this family is allowed')
})

t.test('the planner checks its config', async (t) => {
  t.throws(() => new ProxyPlanner({ nodeName: '', families: [] }), { code: 'PLAN_CONFIG_NODE_NAME' })
  const p = new ProxyPlanner(dualConfig())
  t.equal(p.globals.nodeName, THIS_NODE)
  t.ok(Object.isFrozen(p.globals))
})

t.test('bad shapes', async (t) => {
  t.match(refused(null), { code: 'PLAN_CONFIG_SHAPE', field: '(config)' })
  t.match(refused([]), { code: 'PLAN_CONFIG_SHAPE', field: '(config)' })
  t.match(refused({ nodeName: 7, families: [] }), { code: 'PLAN_CONFIG_SHAPE', field: 'nodeName', message: 'proxy planner config: nodeName: must be a string' })
  t.match(refused({ nodeName: THIS_NODE, masqueradeAll: 'yes', families: [] }),
    { code: 'PLAN_CONFIG_SHAPE', field: 'masqueradeAll', message: 'proxy planner config: masqueradeAll: must be a boolean' })
  t.match(refused({ nodeName: THIS_NODE, families: 4 }), { code: 'PLAN_CONFIG_SHAPE', field: 'families', message: /families: must be a list/ })
  t.match(refused({ nodeName: THIS_NODE, families: ['x'] }), { code: 'PLAN_CONFIG_SHAPE', field: 'families[0]', message: 'proxy planner config: families[0]: must be an object' })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: 4, clusterCIDRs: '10.0.0.0/8', nodePortAddresses: 'local' }] }),
    { code: 'PLAN_CONFIG_SHAPE', field: 'families[0].clusterCIDRs', message: 'proxy planner config: families[0].clusterCIDRs: must be a list' })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: 4, nodePortAddresses: 'all' }] }),
    { code: 'PLAN_CONFIG_SHAPE', field: 'families[0].nodePortAddresses', message: /'local' or a list/ })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: 4 }] }), { code: 'PLAN_CONFIG_SHAPE', field: 'families[0].nodePortAddresses' })
})

t.test('node names', async (t) => {
  for (const bad of ['', 'Node-A', '-a', 'a-', 'a..b', 'a_b', 'a'.repeat(254)]) {
    t.match(refused({ nodeName: bad, families: [{ family: 4, nodePortAddresses: 'local' }] }), { code: 'PLAN_CONFIG_NODE_NAME', field: 'nodeName' }, JSON.stringify(bad))
  }
  for (const good of ['a', '0', 'node-1', 'n.example.com', 'node.a', 'a.b.c', 'a'.repeat(63)]) {
    t.equal(plannerConfig({ nodeName: good, families: [{ family: 4, nodePortAddresses: 'local' }] }).nodeName, good)
  }
  t.equal(plannerConfig({ nodeName: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, families: [{ family: 4, nodePortAddresses: 'local' }] }).nodeName.length, 253)
  t.match(refused({ nodeName: 'Bad', families: [] }), { message: 'proxy planner config: nodeName: "Bad" is not a node name (a DNS-1123 subdomain)' })
})

t.test('families: at least one, 4 or 6, each once', async (t) => {
  t.match(refused({ nodeName: THIS_NODE, families: [] }),
    { code: 'PLAN_CONFIG_FAMILY', field: 'families', message: 'proxy planner config: families: the node must run at least one IP family' })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: 5, nodePortAddresses: 'local' }] }),
    { code: 'PLAN_CONFIG_FAMILY', field: 'families[0].family', message: /must be 4 or 6, not 5/ })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: '4', nodePortAddresses: 'local' }] }), { code: 'PLAN_CONFIG_FAMILY' })
  t.match(refused({ nodeName: THIS_NODE, families: [{ family: 6, nodePortAddresses: 'local' }, { family: 6, nodePortAddresses: 'local' }] }),
    { code: 'PLAN_CONFIG_FAMILY', field: 'families[1].family', message: /IPv6 is given twice/ })
})

t.test('cluster CIDRs: subnets of their family, with the address error as cause', async (t) => {
  const cidr = (family: 4 | 6, clusterCIDRs: unknown[]) => refused({ nodeName: THIS_NODE, families: [{ family, clusterCIDRs, nodePortAddresses: 'local' }] })
  const r = cidr(4, ['10.244.0.0/16', '10.244.0.1/16'])
  t.match(r, { code: 'PLAN_CONFIG_CLUSTER_CIDR', field: 'families[0].clusterCIDRs[1]', message: /"10.244.0.1\/16" must not have bits set/ })
  t.match(r.cause, { code: 'ECIDR_HOST_BITS' })
  t.match(cidr(4, ['10.244.0.0']), { code: 'PLAN_CONFIG_CLUSTER_CIDR', message: /must be a valid CIDR/ })
  t.match(cidr(4, [16]), { code: 'PLAN_CONFIG_CLUSTER_CIDR' })
  t.match(cidr(4, ['fd00::/48']), { code: 'PLAN_CONFIG_CLUSTER_CIDR', message: 'proxy planner config: families[0].clusterCIDRs[0]: fd00::/48 is not an IPv4 CIDR' })
  t.match(cidr(6, ['10.0.0.0/8']), { code: 'PLAN_CONFIG_CLUSTER_CIDR', message: /10.0.0.0\/8 is not an IPv6 CIDR/ })
})

t.test('NodePort addresses: IPs of their family', async (t) => {
  const np = (family: 4 | 6, nodePortAddresses: unknown[]) => refused({ nodeName: THIS_NODE, families: [{ family, nodePortAddresses }] })
  const r = np(4, ['192.168.1.1', '192.168.01.2'])
  t.match(r, { code: 'PLAN_CONFIG_NODEPORT_ADDRESS', field: 'families[0].nodePortAddresses[1]', message: /"192.168.01.2" must not have leading 0s/ })
  t.match(r.cause, { code: 'EADDR_LEADING_ZERO' })
  t.match(np(4, ['10.0.0.0/8']), { code: 'PLAN_CONFIG_NODEPORT_ADDRESS' })
  t.match(np(4, ['2001:db8::1']), { code: 'PLAN_CONFIG_NODEPORT_ADDRESS', message: 'proxy planner config: families[0].nodePortAddresses[0]: 2001:db8::1 is not an IPv4 address' })
  t.match(np(6, ['10.0.0.1']), { code: 'PLAN_CONFIG_NODEPORT_ADDRESS', message: /10.0.0.1 is not an IPv6 address/ })
})

t.test('errors are PlanConfigErrors with a name', async (t) => {
  try {
    plannerConfig(1)
    t.fail('accepted')
  } catch (e) {
    t.ok(e instanceof Error)
    t.equal((e as Error).name, 'PlanConfigError')
    t.equal((e as Error).message, 'proxy planner config: (config): must be an object')
  }
})
