import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import { formatIp, tryParseIp } from '../../src/net/address.ts'
import { allocate, candidates, isExhausted } from '../../src/ipam/allocator.ts'
import { parseIpamConfig } from '../../src/ipam/config.ts'
import { planGc } from '../../src/ipam/gc.ts'
import type { RangeSet } from '../../src/ipam/range.ts'
import { getById, releaseById } from '../../src/ipam/store.ts'
import { MemoryStore } from '../../src/ipam/store-memory.ts'

function sets(ranges: unknown[][]): RangeSet[] {
  return parseIpamConfig({ cniVersion: '1.0.0', name: 'n', ipam: { ranges } }).ranges
}

const ip = (s: string) => tryParseIp(s)!

/** Allocate for container `id` (ifname eth0) from range set 0 and return the address as text. */
function next(store: MemoryStore, set: RangeSet, id: string, requested?: string): string {
  return formatIp(allocate(store, set, 0, id, 'eth0', requested ? ip(requested) : undefined).addr)
}

function thrown(fn: () => unknown): CniError {
  try {
    fn()
  } catch (e) {
    if (e instanceof CniError) return e
    throw e
  }
  throw new Error('did not throw')
}

t.test('walk order: from rangeStart, skipping the gateway', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }]])
  t.same([...candidates(set!, undefined)].map((c) => formatIp(c.addr)), ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'])
})

t.test('walk order: after the last reserved, wrapping, ending on it', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }]])
  t.same([...candidates(set!, ip('10.0.0.4'))].map((c) => formatIp(c.addr)), ['10.0.0.5', '10.0.0.6', '10.0.0.2', '10.0.0.3', '10.0.0.4'])
})

t.test('walk order: a last reserved outside the set restarts at rangeStart', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }]])
  t.equal(formatIp([...candidates(set!, ip('192.168.0.9'))][0]!.addr), '10.0.0.2')
})

t.test('walk order: across the ranges of a set and back', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }]])
  t.same([...candidates(set!, ip('10.0.1.2'))].map((c) => formatIp(c.addr)), ['10.0.0.2', '10.0.1.2'])
})

t.test('round-robin: freed addresses are not reused until the walk wraps', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }]])
  const s = new MemoryStore()
  t.equal(next(s, set!, 'a'), '10.0.0.2')
  t.equal(next(s, set!, 'b'), '10.0.0.3')
  releaseById(s, 'a', 'eth0')
  t.equal(next(s, set!, 'c'), '10.0.0.4')
  t.equal(next(s, set!, 'd'), '10.0.0.5')
  t.equal(next(s, set!, 'e'), '10.0.0.6')
  t.equal(next(s, set!, 'f'), '10.0.0.2', 'wrapped around to the freed address')
})

t.test('rangeStart and rangeEnd bound the walk; an explicit gateway inside is skipped', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12', gateway: '10.0.0.11' }]])
  const s = new MemoryStore()
  t.same(['a', 'b'].map((id) => next(s, set!, id)), ['10.0.0.10', '10.0.0.12'])
  t.equal(thrown(() => next(s, set!, 'c')).code, ErrCode.PoolExhausted)
})

t.test('IPv4 network and broadcast are never handed out, even inside rangeStart..rangeEnd', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/30', rangeStart: '10.0.0.0', rangeEnd: '10.0.0.3', gateway: '10.0.0.2' }]])
  t.same([...candidates(set!, undefined)].map((c) => formatIp(c.addr)), ['10.0.0.1'])
})

t.test('IPv6: the all-ones address is usable', async (t) => {
  const [set] = sets([[{ subnet: 'fd00::/126' }]])
  const s = new MemoryStore()
  t.same(['a', 'b'].map((id) => next(s, set!, id)), ['fd00::2', 'fd00::3'])
})

t.test('IPv6 /64 does not enumerate the range', async (t) => {
  const [set] = sets([[{ subnet: 'fd00::/64' }]])
  const s = new MemoryStore()
  s.reserve('x', 'eth0', ip('fd00::ffff:ffff:ffff:fffe'), 0)
  t.equal(next(s, set!, 'a'), 'fd00::ffff:ffff:ffff:ffff')
  t.equal(next(s, set!, 'b'), 'fd00::2', 'wrapped past the end of a /64')
})

