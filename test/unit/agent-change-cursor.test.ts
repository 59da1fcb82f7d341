import t from 'tap'
import { ChangeCursor } from '../../src/agent/change-cursor.ts'
import type { ChangeSet } from '../../src/cluster/snapshot.ts'

type N = { podCIDRs: string[] }
const n = (cidr: string): N => ({ podCIDRs: [cidr] })
const set = (nodes: Array<[string, N | undefined, N | undefined]>): ChangeSet =>
  ({ services: [], endpointSlices: [], nodes: nodes.map(([key, previous, current]) => ({ key, previous, current })) }) as unknown as ChangeSet

t.test('add keeps the oldest previous and the newest current; a round trip is no change', async (t) => {
  const c = new ChangeCursor()
  t.equal(c.fullResync, true, 'a new cursor asks for a full resync')
  c.add(set([['a', n('1'), n('2')], ['b', undefined, n('9')]]))
  c.add(set([['a', n('2'), n('3')], ['b', n('9'), undefined]]))
  t.equal(c.size, 1, 'b came and went')
  t.same(c.take().nodes, [{ key: 'a', previous: n('1'), current: n('3') }])
  t.equal(c.size, 0)
  t.same(c.take(), { services: [], endpointSlices: [], nodes: [] })
})

t.test('giveBack puts a failed batch under what arrived since, and asks for a full resync', async (t) => {
  const c = new ChangeCursor()
  c.fullResync = false
  c.add(set([['a', n('1'), n('2')], ['x', n('5'), n('6')]]))
  const failed = c.take()
  c.add(set([['a', n('2'), n('3')], ['c', undefined, n('7')]]))
  c.giveBack(failed)
  t.equal(c.fullResync, true)
  const back = c.take().nodes.sort((p, q) => (p.key < q.key ? -1 : 1))
  t.same(back, [
    { key: 'a', previous: n('1'), current: n('3') },
    { key: 'c', previous: undefined, current: n('7') },
    { key: 'x', previous: n('5'), current: n('6') },
  ])
})

t.test('a failed change undone since it was taken is no change at all', async (t) => {
  const c = new ChangeCursor()
  c.add(set([['a', n('1'), n('2')]]))
  const failed = c.take()
  c.add(set([['a', n('2'), n('1')]]))
  c.giveBack(failed)
  t.equal(c.size, 0)
})

t.test('each kind is kept apart', async (t) => {
  const c = new ChangeCursor()
  const s = { services: [{ key: 'k', previous: undefined, current: { v: 1 } }], endpointSlices: [{ key: 'k', previous: undefined, current: { v: 2 } }], nodes: [{ key: 'k', previous: undefined, current: { v: 3 } }] } as unknown as ChangeSet
  c.add(s)
  t.equal(c.size, 3)
  const out = c.take()
  t.same([out.services.length, out.endpointSlices.length, out.nodes.length], [1, 1, 1])
  c.giveBack(out)
  t.equal(c.size, 3)
})
