// The overlay consumer's schedule: a full sync (device, kernel read-back,
// egress) first, after a failure and every sync period; between them a Node
// change is diffed against the last sync without reading the kernel; the
// annotations are published once the device is there, and only when they differ.
import t from 'tap'
import pino from 'pino'
import { ManualClock } from '../../src/agent/clock.ts'
import type { Node } from '../../src/cluster/model.ts'
import { buildSnapshot } from '../../src/cluster/snapshot.ts'
import type { Rtnl } from '../../src/netlink/index.ts'
import { overlayConsumer } from '../../src/overlay/consumer.ts'
import type { Observed, OverlayOps } from '../../src/overlay/diff.ts'
import type { OverlayReconciler } from '../../src/overlay/reconciler.ts'

const log = pino({ level: 'silent' })
const none = { services: [], endpointSlices: [], nodes: [] }
const node = (name: string, i: number, annotations: Record<string, string> = {}): Node => ({
  name, podCIDRs: [`10.244.${i}.0/24`], internalIPs: [`172.19.0.${10 + i}`], externalIPs: [], ready: true, zone: null, annotations,
})
const remote = (i: number, ip = `172.19.0.${10 + i}`) => node(`node-${i}`, i, { 'pontoon.io/vtep-mac': `02:00:00:00:00:0${i}`, 'pontoon.io/public-ip': ip })
const snap = (...nodes: Node[]) => buildSnapshot([], [], nodes.map((n) => [n.name, n]))

function setup() {
  const calls: string[] = []
  const applied: OverlayOps[] = []
  const published: Array<Record<string, string | null>> = []
  let observed: Observed = { neighs: [], fdb: [], routes: [] }
  let failApply = false
  let failObserve = false
  const rtnl = {
    links: async () => [{ index: 2, name: 'eth0', mtu: 1500, mac: '02:00:00:00:00:aa', up: true, promisc: false }],
    addrs: async () => [{ index: 2, cidr: '172.19.0.11/24', family: 4 as const, tentative: false }],
  } as unknown as Rtnl
  const reconciler = {
    device: async () => undefined,
    ensureDevice: async () => { calls.push('ensureDevice'); return 9 },
    removeDevice: async () => { calls.push('removeDevice'); return false },
    observe: async () => { calls.push('observe'); if (failObserve) throw new Error('no such device'); return observed },
    apply: async (ops: OverlayOps) => { calls.push('apply'); if (failApply) throw new Error('boom'); applied.push(ops) },
  } as unknown as OverlayReconciler
  const clock = new ManualClock()
  const egress: string[][] = []
  const c = overlayConsumer({
    mode: 'vxlan', nodeName: 'node-1', underlay: {}, clusterCIDRs: ['10.244.0.0/16'], rtnl, reconciler,
    egress: { apply: (cidrs) => { egress.push([...cidrs]) } },
    publish: async (a) => { published.push(a) },
    syncPeriodMs: 30_000, clock, log,
  })
  return { c, calls, applied, published, egress, clock, setObserved: (o: Observed) => { observed = o }, setFail: (f: boolean) => { failApply = f }, setFailObserve: (f: boolean) => { failObserve = f } }
}

