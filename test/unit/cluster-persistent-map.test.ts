// The snapshot's immutable map, checked against a plain Map under random edits,
// with keys whose hashes collide and with every older version kept and re-read.
import t, { type Test } from 'tap'
import { hashKey, PersistentMap } from '../../src/cluster/persistent-map.ts'

// Pairs of keys with equal 32-bit hashes (found by search; asserted below).
const COLLIDING = [['ns/svc-539599', 'ns/svc-722382'], ['ns/svc-539598', 'ns/svc-722383']] as const

const sorted = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

function same<V>(t: Test, got: PersistentMap<V>, want: Map<string, V>, msg: string): boolean {
  const entries = sorted(got)
  const ok = got.size === want.size && entries.length === want.size && entries.every(([k, v]) => want.get(k) === v && got.get(k) === v && got.has(k))
  if (!ok) t.same(entries, sorted(want), msg)
  return ok
}

t.test('empty, set, get, has, delete, size', async (t) => {
  const e = PersistentMap.of<number>()
  t.equal(e.size, 0)
  t.equal(e.get('a'), undefined)
  t.equal(e.has('a'), false)
  t.same([...e], [])
  const a = e.set('a', 1)
  t.equal(a.size, 1)
  t.equal(a.get('a'), 1)
  t.equal(a.has('a'), true)
  t.equal(e.size, 0, 'the old map is unchanged')
  t.equal(e.has('a'), false)
  const b = a.set('a', 2)
  t.equal(b.size, 1, 'a replaced value is no new key')
  t.equal(b.get('a'), 2)
  t.equal(a.get('a'), 1)
  t.equal(a.set('a', 1), a, 'setting the value it holds returns the same map')
  t.equal(a.delete('nope'), a, 'deleting an absent key returns the same map')
  const c = b.delete('a')
  t.equal(c.size, 0)
  t.equal(c.has('a'), false)
  t.equal(b.get('a'), 2)
  t.equal(PersistentMap.of([['x', 1], ['y', 2], ['x', 3]]).get('x'), 3, 'of(): the last value of a key wins')
})

t.test('the ReadonlyMap surface: entries, keys, values, iterator, forEach', async (t) => {
  const keys = Array.from({ length: 100 }, (_, i) => `default/svc-${i}`)
  const m = PersistentMap.of(keys.map((k, i) => [k, i] as const))
  t.same([...m.keys()].sort(), [...keys].sort())
  t.same([...m.values()].sort((a, b) => a - b), keys.map((_, i) => i))
  t.same([...m.entries()], [...m], 'the iterator is entries()')
  const seen: Array<[string, number]> = []
  const self = {}
  m.forEach(function (this: unknown, v, k, map) {
    t.equal(map, m)
    t.equal(this, self)
    seen.push([k, v])
  }, self)
  t.same(seen, [...m], 'forEach visits in the order of iteration')
  t.equal(new Map(m).size, 100, 'usable wherever an iterable of entries is')
})

t.test('colliding hashes live side by side', async (t) => {
  for (const [a, b] of COLLIDING) t.equal(hashKey(a), hashKey(b), `${a} and ${b} collide`)
  const [[a, b], [c, d]] = COLLIDING
  let m = PersistentMap.of([[a, 1], [b, 2], [c, 3], [d, 4], ['other', 5]])
  t.same(sorted(m), [[c, 3], [a, 1], [d, 4], [b, 2], ['other', 5]].sort(([x], [y]) => (x! < y! ? -1 : 1)))
  const m2 = m.set(b, 20)
  t.equal(m2.get(b), 20)
  t.equal(m2.get(a), 1)
  t.equal(m.get(b), 2)
  t.equal(m2.set(b, 20), m2, 'same value in a collision: same map')
  t.equal(m2.size, 5)
  m = m2.delete(a)
  t.equal(m.get(a), undefined)
  t.equal(m.get(b), 20)
  t.equal(m.size, 4)
  t.equal(m.delete(a), m)
  const gone = m.delete(b).delete(c).delete(d).delete('other')
  t.equal(gone.size, 0)
  t.same([...gone], [])
  t.equal(m2.get(a), 1, 'older versions keep every key')
})

t.test('random edits agree with a Map, and every older version stays as it was', async (t) => {
  let seed = 11
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n)
  const pool = [...COLLIDING.flat(), ...Array.from({ length: 400 }, (_, i) => `ns-${i % 7}/svc-${i}`)]
  let m = PersistentMap.of<number>()
  const model = new Map<string, number>()
  const versions: Array<[PersistentMap<number>, Map<string, number>]> = []
  let failures = 0
  for (let step = 0; step < 6000; step++) {
    const k = pool[rand(pool.length)]!
    if (rand(3) === 0) {
      m = m.delete(k)
      model.delete(k)
    } else {
      const v = rand(5)
      m = m.set(k, v)
      model.set(k, v)
    }
    if (step % 97 === 0) versions.push([m, new Map(model)])
    if (step % 13 === 0 && !same(t, m, model, `step ${step}`)) failures++
    if (failures > 3) break
  }
  t.ok(same(t, m, model, 'at the end'), 'the last version')
  for (const [i, [v, want]] of versions.entries()) if (!same(t, v, want, `version ${i}`)) failures++
  t.equal(failures, 0, `${versions.length} versions re-read after all the edits`)
  // Emptied by deletes only, a map is empty for every reader.
  for (const k of pool) m = m.delete(k)
  t.equal(m.size, 0)
  t.same([...m], [])
})

t.test('10,000 keys: one change, one entry that differs', async (t) => {
  const big = PersistentMap.of(Array.from({ length: 10_000 }, (_, i) => [`default/svc-${i}`, i] as const))
  t.equal(big.size, 10_000)
  const changed = big.set('default/svc-5', -5)
  t.equal(changed.get('default/svc-5'), -5)
  t.equal(big.get('default/svc-5'), 5)
  let differ = 0
  for (const [k, v] of changed) if (big.get(k) !== v) differ++
  t.equal(differ, 1)
})
