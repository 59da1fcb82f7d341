// ProxyPlanner: full plans, and incremental updates whose delta is exactly what changed.
import t from 'tap'
import type { EndpointSlice, Node, Service } from '../../src/cluster/model.ts'
import type { ClusterSnapshot } from '../../src/cluster/snapshot.ts'
import type { PlanDelta, ProxyPlan } from '../../src/proxy/plan/intent.ts'
import { ProxyPlanner } from '../../src/proxy/plan/planner.ts'
import {
  change, changes, dualConfig, makeEndpoint, makeNode, makePort, makeService, makeSlice, NODES, slicePort, snapshotOf, THIS_NODE, v4, v4Config, v6,
} from '../lib/proxy-fixtures.ts'

const web = makeService('default', 'web', (s) => { s.ports = [makePort('http', 80), makePort('metrics', 9090)] })
const db = makeService('default', 'db', (s) => { s.clusterIPs = [v4.clusterIP(2)]; s.ports = [makePort('', 5432)] })
const dns = makeService('kube-system', 'dns', (s) => {
  s.clusterIPs = [v4.clusterIP(10)]
  s.ports = [makePort('dns', 53, { protocol: 'UDP' })]
})

function webSlice(name: string, endpoints = [makeEndpoint(v4.pod('node-a', 5), THIS_NODE)], edit: (s: EndpointSlice) => void = () => {}) {
  return makeSlice('default', name, 'web', (s) => {
    s.ports = [slicePort('http', 8080), slicePort('metrics', 9090)]
    s.endpoints = endpoints
    edit(s)
  })
}
const dbSlice = makeSlice('default', 'db-1', 'db', (s) => {
  s.ports = [slicePort('', 5432)]
  s.endpoints = [makeEndpoint(v4.pod('node-b', 7), 'node-b')]
})

const keys = (plan: ProxyPlan) => [...plan.intents.keys()].sort()
const summary = (d: PlanDelta) => ({
  upserted: d.upserted.map((i) => i.key).sort(),
  removed: d.removed.map((i) => i.key).sort(),
  previous: [...d.previous.keys()].sort(),
})
const NOTHING = { upserted: [], removed: [], previous: [] }

/** A snapshot whose whole-collection walks throw: update() may only look objects up. */
function noWalks(s: ClusterSnapshot): ClusterSnapshot {
  const guard = <K, V>(m: ReadonlyMap<K, V>, what: string): ReadonlyMap<K, V> => new Proxy(m, {
    get(target, prop) {
      if (prop === 'get' || prop === 'has') return (k: K) => (target as Map<K, V>)[prop](k)
      if (prop === 'size') return target.size
      throw new Error(`update() walked ${what} (${String(prop)})`)
    },
  })
  return { services: guard(s.services, 'services'), endpointSlicesByService: guard(s.endpointSlicesByService, 'slices'), nodes: guard(s.nodes, 'nodes') }
}

t.test('full: every port of every Service, the globals, frozen', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const plan = p.full(snapshotOf([web, db, dns], [webSlice('web-1'), dbSlice]))
  t.same(keys(plan), ['default/db::tcp:4', 'default/web:http:tcp:4', 'default/web:metrics:tcp:4', 'kube-system/dns:dns:udp:4'])
  t.equal(plan.intents.size, 4)
  t.equal(plan.globals, p.globals)
  t.equal(p.plan, plan)
  t.ok(Object.isFrozen(plan))
  t.same(plan.intents.get('default/web:http:tcp:4')!.clusterEndpoints, [{ ip: '10.244.1.5', port: 8080, local: true }])
  t.same(plan.intents.get('default/db::tcp:4')!.clusterEndpoints, [{ ip: '10.244.2.7', port: 5432, local: false }])
  t.equal(plan.intents.get('kube-system/dns:dns:udp:4')!.hasAnyEndpoints, false)
})

t.test('full: the same content gives the same plan, in the same order, whatever the snapshot order', async (t) => {
  const a = new ProxyPlanner(v4Config()).full(snapshotOf([web, db, dns], [webSlice('web-1'), dbSlice]))
  const b = new ProxyPlanner(v4Config()).full(snapshotOf([dns, db, web], [dbSlice, webSlice('web-1')]))
  t.same([...a.intents.entries()], [...b.intents.entries()])
})

t.test('full: dual-stack Services on a dual-stack node', async (t) => {
  const svc = makeService('default', 'web', (s) => { s.clusterIPs = [v4.clusterIP(1), v6.clusterIP(1)] })
  t.same(keys(new ProxyPlanner(dualConfig()).full(snapshotOf([svc]))), ['default/web::tcp:4', 'default/web::tcp:6'])
})