t.test('waits for its own Node; then a full sync, then deltas, then a full sync each period', async (t) => {
  const s = setup()
  await s.c.sync(snap(remote(2)), none, { fullResync: true, pendingSince: 0 })
  t.same(s.calls, [], 'nothing without its own Node')

  const self = node('node-1', 1)
  await s.c.sync(snap(self, remote(2)), none, { fullResync: true, pendingSince: 0 })
  t.same(s.calls, ['ensureDevice', 'observe', 'apply'])
  t.same(s.egress, [['10.244.0.0/16']], 'the egress table is written at a full sync')
  t.same(s.applied[0]!.setRoutes.map((r) => r.dst), ['10.244.2.0/24'])
  t.equal(s.published.length, 1)
  const mac = s.published[0]!['pontoon.io/vtep-mac']
  t.match(s.published[0], { 'pontoon.io/backend-type': 'vxlan', 'pontoon.io/public-ip': '172.19.0.11' })
  t.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)

  // The Node now carries them: nothing more to publish. A changed remote is a delta.
  s.calls.length = 0
  const published = node('node-1', 1, s.published[0] as Record<string, string>)
  await s.clock.advance(1000)
  await s.c.sync(snap(published, remote(2, '172.19.0.99')), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['apply'], 'a delta: no device work, no kernel read')
  t.same(s.applied[1]!.setFdb, [{ mac: '02:00:00:00:00:02', dst: '172.19.0.99' }])
  t.same(s.applied[1]!.delFdb, [{ mac: '02:00:00:00:00:02', dst: '172.19.0.12' }])
  t.equal(s.published.length, 1, 'annotations already there: no patch')

  s.calls.length = 0
  await s.clock.advance(28_000)
  await s.c.sync(snap(published, remote(2, '172.19.0.99')), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['apply'], 'within the period: still a delta')
  t.equal(s.applied[2]!.setFdb.length + s.applied[2]!.delFdb.length, 0)

  s.calls.length = 0
  await s.clock.advance(1000)
  // The kernel lost everything (deleted by hand): the periodic full sync reads it and repairs.
  s.setObserved({ neighs: [], fdb: [], routes: [] })
  await s.c.sync(snap(published, remote(2, '172.19.0.99')), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['ensureDevice', 'observe', 'apply'], 'one sync period after the last full sync: full')
  t.same(s.applied[3]!.setNeighs, [{ ip: '10.244.2.0', mac: '02:00:00:00:00:02' }])
  t.equal(s.egress.length, 2)
})

t.test('a failed apply makes the next sync a full one', async (t) => {
  const s = setup()
  const self = node('node-1', 1)
  await s.c.sync(snap(self, remote(2)), none, { fullResync: true, pendingSince: 0 })
  s.setFail(true)
  s.calls.length = 0
  await t.rejects(async () => s.c.sync(snap(self, remote(2), remote(3)), none, { fullResync: false, pendingSince: 0 }), /boom/)
  t.same(s.calls, ['apply'])
  s.setFail(false)
  s.calls.length = 0
  await s.c.sync(snap(self, remote(2), remote(3)), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['ensureDevice', 'observe', 'apply'], 'full even though the loop did not ask')
})

t.test('the drift watch: quiet while the kernel matches, a full sync when it does not, and when reading it fails', async (t) => {
  const s = setup()
  const drift = s.c.drift!
  t.equal(drift.everyMs, 2000)
  t.equal(await drift.check(), false, 'nothing applied yet: nothing to compare')
  t.same(s.calls, [], 'and the kernel is not read')
  const self = node('node-1', 1)
  await s.c.sync(snap(self, remote(2)), none, { fullResync: true, pendingSince: 0 })
  const wrote = s.applied[0]!
  s.setObserved({ neighs: wrote.setNeighs.map((n) => ({ ...n, permanent: true })), fdb: wrote.setFdb, routes: wrote.setRoutes })
  s.calls.length = 0
  t.equal(await drift.check(), false, 'the kernel holds what was applied')
  t.same(s.calls, ['observe'])
  await s.c.sync(snap(self, remote(2)), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['observe', 'apply'], 'no drift: the next sync is a delta')

  s.setObserved({ neighs: wrote.setNeighs.map((n) => ({ ...n, permanent: true })), fdb: wrote.setFdb, routes: [] })
  s.calls.length = 0
  t.equal(await drift.check(), true, 'a route deleted by hand is seen')
  t.equal(await drift.check(), true, 'and stays seen until a sync, without another read')
  t.same(s.calls, ['observe'])
  s.calls.length = 0
  await s.c.sync(snap(self, remote(2)), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['ensureDevice', 'observe', 'apply'], 'the sync after it is full')
  t.same(s.applied.at(-1)!.setRoutes.map((r) => r.dst), ['10.244.2.0/24'], 'and puts the route back')
  s.calls.length = 0
  await s.c.sync(snap(self, remote(2)), none, { fullResync: false, pendingSince: 0 })
  t.same(s.calls, ['apply'], 'the flag was used up')

  const failing = setup()
  await failing.c.sync(snap(self, remote(2)), none, { fullResync: true, pendingSince: 0 })
  failing.setFailObserve(true)
  await t.rejects(failing.c.drift!.check(), /no such device/, 'a read that fails wakes the consumer with the error')
  failing.setFailObserve(false)
  failing.calls.length = 0
  await failing.c.sync(snap(self, remote(2)), none, { fullResync: false, pendingSince: 0 })
  t.same(failing.calls, ['ensureDevice', 'observe', 'apply'], 'and the sync after a failed read is full (the device may be gone)')
})
