// IntentMap: the plan's persistent map; with() never changes the map it is called on.
import t from 'tap'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'
import { IntentMap } from '../../src/proxy/plan/intent-map.ts'

const intent = (key: string, port = 80) => ({ key, port }) as unknown as PortIntent
const many = (n: number, port = 80) => Array.from({ length: n }, (_, i) => intent(`ns/s${i}::tcp:4`, port))

t.test('of / get / has / size', async (t) => {
  const m = IntentMap.of(many(600))
  t.equal(m.size, 600)
  t.equal(m.get('ns/s599::tcp:4')!.key, 'ns/s599::tcp:4')
  t.equal(m.has('ns/s0::tcp:4'), true)
  t.equal(m.has('ns/s600::tcp:4'), false)
  t.equal(m.get('ns/s600::tcp:4'), undefined)
  t.equal(IntentMap.empty.size, 0)
  t.same([...IntentMap.empty], [])
  t.equal(IntentMap.of([intent('a', 1), intent('a', 2)]).get('a')!.port, 2, 'a later intent of the same key wins')
})

t.test('with() returns a new map and leaves the old one as it was', async (t) => {
  const a = IntentMap.of(many(300))
  const before = [...a.entries()]
  const b = a.with([intent('ns/s1::tcp:4', 81), intent('ns/new::tcp:4')], ['ns/s2::tcp:4', 'ns/absent::tcp:4'])
  t.same([...a.entries()], before)
  t.equal(a.size, 300)
  t.equal(b.size, 300)
  t.equal(b.get('ns/s1::tcp:4')!.port, 81)
  t.equal(a.get('ns/s1::tcp:4')!.port, 80)
  t.equal(b.has('ns/s2::tcp:4'), false)
  t.equal(a.has('ns/s2::tcp:4'), true)
  t.equal(b.has('ns/new::tcp:4'), true)
  t.equal(b.get('ns/s3::tcp:4'), a.get('ns/s3::tcp:4'), 'untouched entries are shared')
  t.equal(a.with([], []), a, 'nothing to do: the same map')
  t.equal(a.with([], ['ns/absent::tcp:4']).size, 300, 'removing an absent key changes nothing')
  t.equal(IntentMap.of(many(3)).with([], ['ns/s0::tcp:4', 'ns/s1::tcp:4', 'ns/s2::tcp:4']).size, 0)
  t.ok(Object.isFrozen(b))
})

t.test('iteration order depends only on the keys present, not on the history', async (t) => {
  const all = many(500)
  const direct = IntentMap.of(all)
  const reversed = IntentMap.of([...all].reverse())
  let stepwise = IntentMap.empty
  for (let j = 0; j < 500; j++) stepwise = stepwise.with([all[(j * 7) % 500]!], []) // another insertion order
  stepwise = stepwise.with([intent('ns/x::tcp:4')], []).with([], ['ns/x::tcp:4'])
  const order = [...direct.keys()]
  t.same([...reversed.keys()], order)
  t.same([...stepwise.keys()], order)
  t.same(new Set(order).size, 500)
})

t.test('the ReadonlyMap surface agrees with itself', async (t) => {
  const m = IntentMap.of(many(40))
  const entries = [...m.entries()]
  t.same([...m], entries)
  t.same([...m.keys()], entries.map(([k]) => k))
  t.same([...m.values()], entries.map(([, v]) => v))
  t.same(entries.every(([k, v]) => v.key === k), true)
  const seen: [string, PortIntent][] = []
  const self = { tag: 'this' }
  m.forEach(function (this: unknown, v, k, map) {
    t.equal(map, m)
    t.equal(this, self)
    seen.push([k, v])
  }, self)
  t.same(seen, entries)
  t.equal(Object.prototype.toString.call(m), '[object IntentMap]')
})

t.test('the order is the same in every process: FNV-1a buckets, keys sorted within a bucket', async (t) => {
  // FNV-1a("a") = 0xe40c292c: bucket 0x2c = 44; "k50" and "k25" share bucket 7
  const m = IntentMap.of(['default/web:http:tcp:4', 'default/web:http:tcp:6', 'default/db::tcp:4', 'kube-system/dns:dns:udp:4', 'b', 'a', 'k50', 'k25'].map((k) => intent(k)))
  t.same([...m.keys()], ['k25', 'k50', 'kube-system/dns:dns:udp:4', 'a', 'default/web:http:tcp:4', 'default/db::tcp:4', 'b', 'default/web:http:tcp:6'])
})
