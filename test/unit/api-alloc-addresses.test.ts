// The API's allocators read addresses with the strict module: a short or octal
// clusterIP is not silently taken as another address, and a range flag with
// host bits or in a short form is refused instead of guessed at.
import t from 'tap'
import { IpAllocator } from '../../src/api/alloc/ip-allocator.ts'
import { CidrAllocator } from '../../src/api/alloc/cidr-allocator.ts'
import { parseRange } from '../../src/api/alloc/ip-range.ts'
import { firstServiceIp } from '../../src/api/controllers/kubernetes-service.ts'

t.test('clusterIPs in ambiguous forms are not allocated', async (t) => {
  const a = new IpAllocator('10.96.0.0/24')
  for (const ip of ['10.96.12', '10.96.0.012', '::ffff:10.96.0.5', '0xa.96.0.5']) {
    t.match(a.allocate(ip), /not in the valid range/, ip)
    t.notOk(a.has(ip))
  }
  t.equal(a.allocate('10.96.0.12'), undefined, 'the plain form is allocated')
  t.ok(a.has('10.96.0.12'))
  t.notOk(a.has('10.96.0.012'), 'and is not found under an octal spelling')
})

t.test('range flags are subnets in the strict form', async (t) => {
  t.same(parseRange('10.96.0.0/16'), { cidr: '10.96.0.0/16', family: 'IPv4', bits: 32, prefix: 16, base: 0x0a600000n, size: 65536n })
  t.same(parseRange('FD00:96::/112'), { cidr: 'fd00:96::/112', family: 'IPv6', bits: 128, prefix: 112, base: (0xfd00n << 112n) | (0x96n << 96n), size: 65536n })
  t.throws(() => parseRange('10.1/16'), { code: 'ECIDR_SYNTAX', input: '10.1/16', message: 'invalid CIDR "10.1/16": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' })
  t.throws(() => parseRange('10.96.0.5/16'), { code: 'ECIDR_HOST_BITS', message: /^invalid CIDR "10.96.0.5\/16": must not have bits set beyond the prefix length/ })
  t.throws(() => new IpAllocator('010.96.0.0/16'), { code: 'EADDR_LEADING_ZERO' })
  t.throws(() => new CidrAllocator('10.244/16', 24), { code: 'ECIDR_SYNTAX' })
  t.equal(firstServiceIp('10.96.0.0/16'), '10.96.0.1')
  t.equal(firstServiceIp('fd00:96::/112'), 'fd00:96::1')
})

t.test('the podCIDR allocator only counts strict subnets of its size', async (t) => {
  const c = new CidrAllocator('10.244.0.0/22', 24)
  t.notOk(c.allocate('10.244.1/24'), 'short form')
  t.notOk(c.allocate('10.244.01.0/24'), 'leading zero')
  t.notOk(c.allocate('10.244.1.5/24'), 'host bits')
  t.notOk(c.allocate('10.244.1.0/25'), 'another size')
  t.notOk(c.allocate('10.244.4.0/24'), 'outside')
  t.ok(c.allocate('10.244.1.0/24'))
  t.notOk(c.allocate('10.244.1.0/24'), 'taken')
  t.equal(c.next(), '10.244.0.0/24')
  t.equal(c.next(), '10.244.2.0/24')
  c.release('10.244.1.0/24')
  t.equal(c.next(), '10.244.1.0/24')
})