t.test('exhaustion names the range set', async (t) => {
  const [set] = sets([[{ subnet: '10.244.0.0/30' }]])
  const s = new MemoryStore()
  t.equal(next(s, set!, 'a'), '10.244.0.2')
  t.ok(isExhausted(s, set!))
  const e = thrown(() => next(s, set!, 'b'))
  t.equal(e.code, ErrCode.PoolExhausted)
  t.equal(e.message, 'no IP addresses available in range set 10.244.0.0/30 (10.244.0.1-10.244.0.2)')
})

t.test('a requested address is reserved as asked, and refused when taken', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/24' }]])
  const s = new MemoryStore()
  t.equal(next(s, set!, 'a', '10.0.0.77'), '10.0.0.77')
  t.equal(formatIp(s.lastReserved(0)!), '10.0.0.77', 'recorded as last reserved')
  const e = thrown(() => next(s, set!, 'b', '10.0.0.77'))
  t.equal(e.code, ErrCode.AddressInUse)
  t.equal(e.message, 'requested IP 10.0.0.77 is already in use in range set 10.0.0.0/24 (10.0.0.1-10.0.0.254) (held by container a ifname eth0)')
  t.equal(next(s, set!, 'c'), '10.0.0.78', 'the walk continues after the requested address')
})

t.test('a second ADD for the same attachment is refused', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/24' }]])
  const s = new MemoryStore()
  next(s, set!, 'a')
  const e = thrown(() => next(s, set!, 'a'))
  t.equal(e.code, ErrCode.AddressInUse)
  t.match(e.message, /10\.0\.0\.2 is already allocated to container a ifname eth0/)
  t.equal(formatIp(allocate(s, set!, 0, 'a', 'net1').addr), '10.0.0.3', 'another ifname of the same container is fine')
})

t.test('dual stack: one address per range set, each with its own last reserved', async (t) => {
  const [v4, v6] = sets([[{ subnet: '10.0.0.0/24' }], [{ subnet: 'fd00::/64' }]])
  const s = new MemoryStore()
  const a = [allocate(s, v4!, 0, 'a', 'eth0'), allocate(s, v6!, 1, 'a', 'eth0')]
  t.same(a.map((x) => formatIp(x.addr)), ['10.0.0.2', 'fd00::2'])
  t.equal(formatIp(s.lastReserved(1)!), 'fd00::2')
  t.same(getById(s, 'a', 'eth0').map(formatIp).sort(), ['10.0.0.2', 'fd00::2'])
  t.same(releaseById(s, 'a', 'eth0').map(formatIp).sort(), ['10.0.0.2', 'fd00::2'])
  t.same(s.list(), [])
})

t.test('release by id+ifname leaves other attachments; old id-only records are a fallback', async (t) => {
  const s = new MemoryStore()
  s.reserve('a', 'eth0', ip('10.0.0.2'), 0)
  s.reserve('a', 'net1', ip('10.0.0.3'), 0)
  s.reserve('a', '', ip('10.0.0.4'), 0)
  t.same(releaseById(s, 'a', 'eth0').map(formatIp), ['10.0.0.2'], 'exact record only')
  t.same(releaseById(s, 'a', 'eth0').map(formatIp), ['10.0.0.4'], 'then the id-only record')
  t.same(releaseById(s, 'a', 'eth0'), [], 'then nothing, without error')
  t.same(s.list().map((r) => formatIp(r.addr)), ['10.0.0.3'])
})

t.test('GC plan keeps valid attachments and drops the rest', async (t) => {
  const s = new MemoryStore()
  s.reserve('a', 'eth0', ip('10.0.0.2'), 0)
  s.reserve('a', 'net1', ip('10.0.0.3'), 0)
  s.reserve('b', 'eth0', ip('10.0.0.4'), 0)
  s.reserve('c', '', ip('10.0.0.5'), 0)
  s.reserve('d', '', ip('10.0.0.6'), 0)
  const drop = planGc(s.list(), [{ containerID: 'a', ifname: 'eth0' }, { containerID: 'c', ifname: 'eth0' }])
  t.same(drop.map((r) => formatIp(r.addr)).sort(), ['10.0.0.3', '10.0.0.4', '10.0.0.6'])
})