t.test('full again replaces the plan and the indexes', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([web, db]))
  p.full(snapshotOf([db]))
  const { delta } = p.update(snapshotOf([db, web]), changes({ services: [change(undefined, web)] }))
  t.same(summary(delta), { upserted: ['default/web:http:tcp:4', 'default/web:metrics:tcp:4'], removed: [], previous: [] })
})

t.test('update without an earlier plan: a full plan whose delta upserts everything', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const { plan, delta } = p.update(snapshotOf([web, db]), changes({}))
  t.same(keys(plan), ['default/db::tcp:4', 'default/web:http:tcp:4', 'default/web:metrics:tcp:4'])
  t.same(summary(delta), { upserted: keys(plan), removed: [], previous: [] })
})

t.test('an endpoint added: only the intents whose endpoints changed, with their previous versions', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const s1 = webSlice('web-1')
  const before = p.full(snapshotOf([web, db], [s1, dbSlice]))
  // the new endpoint's slice lists only the http port: metrics stays as it was
  const s2 = webSlice('web-2', [makeEndpoint(v4.pod('node-b', 9), 'node-b')], (s) => { s.ports = [slicePort('http', 8080)] })
  const { plan, delta } = p.update(noWalks(snapshotOf([web, db], [s1, s2, dbSlice])), changes({ endpointSlices: [change(undefined, s2)] }))
  t.same(summary(delta), { upserted: ['default/web:http:tcp:4'], removed: [], previous: ['default/web:http:tcp:4'] })
  t.same(delta.upserted[0]!.clusterEndpoints.map((e) => e.ip), ['10.244.1.5', '10.244.2.9'])
  t.equal(delta.previous.get('default/web:http:tcp:4'), before.intents.get('default/web:http:tcp:4'))
  t.equal(plan.intents.get('default/web:http:tcp:4'), delta.upserted[0])
  t.equal(plan.intents.get('default/web:metrics:tcp:4'), before.intents.get('default/web:metrics:tcp:4'), 'an unchanged intent is the same object')
  t.equal(plan.intents.size, 3)
  t.equal(p.plan, plan)
})

t.test('the plan handed out never changes', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const before = p.full(snapshotOf([web, db], [webSlice('web-1'), dbSlice]))
  const entries = [...before.intents.entries()]
  p.update(snapshotOf([web], [webSlice('web-1', [])]), changes({
    services: [change(db, undefined)],
    endpointSlices: [change(webSlice('web-1'), webSlice('web-1', []))],
  }))
  t.same([...before.intents.entries()], entries)
  t.equal(before.intents.size, 3)
})

t.test('a Service deleted: its intents removed, as they were', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const before = p.full(snapshotOf([web, db], [webSlice('web-1'), dbSlice]))
  const { plan, delta } = p.update(noWalks(snapshotOf([web], [webSlice('web-1'), dbSlice])), changes({ services: [change(db, undefined)] }))
  t.same(summary(delta), { upserted: [], removed: ['default/db::tcp:4'], previous: [] })
  t.equal(delta.removed[0], before.intents.get('default/db::tcp:4'))
  t.same(keys(plan), ['default/web:http:tcp:4', 'default/web:metrics:tcp:4'])
})

t.test('a Service deleted and created again with fewer ports: nothing removed twice', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([web]))
  p.update(snapshotOf([]), changes({ services: [change(web, undefined)] }))
  const small = makeService('default', 'web', (s) => { s.ports = [makePort('http', 80)] })
  const { delta } = p.update(snapshotOf([small]), changes({ services: [change(undefined, small)] }))
  t.same(summary(delta), { upserted: ['default/web:http:tcp:4'], removed: [], previous: [] })
})

t.test('a port removed and one changed: one removal, one upsert', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([web, db]))
  const web2 = makeService('default', 'web', (s) => { s.ports = [makePort('http', 8000)] })
  const { plan, delta } = p.update(snapshotOf([web2, db]), changes({ services: [change(web, web2)] }))
  t.same(summary(delta), { upserted: ['default/web:http:tcp:4'], removed: ['default/web:metrics:tcp:4'], previous: ['default/web:http:tcp:4'] })
  t.equal(delta.upserted[0]!.port, 8000)
  t.same(keys(plan), ['default/db::tcp:4', 'default/web:http:tcp:4'])
  // the index follows: removing web now removes only its one remaining port
  const { delta: d2 } = p.update(snapshotOf([db]), changes({ services: [change(web2, undefined)] }))
  t.same(summary(d2), { upserted: [], removed: ['default/web:http:tcp:4'], previous: [] })
})

