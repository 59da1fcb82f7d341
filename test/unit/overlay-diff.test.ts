// The overlay's diff: only differences are written, removals before additions.
import t from 'tap'
import { diffEntries, entriesOf, opCount, type EntrySet } from '../../src/overlay/diff.ts'
import type { OverlayPlan, RouteEntry } from '../../src/overlay/plan.ts'

const M2 = '02:00:00:00:00:02'
const M3 = '02:00:00:00:00:03'
const r2: RouteEntry = { dst: '10.244.2.0/24', gw: '10.244.2.0', dev: 'overlay', onlink: true }
const r3: RouteEntry = { dst: '10.244.3.0/24', gw: '10.244.3.0', dev: 'overlay', onlink: true }
const want: EntrySet = {
  neighs: [{ ip: '10.244.2.0', mac: M2 }, { ip: '10.244.3.0', mac: M3 }],
  fdb: [{ mac: M2, dst: '172.19.0.12' }, { mac: M3, dst: '172.19.0.13' }],
  routes: [r2, r3],
}
const none = { delRoutes: [], delFdb: [], delNeighs: [], setNeighs: [], setFdb: [], setRoutes: [] }

t.test('nothing to do when the kernel matches', async (t) => {
  const ops = diffEntries(want, { ...want, neighs: want.neighs.map((n) => ({ ...n, permanent: true })) })
  t.same(ops, none)
  t.equal(opCount(ops), 0)
  t.same(diffEntries(want, want), none, 'against the last sync (no permanence known) too')
})

t.test('an empty kernel gets everything, in flannel order', async (t) => {
  const ops = diffEntries(want, { neighs: [], fdb: [], routes: [] })
  t.same(ops, { ...none, setNeighs: want.neighs, setFdb: want.fdb, setRoutes: want.routes })
  t.equal(opCount(ops), 6)
})

t.test('what is no longer wanted goes; kernel-made neighbours are left to age', async (t) => {
  const have = {
    neighs: [{ ip: '10.244.2.0', mac: M2, permanent: true }, { ip: '10.244.3.0', mac: M3, permanent: true }, { ip: '10.244.4.0', mac: '02:00:00:00:00:04', permanent: true }, { ip: '10.244.5.0', mac: '', permanent: false }],
    fdb: [...want.fdb, { mac: '02:00:00:00:00:04', dst: '172.19.0.14' }],
    routes: [r2, r3, { dst: '10.244.4.0/24', gw: '10.244.4.0', dev: 'overlay' as const, onlink: true }],
  }
  const ops = diffEntries(want, have)
  t.same(ops, {
    ...none,
    delRoutes: [{ dst: '10.244.4.0/24', gw: '10.244.4.0', dev: 'overlay', onlink: true }],
    delFdb: [{ mac: '02:00:00:00:00:04', dst: '172.19.0.14' }],
    delNeighs: [{ ip: '10.244.4.0', mac: '02:00:00:00:00:04' }],
  })
})

t.test('changed entries are rewritten; a stale or kernel-made neighbour is replaced', async (t) => {
  const have = {
    neighs: [{ ip: '10.244.2.0', mac: '02:00:00:00:00:99', permanent: true }, { ip: '10.244.3.0', mac: M3, permanent: false }],
    fdb: [{ mac: M2, dst: '172.19.0.99' }, { mac: M3, dst: '172.19.0.13' }, { mac: M3, dst: '172.19.0.98' }],
    routes: [{ ...r2, gw: '10.244.2.1' }, { ...r3, onlink: false }],
  }
  const ops = diffEntries(want, have)
  t.same(ops.setNeighs, want.neighs)
  t.same(ops.delNeighs, [])
  t.same(ops.delFdb, [{ mac: M2, dst: '172.19.0.99' }, { mac: M3, dst: '172.19.0.98' }], 'every other destination of a MAC goes')
  t.same(ops.setFdb, [{ mac: M2, dst: '172.19.0.12' }])
  t.same(ops.setRoutes, [r2, r3])
  t.same(ops.delRoutes, [], 'a changed route is replaced in place, without a gap')
})

t.test('a route that differs only by device is rewritten', async (t) => {
  const ops = diffEntries({ neighs: [], fdb: [], routes: [r2] }, { neighs: [], fdb: [], routes: [{ ...r2, dev: 'underlay' }] })
  t.same(ops.setRoutes, [r2])
  t.same(ops.delRoutes, [])
})

t.test('several routes to one destination: the wrong ones go, the right one stays or comes', async (t) => {
  const wrong = { ...r2, gw: '10.244.2.9' }
  const kept = diffEntries({ neighs: [], fdb: [], routes: [r2] }, { neighs: [], fdb: [], routes: [wrong, r2] })
  t.same(kept.delRoutes, [wrong])
  t.same(kept.setRoutes, [])
  const both = diffEntries({ neighs: [], fdb: [], routes: [r2] }, { neighs: [], fdb: [], routes: [wrong, { ...r2, onlink: false }] })
  t.same(both.delRoutes, [wrong, { ...r2, onlink: false }], 'with two wrong ones, both go before the new one is written')
  t.same(both.setRoutes, [r2])
})

t.test('entriesOf flattens a plan in node order', async (t) => {
  const plan: OverlayPlan = {
    mode: 'vxlan',
    device: null,
    skipped: [],
    remotes: new Map([
      ['node-2', { node: 'node-2', neighs: [want.neighs[0]!], fdb: [want.fdb[0]!], routes: [r2] }],
      ['node-3', { node: 'node-3', neighs: [want.neighs[1]!], fdb: [want.fdb[1]!], routes: [r3] }],
    ]),
  }
  t.same(entriesOf(plan), want)
})
