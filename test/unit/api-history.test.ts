import t from 'tap'
import { History } from '../../src/api/store/history.ts'
import type { StoreEvent } from '../../src/api/store/event.ts'

const ev = (rv: number): StoreEvent => ({ type: 'MODIFIED', rv, resource: 'services', obj: { metadata: { name: `s${rv}` } }, json: '{}' })

t.test('history ring: events after a version, or undefined once they fell out', async (t) => {
  const h = new History(3)
  t.same(h.since(0), [], 'nothing happened')
  for (let rv = 1; rv <= 5; rv++) h.push(ev(rv))
  t.equal(h.oldest(), 3)
  t.same(h.since(2)!.map((e) => e.rv), [3, 4, 5], 'from just before the oldest')
  t.same(h.since(4)!.map((e) => e.rv), [5])
  t.same(h.since(5), [], 'up to date')
  t.equal(h.since(1), undefined, 'too old')
  t.same(h.tail(2).map((e) => e.rv), [4, 5])
})