t.test('a Service created: its intents upserted', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([db], [webSlice('web-1')]))
  const { delta } = p.update(noWalks(snapshotOf([db, web], [webSlice('web-1')])), changes({ services: [change(undefined, web)] }))
  t.same(summary(delta), { upserted: ['default/web:http:tcp:4', 'default/web:metrics:tcp:4'], removed: [], previous: [] })
  t.equal(delta.upserted[0]!.clusterEndpoints.length, 1, 'with the slices already in the snapshot')
})

t.test('a slice that changes owner re-plans both Services', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const moving = makeSlice('default', 'x-1', 'db', (s) => {
    s.ports = [slicePort('', 5432), slicePort('http', 8080)]
    s.endpoints = [makeEndpoint(v4.pod('node-c', 1), 'node-c')]
  })
  p.full(snapshotOf([web, db], [moving]))
  const moved = { ...moving, serviceName: 'web' }
  const { delta } = p.update(noWalks(snapshotOf([web, db], [moved])), changes({ endpointSlices: [change(moving, moved)] }))
  t.same(summary(delta), {
    upserted: ['default/db::tcp:4', 'default/web:http:tcp:4'],
    removed: [],
    previous: ['default/db::tcp:4', 'default/web:http:tcp:4'],
  })
  t.same(delta.upserted.map((i) => [i.key, i.clusterEndpoints.length]).sort(), [['default/db::tcp:4', 0], ['default/web:http:tcp:4', 1]])
})

t.test('a slice deleted', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([db], [dbSlice]))
  const { delta } = p.update(snapshotOf([db]), changes({ endpointSlices: [change(dbSlice, undefined)] }))
  t.same(summary(delta), { upserted: ['default/db::tcp:4'], removed: [], previous: ['default/db::tcp:4'] })
  t.equal(delta.upserted[0]!.hasAnyEndpoints, false)
})

t.test('A -> B -> A, or a change that changes no intent, is no delta at all', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const before = p.full(snapshotOf([web, db], [webSlice('web-1'), dbSlice]))
  const webAgain = makeService('default', 'web', (s) => { s.ports = [makePort('http', 80), makePort('metrics', 9090)] })
  const r1 = p.update(snapshotOf([webAgain, db], [webSlice('web-1'), dbSlice]), changes({ services: [change(web, webAgain)] }))
  t.same(summary(r1.delta), NOTHING)
  t.same([...r1.plan.intents.entries()], [...before.intents.entries()])
  const notReady = webSlice('web-1', [makeEndpoint(v4.pod('node-a', 5), THIS_NODE), makeEndpoint(v4.pod('node-b', 1), 'node-b', { ready: false, serving: false })])
  const r2 = p.update(snapshotOf([web, db], [notReady, dbSlice]), changes({ endpointSlices: [change(webSlice('web-1'), notReady)] }))
  t.same(summary(r2.delta), NOTHING, 'a not-ready endpoint added changes no intent')
  const orphan = makeSlice('default', 'ghost-1', 'ghost', (s) => { s.endpoints = [makeEndpoint(v4.pod('node-b', 2), 'node-b')] })
  const r3 = p.update(snapshotOf([web, db], [notReady, dbSlice, orphan]), changes({ endpointSlices: [change(undefined, orphan)] }))
  t.same(summary(r3.delta), NOTHING, 'a slice of no known Service')
  t.equal(r3.plan.intents.size, 3)
})

const hinted = (zone: string) => makeSlice('default', 'db-1', 'db', (s) => {
  s.ports = [slicePort('', 5432)]
  s.endpoints = [
    makeEndpoint(v4.pod('node-a', 1), THIS_NODE, { zoneHints: ['zone-a'] }),
    makeEndpoint(v4.pod('node-b', 1), 'node-b', { zoneHints: [zone] }),
  ]
})
const withZone = (zone: string | null): Node[] => [makeNode(THIS_NODE, zone), ...NODES.slice(1)]