t.test('exhaustion counts only addresses of the set, in its family', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }]])
  const s = new MemoryStore()
  t.equal(isExhausted(s, set!), false, 'empty store')
  for (const a of ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']) s.reserve('x', 'eth0', ip(a), 0)
  s.reserve('y', 'eth0', ip('::a00:6'), 1)
  s.reserve('y', 'eth0', ip('10.0.1.6'), 1)
  t.equal(isExhausted(s, set!), false, '10.0.0.6 is free: ::a00:6 is another family, 10.0.1.6 another range')
  s.reserve('x', 'eth0', ip('10.0.0.6'), 0)
  t.equal(isExhausted(s, set!), true)
})

t.test('a requested address outside the set is a config error naming the set', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }]])
  const s = new MemoryStore()
  const e = thrown(() => next(s, set!, 'a', '10.0.2.1'))
  t.equal(e.code, ErrCode.InvalidConfig)
  t.equal(e.message, 'requested IP 10.0.2.1 is not in range set 10.0.0.0/30 (10.0.0.1-10.0.0.2), 10.0.1.0/30 (10.0.1.1-10.0.1.2)')
  t.same(s.list(), [], 'nothing reserved')
  t.equal(allocate(s, set!, 0, 'a', 'eth0', ip('10.0.1.2')).range, set![1], 'the range it falls in')
})

t.test('the holder named for a taken request is the one of that family; an id-only record names no ifname', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/24' }]])
  const s = new MemoryStore()
  s.reserve('six', 'eth0', ip('::a00:4d'), 1)
  s.reserve('other', 'eth0', ip('10.0.0.76'), 0)
  s.reserve('old', '', ip('10.0.0.77'), 0)
  const e = thrown(() => next(s, set!, 'b', '10.0.0.77'))
  t.equal(e.message, 'requested IP 10.0.0.77 is already in use in range set 10.0.0.0/24 (10.0.0.1-10.0.0.254) (held by container old)')
})

t.test('a duplicate ADD is refused even when the held address came from an id-only record', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/24' }]])
  const s = new MemoryStore()
  s.reserve('a', '', ip('10.0.0.9'), 0)
  const e = thrown(() => next(s, set!, ' a '))
  t.equal(e.message, '10.0.0.9 is already allocated to container a ifname eth0 in range set 10.0.0.0/24 (10.0.0.1-10.0.0.254); duplicate allocation is not allowed')
})

t.test('an allocation reports its range set and range', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' }]])
  const s = new MemoryStore()
  const a = allocate(s, set!, 3, 'a', 'eth0')
  t.equal(a.rangeSet, 3)
  t.equal(a.range, set![0])
  t.equal(formatIp(s.lastReserved(3)!), '10.0.0.2')
  const b = allocate(s, set!, 3, 'b', 'eth0')
  t.same([formatIp(b.addr), b.range === set![1]], ['10.0.1.2', true])
})

t.test('walk order: a last reserved in the middle range continues there, then wraps through the others', async (t) => {
  const [set] = sets([[{ subnet: '10.0.0.0/29' }, { subnet: '10.0.1.0/29' }, { subnet: '10.0.2.0/30' }]])
  t.same([...candidates(set!, ip('10.0.1.4'))].map((c) => formatIp(c.addr)),
    ['10.0.1.5', '10.0.1.6', '10.0.2.2', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.1.2', '10.0.1.3', '10.0.1.4'])
  t.same([...candidates(set!, ip('10.0.2.2'))].map((c) => formatIp(c.addr)).slice(0, 2), ['10.0.0.2', '10.0.0.3'], 'after the last range: the first')
})

t.test('a store that refuses a request without a known holder names none', async (t) => {
  // e.g. a disk store whose reservation file exists but cannot be read back
  class Refusing extends MemoryStore {
    override reserve(): boolean {
      return false
    }
  }
  const [set] = sets([[{ subnet: '10.0.0.0/24' }]])
  const e = thrown(() => next(new Refusing(), set!, 'a', '10.0.0.7'))
  t.equal(e.message, 'requested IP 10.0.0.7 is already in use in range set 10.0.0.0/24 (10.0.0.1-10.0.0.254)')
})
