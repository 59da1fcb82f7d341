// The userspace proxy's endpoint picker: round-robin order, failover order
// (every other endpoint after the first, bounded by attempts), ClientIP
// affinity with its timeout and bound, and forgetting removed endpoints.
import t from 'tap'
import type { EndpointTarget } from '../../src/proxy/plan/intent.ts'
import { EndpointPicker } from '../../src/proxy/userspace/picker.ts'

const ep = (ip: string, port = 8080): EndpointTarget => ({ ip, port, local: false })
const A = ep('10.0.0.1')
const B = ep('10.0.0.2')
const C = ep('10.0.0.3')
const names = (l: EndpointTarget[]) => l.map((e) => `${e.ip.slice(-1)}:${e.port}`).join(' ')

function picker(max = 100) {
  let now = 1000
  const p = new EndpointPicker({ maxAffinityEntries: max, now: () => now })
  return { p, advance: (ms: number) => { now += ms } }
}

t.test('round-robin: each connection starts one further, and the rest follow in turn', async (t) => {
  const { p } = picker()
  t.equal(names(p.candidates('c', [A, B, C], 0, 3)), '1:8080 2:8080 3:8080')
  t.equal(names(p.candidates('c', [A, B, C], 0, 3)), '2:8080 3:8080 1:8080')
  t.equal(names(p.candidates('c', [A, B, C], 0, 3)), '3:8080 1:8080 2:8080')
  t.equal(names(p.candidates('c', [A, B, C], 0, 3)), '1:8080 2:8080 3:8080', 'wraps around')
})

t.test('attempts bound the list; no endpoints or no attempts give nothing', async (t) => {
  const { p } = picker()
  t.equal(names(p.candidates('c', [A, B, C], 0, 2)), '1:8080 2:8080')
  t.equal(names(p.candidates('c', [A, B, C], 0, 1)), '2:8080')
  t.equal(names(p.candidates('c', [A, B, C], 0, 10)), '3:8080 1:8080 2:8080', 'never more than the endpoints')
  t.same(p.candidates('c', [], 0, 3), [])
  t.same(p.candidates('c', [A, B], 0, 0), [])
})

t.test('a shrinking list keeps the turn inside it', async (t) => {
  const { p } = picker()
  p.candidates('c', [A, B, C], 0, 1)
  p.candidates('c', [A, B, C], 0, 1)
  // next would be index 2; with two endpoints that is index 0
  t.equal(names(p.candidates('c', [A, B], 0, 2)), '1:8080 2:8080')
  t.equal(names(p.candidates('c', [A, B], 0, 2)), '2:8080 1:8080')
})

t.test('affinity: a client that connected sticks, the others still rotate', async (t) => {
  const { p } = picker()
  const first = p.candidates('x', [A, B, C], 600, 3)
  t.equal(names(first), '1:8080 2:8080 3:8080')
  // the first refused, the second took it
  p.connected('x', B, 600)
  t.equal(p.affinitySize, 1)
  for (let i = 0; i < 5; i++) t.equal(names(p.candidates('x', [A, B, C], 600, 3)).split(' ')[0], '2:8080', `x stays on B (${i})`)
  // the 7th call's turn starts at A: B moves to the front, the others keep their turn as failover
  t.equal(names(p.candidates('x', [A, B, C], 600, 3)), '2:8080 1:8080 3:8080', 'the others follow as failover')
  t.equal(names(p.candidates('y', [A, B, C], 600, 1)), '2:8080', 'another client gets its turn (the 8th: B)')
  t.equal(names(p.candidates('y', [A, B, C], 600, 1)), '3:8080', 'and never stuck without connecting')
})

t.test('affinity only when the Service asks for it', async (t) => {
  const { p } = picker()
  p.connected('x', B, 0)
  t.equal(p.affinitySize, 0, 'timeout 0 records nothing')
  p.connected('x', B, 600)
  t.equal(names(p.candidates('x', [A, B, C], 0, 1)), '1:8080', 'asked without affinity: plain round-robin')
})

t.test('affinity holds until its timeout since the last use, then lapses', async (t) => {
  const { p, advance } = picker()
  p.connected('x', C, 10)
  advance(9_999)
  t.equal(names(p.candidates('x', [A, B, C], 10, 1)), '3:8080', 'just inside the timeout (round-robin would say A)')
  p.connected('x', C, 10)
  advance(9_999)
  t.equal(names(p.candidates('x', [A, B, C], 10, 1)), '3:8080', 'a connection renews it (round-robin would say B)')
  const q = picker()
  q.p.connected('x', B, 10)
  q.advance(10_000)
  t.equal(names(q.p.candidates('x', [A, B, C], 10, 1)), '1:8080', 'at the timeout: round-robin again')
  t.equal(q.p.affinitySize, 0, 'and the entry is gone')
})

t.test('an affinity endpoint no longer in the list is not used', async (t) => {
  const { p } = picker()
  p.connected('x', C, 600)
  t.equal(names(p.candidates('x', [A, B], 600, 2)), '1:8080 2:8080')
  t.equal(p.affinitySize, 1, 'still remembered: the endpoint may be only filtered out for this class')
  p.retain([A, B])
  t.equal(p.affinitySize, 0, 'retain forgets clients of removed endpoints')
  p.connected('y', A, 600)
  p.connected('z', ep('10.0.0.1', 9090), 600)
  p.retain([A])
  t.equal(p.affinitySize, 1, 'the port counts: same IP on another port is another endpoint')
  t.equal(names(p.candidates('y', [B, A], 600, 1)), '1:8080', 'y kept A')
})

t.test('the affinity table is bounded: the least recently used client goes first', async (t) => {
  const { p } = picker(2)
  p.connected('a', A, 600)
  p.connected('b', B, 600)
  p.connected('a', A, 600) // a is now the most recent
  p.connected('c', C, 600)
  t.equal(p.affinitySize, 2)
  t.equal(names(p.candidates('a', [A, B, C], 600, 1)), '1:8080', 'a kept')
  t.equal(names(p.candidates('c', [A, B, C], 600, 1)), '3:8080', 'c kept')
  t.equal(names(p.candidates('b', [A, B, C], 600, 1)), '3:8080', 'b forgotten: round-robin (index 2)')
  t.throws(() => new EndpointPicker({ maxAffinityEntries: 0, now: () => 0 }), RangeError)
  t.doesNotThrow(() => new EndpointPicker({ maxAffinityEntries: 1, now: () => 0 }))
})