t.test("this node's zone changes: the Services with hints are re-planned, the others are not", async (t) => {
  const p = new ProxyPlanner(v4Config())
  const before = p.full(snapshotOf([web, db], [hinted('zone-b'), webSlice('web-1')], withZone('zone-a')))
  t.same(before.intents.get('default/db::tcp:4')!.clusterEndpoints.map((e) => e.ip), ['10.244.1.1'])
  // web's slice changes in the snapshot without a change record: a re-plan of web would show it
  const unreported = webSlice('web-1', [])
  const snap = snapshotOf([web, db], [hinted('zone-b'), unreported], withZone('zone-b'))
  const { delta } = p.update(noWalks(snap), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-a'), makeNode(THIS_NODE, 'zone-b'))] }))
  t.same(summary(delta), { upserted: ['default/db::tcp:4'], removed: [], previous: ['default/db::tcp:4'] })
  t.same(delta.upserted[0]!.clusterEndpoints.map((e) => e.ip), ['10.244.2.1'])
  // the zone the plan was built with is remembered: the same zone again re-plans nothing
  const again = p.update(noWalks(snap), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-a'), makeNode(THIS_NODE, 'zone-b'))] }))
  t.same(summary(again.delta), NOTHING)
  // the node losing its label (or being deleted) is a zone change too
  const gone = p.update(noWalks(snapshotOf([web, db], [hinted('zone-b'), unreported], NODES.slice(1))), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-b'), undefined)] }))
  t.same(gone.delta.upserted.map((i) => [i.key, i.clusterEndpoints.length]), [['default/db::tcp:4', 2]])
})

t.test('another node changing, or this node changing but not its zone, re-plans nothing', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([db], [hinted('zone-b')], withZone('zone-a')))
  const snap = snapshotOf([db], [hinted('zone-a')], [makeNode(THIS_NODE, 'zone-a'), makeNode('node-b', 'zone-x')])
  const { delta } = p.update(noWalks(snap), changes({ nodes: [change(makeNode('node-b', 'zone-b'), makeNode('node-b', 'zone-x'))] }))
  t.same(summary(delta), NOTHING)
})

t.test('a Service whose hints went away is no longer re-planned on a zone change', async (t) => {
  const p = new ProxyPlanner(v4Config())
  p.full(snapshotOf([db], [hinted('zone-b')], withZone('zone-a')))
  const plain = makeSlice('default', 'db-1', 'db', (s) => {
    s.ports = [slicePort('', 5432)]
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE)]
  })
  const r1 = p.update(snapshotOf([db], [plain], withZone('zone-a')), changes({ endpointSlices: [change(hinted('zone-b'), plain)] }))
  t.same(summary(r1.delta), { upserted: [], removed: [], previous: [] }, 'same endpoint list: topology kept only node-a')
  const unreported = makeSlice('default', 'db-1', 'db', (s) => { s.ports = [slicePort('', 5432)] })
  const r2 = p.update(noWalks(snapshotOf([db], [unreported], withZone('zone-b'))), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-a'), makeNode(THIS_NODE, 'zone-b'))] }))
  t.same(summary(r2.delta), NOTHING)
})

t.test('a Service that gains hints is re-planned on the next zone change', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const plain = makeSlice('default', 'db-1', 'db', (s) => {
    s.ports = [slicePort('', 5432)]
    s.endpoints = [makeEndpoint(v4.pod('node-a', 1), THIS_NODE), makeEndpoint(v4.pod('node-b', 1), 'node-b')]
  })
  p.full(snapshotOf([db], [plain], withZone('zone-a')))
  const r1 = p.update(snapshotOf([db], [hinted('zone-a')], withZone('zone-a')), changes({ endpointSlices: [change(plain, hinted('zone-a'))] }))
  t.same(summary(r1.delta), NOTHING, 'both endpoints hinted for zone-a: the same two endpoints')
  const r2 = p.update(noWalks(snapshotOf([db], [hinted('zone-a')], withZone('zone-c'))), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-a'), makeNode(THIS_NODE, 'zone-c'))] }))
  t.same(summary(r2.delta), NOTHING, 'no hint for zone-c: topology ignored, still both')
  const r3 = p.update(noWalks(snapshotOf([db], [hinted('zone-b')], withZone('zone-b'))), changes({ nodes: [change(makeNode(THIS_NODE, 'zone-c'), makeNode(THIS_NODE, 'zone-b'))] }))
  t.same(r3.delta.upserted.map((i) => i.clusterEndpoints.map((e) => e.ip)), [['10.244.2.1']], 'zone-b: only the one hinted for it (the slice was not reported, the zone was)')
})

t.test('update touches only what the changes name (no walk of the snapshot)', async (t) => {
  const p = new ProxyPlanner(v4Config())
  const services: Service[] = []
  for (let i = 0; i < 50; i++) services.push(makeService('bulk', `s${i}`, (s) => { s.clusterIPs = [`10.96.1.${i}`] }))
  p.full(snapshotOf([...services, db], [dbSlice]))
  const more = { ...dbSlice, endpoints: [...dbSlice.endpoints, makeEndpoint(v4.pod('node-c', 3), 'node-c')] }
  const { plan, delta } = p.update(noWalks(snapshotOf([...services, db], [more])), changes({ endpointSlices: [change(dbSlice, more)] }))
  t.same(summary(delta), { upserted: ['default/db::tcp:4'], removed: [], previous: ['default/db::tcp:4'] })
  t.equal(plan.intents.size, 51)
})
