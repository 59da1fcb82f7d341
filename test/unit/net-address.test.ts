// The one address module: a table of strings and the verdict every caller (API,
// agent, netlink, IPAM) gets for them.
import t from 'tap'
import {
  AddressError, bits, canonicalIp, contains, familyName, formatCidr, formatIp, ipFamily, ipFromBytes, ipToBytes,
  lastOf, networkOf, offset, parseCidr, parseIp, sizeOf, tryParseCidr, tryParseIp,
} from '../../src/net/address.ts'

// [input, canonical form] for addresses that parse
const goodIps: Array<[string, string, 4 | 6]> = [
  ['0.0.0.0', '0.0.0.0', 4],
  ['1.2.3.4', '1.2.3.4', 4],
  ['10.0.0.1', '10.0.0.1', 4],
  ['255.255.255.255', '255.255.255.255', 4],
  ['199.249.100.9', '199.249.100.9', 4],
  ['::', '::', 6],
  ['::1', '::1', 6],
  ['fd00::1', 'fd00::1', 6],
  ['FD00::A', 'fd00::a', 6],
  ['2001:db8:0:0:0:0:0:1', '2001:db8::1', 6],
  ['2001:0db8::0001', '2001:db8::1', 6],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', 6],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 6],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8', 6],
  ['1::8', '1::8', 6],
  ['::1.2.3.4', '::102:304', 6],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 6],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 6],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6],
]

// [input, code] for strings that are not accepted by default
const badIps: Array<[unknown, string]> = [
  ['10.1', 'EADDR_SYNTAX'],
  ['1.2.3', 'EADDR_SYNTAX'],
  ['1.2.3.4.5', 'EADDR_SYNTAX'],
  ['012.1.2.3', 'EADDR_LEADING_ZERO'],
  ['1.2.3.04', 'EADDR_LEADING_ZERO'],
  ['00.1.2.3', 'EADDR_LEADING_ZERO'],
  ['0x1.2.3.4', 'EADDR_SYNTAX'],
  ['0x0a000001', 'EADDR_SYNTAX'],
  ['167772161', 'EADDR_SYNTAX'],
  ['256.1.1.1', 'EADDR_SYNTAX'],
  ['1.2.3.1000', 'EADDR_SYNTAX'],
  ['1.2.3.', 'EADDR_SYNTAX'],
  ['.1.2.3', 'EADDR_SYNTAX'],
  ['1..2.3', 'EADDR_SYNTAX'],
  ['1.2.3.4 ', 'EADDR_SYNTAX'],
  [' 1.2.3.4', 'EADDR_SYNTAX'],
  ['+1.2.3.4', 'EADDR_SYNTAX'],
  ['1.2.3.4/32', 'EADDR_SYNTAX'],
  ['', 'EADDR_SYNTAX'],
  ['localhost', 'EADDR_SYNTAX'],
  ['1.2.3.4%eth0', 'EADDR_SYNTAX'],
  ['::ffff:1.2.3.4', 'EADDR_MAPPED'],
  ['::ffff:a01:203', 'EADDR_MAPPED'],
  ['0:0:0:0:0:ffff:10.1.2.3', 'EADDR_MAPPED'],
  ['::ffff:1.2.3.04', 'EADDR_LEADING_ZERO'],
  ['::ffff:1.2.3', 'EADDR_SYNTAX'],
  ['::ffff:0x1.2.3.4', 'EADDR_SYNTAX'],
  ['::1.2.3.4.5', 'EADDR_SYNTAX'],
  ['1.2.3.4::', 'EADDR_SYNTAX'],
  ['1.2.3.4::5', 'EADDR_SYNTAX'],
  ['::1.2.3.4:5', 'EADDR_SYNTAX'],
  ['1:2:3:4:5:6:7:1.2.3.4', 'EADDR_SYNTAX'],
  ['1:2:3:4:5:6:7', 'EADDR_SYNTAX'],
  ['1:2:3:4:5:6:7:8:9', 'EADDR_SYNTAX'],
  ['1:2:3:4:5:6:7:8::', 'EADDR_SYNTAX'],
  ['::1:2:3:4:5:6:7:8', 'EADDR_SYNTAX'],
  ['1::2::3', 'EADDR_SYNTAX'],
  [':::', 'EADDR_SYNTAX'],
  [':1::', 'EADDR_SYNTAX'],
  ['1::2:', 'EADDR_SYNTAX'],
  [':', 'EADDR_SYNTAX'],
  ['00000::1', 'EADDR_SYNTAX'],
  ['g::1', 'EADDR_SYNTAX'],
  ['fe80::1%eth0', 'EADDR_ZONE'],
  ['fe80::1%', 'EADDR_ZONE'],
  ['[::1]', 'EADDR_SYNTAX'],
  [42, 'EADDR_TYPE'],
  [undefined, 'EADDR_TYPE'],
  [null, 'EADDR_TYPE'],
  [['1.2.3.4'], 'EADDR_TYPE'],
]

t.test('addresses that parse, and their canonical form', async (t) => {
  for (const [s, canon, fam] of goodIps) {
    const a = parseIp(s)
    t.equal(a.family, fam, `${s} family`)
    t.equal(formatIp(a), canon, `${s} canonical`)
    t.equal(canonicalIp(s), canon)
    t.equal(ipFamily(s), fam === 4 ? 'IPv4' : 'IPv6', `${s} ipFamily`)
    t.equal(a.zone, undefined)
  }
  t.equal(parseIp('10.1.2.3').n, 0x0a010203n)
  t.equal(parseIp('::1').n, 1n)
  t.equal(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff').n, (1n << 128n) - 1n)
})

t.test('strings that are refused, each with its code and the offending input', async (t) => {
  for (const [s, code] of badIps) {
    const err = t.throws(() => parseIp(s), String(s)) as AddressError
    t.ok(err instanceof AddressError, `${String(s)} is an AddressError`)
    t.equal(err.code, code, `${JSON.stringify(s)} -> ${code}`)
    t.equal(err.input, s)
    t.equal(tryParseIp(s), undefined)
    t.equal(ipFamily(s), undefined)
    t.equal(canonicalIp(s), undefined)
  }
  t.match(t.throws(() => parseIp('10.1')), { message: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)' })
  t.match(t.throws(() => parseIp('012.1.2.3')), { message: 'must not have leading 0s', name: 'AddressError' })
  t.match(t.throws(() => parseIp('::ffff:1.2.3.4')), { message: 'must not be an IPv4-mapped IPv6 address' })
  t.match(t.throws(() => parseIp('fe80::1%eth0')), { message: /zone/ })
})

t.test('options: unmap IPv4-mapped addresses; allow a zone', async (t) => {
  const m = parseIp('::ffff:10.1.2.3', { mapped: 'unmap' })
  t.same(m, { family: 4, n: 0x0a010203n })
  t.equal(formatIp(m), '10.1.2.3')
  t.equal(formatIp(parseIp('::ffff:a01:203', { mapped: 'unmap' })), '10.1.2.3')
  t.throws(() => parseIp('::ffff:10.1.2.03', { mapped: 'unmap' }), { code: 'EADDR_LEADING_ZERO' })
  t.throws(() => parseIp('::ffff:10.1.2.3', { mapped: 'reject' }), { code: 'EADDR_MAPPED' })
  const z = parseIp('fe80::1%eth0', { zone: true })
  t.same(z, { family: 6, n: (0xfe80n << 112n) | 1n, zone: 'eth0' })
  t.equal(formatIp(z), 'fe80::1%eth0')
  t.equal(parseIp('fe80::1%2', { zone: true }).zone, '2')
  t.same(parseIp('fe80::1', { zone: true }), { family: 6, n: (0xfe80n << 112n) | 1n }, 'no zone written, none returned')
  t.notOk('zone' in parseIp('fe80::1', { zone: true }), 'not even as an undefined key')
  for (const bad of ['fe80::1%', 'fe80::1%a b', 'fe80::1%a/b', 'fe80::1%0123456789abcdef']) {
    t.throws(() => parseIp(bad, { zone: true }), { code: 'EADDR_SYNTAX' }, bad)
  }
  t.throws(() => parseIp('1.2.3.4%eth0', { zone: true }), { code: 'EADDR_SYNTAX' }, 'IPv4 has no zone')
})

t.test('CIDRs: subnets by default, interface addresses when asked', async (t) => {
  const good: Array<[string, string]> = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['10.244.1.0/24', '10.244.1.0/24'],
    ['::/0', '::/0'],
    ['fd00::/64', 'fd00::/64'],
    ['FD00:0:0:0::/64', 'fd00::/64'],
    ['fd00::1/128', 'fd00::1/128'],
  ]
  for (const [s, canon] of good) {
    t.equal(formatCidr(parseCidr(s)), canon, s)
    t.ok(tryParseCidr(s), s)
  }
  const bad: Array<[unknown, string, object?]> = [
    ['10.1/24', 'ECIDR_SYNTAX'],
    ['1.2.3/24', 'ECIDR_SYNTAX'],
    ['0x1.2.3.0/24', 'ECIDR_SYNTAX'],
    ['012.1.2.0/24', 'EADDR_LEADING_ZERO'],
    ['::ffff:10.0.0.0/104', 'EADDR_MAPPED'],
    ['::ffff:10.0.0.0/104', 'EADDR_MAPPED', { mapped: 'unmap' }],
    ['fe80::%eth0/64', 'EADDR_ZONE'],
    ['10.0.0.0', 'ECIDR_SYNTAX'],
    ['/24', 'ECIDR_SYNTAX'],
    ['10.0.0.0/', 'ECIDR_PREFIX'],
    ['10.0.0.0/33', 'ECIDR_PREFIX'],
    ['10.0.0.0/024', 'ECIDR_PREFIX'],
    ['10.0.0.0/00', 'ECIDR_PREFIX'],
    ['10.0.0.0/-1', 'ECIDR_PREFIX'],
    ['10.0.0.0/+8', 'ECIDR_PREFIX'],
    ['10.0.0.0/8 ', 'ECIDR_PREFIX'],
    ['10.0.0.0/1000', 'ECIDR_PREFIX'],
    ['10.0.0.0/x', 'ECIDR_PREFIX'],
    ['10.0.0.0/24/24', 'ECIDR_PREFIX'],
    ['10.0.0.0/8:', 'ECIDR_PREFIX'],
    ['fd00::/129', 'ECIDR_PREFIX'],
    ['10.1.2.3/24', 'ECIDR_HOST_BITS'],
    ['10.1.2.3/24', 'ECIDR_HOST_BITS', { hostBits: 'reject' }],
    ['fd00::1/64', 'ECIDR_HOST_BITS'],
    ['10.244.1.0/40', 'ECIDR_PREFIX'],
    [24, 'EADDR_TYPE'],
    [undefined, 'EADDR_TYPE'],
  ]
  for (const [s, code, opts] of bad) {
    const err = t.throws(() => parseCidr(s, opts), String(s)) as AddressError
    t.ok(err instanceof AddressError)
    t.equal(err.code, code, `${JSON.stringify(s)} ${JSON.stringify(opts ?? {})} -> ${code}`)
    t.equal(err.input, s, 'the error carries the whole input')
    t.equal(tryParseCidr(s, opts), undefined)
  }
  t.match(t.throws(() => parseCidr('10.1/24')), { message: 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' })
  t.match(t.throws(() => parseCidr('10.1.2.3/24')), { message: 'must not have bits set beyond the prefix length (did you mean 10.1.2.0/24?)' })
  t.match(t.throws(() => parseCidr('012.1.2.0/24')), { message: 'must not have leading 0s' })
  t.match(t.throws(() => parseCidr('::ffff:10.0.0.0/104', { mapped: 'unmap' })), { message: 'must not have an IPv4-mapped IPv6 address' })
  t.match(t.throws(() => parseCidr('10.0.0.0/33')), { message: 'prefix length must be 0..32 without leading 0s' })
  t.match(t.throws(() => parseCidr('fd00::/129')), { message: 'prefix length must be 0..128 without leading 0s' })

  const ifaddr = parseCidr('10.1.2.3/24', { hostBits: 'keep' })
  t.same(ifaddr, { addr: { family: 4, n: 0x0a010203n }, prefix: 24 })
  t.equal(formatCidr(ifaddr), '10.1.2.3/24')
  t.equal(formatCidr(parseCidr('fd00::5/64', { hostBits: 'keep' })), 'fd00::5/64')
  t.throws(() => parseCidr('::ffff:10.1.2.3', { mapped: 'unmap' }), { code: 'ECIDR_SYNTAX' })
})

t.test('CIDR math: network, last, size, contains, offset', async (t) => {
  const c = parseCidr('10.1.2.99/24', { hostBits: 'keep' })
  t.equal(formatIp(networkOf(c)), '10.1.2.0')
  t.equal(formatIp(lastOf(c)), '10.1.2.255')
  t.equal(sizeOf(c), 256n)
  t.equal(sizeOf(parseCidr('0.0.0.0/0')), 1n << 32n)
  t.equal(sizeOf(parseCidr('fd00::/64')), 1n << 64n)
  const v6 = parseCidr('fd00::/120')
  t.equal(formatIp(networkOf(v6)), 'fd00::')
  t.equal(formatIp(lastOf(v6)), 'fd00::ff')
  t.ok(contains(c, parseIp('10.1.2.0')))
  t.ok(contains(c, parseIp('10.1.2.255')))
  t.notOk(contains(c, parseIp('10.1.3.0')))
  t.notOk(contains(c, parseIp('10.1.1.255')))
  t.notOk(contains(parseCidr('0.0.0.0/0'), parseIp('::')), 'families never match')
  t.notOk(contains(parseCidr('::/0'), parseIp('0.0.0.0')))
  t.ok(contains(parseCidr('::/0'), parseIp('fd00::1')))
  t.ok(contains(v6, parseIp('fd00::80')))
  t.notOk(contains(v6, parseIp('fd00::100')))
  t.equal(formatIp(offset(parseIp('10.0.0.255'), 1n)), '10.0.1.0')
  t.equal(formatIp(offset(parseIp('10.0.1.0'), -1n)), '10.0.0.255')
  t.equal(bits(4), 32)
  t.equal(bits(6), 128)
  t.equal(familyName(4), 'IPv4')
  t.equal(familyName(6), 'IPv6')
})

t.test('bytes both ways', async (t) => {
  t.same([...ipToBytes(parseIp('10.1.2.3'))], [10, 1, 2, 3])
  t.same([...ipToBytes(parseIp('fd00::1'))], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
  t.same([...ipToBytes(parseIp('0.0.0.0'))], [0, 0, 0, 0])
  t.same(ipFromBytes([10, 1, 2, 3]), { family: 4, n: 0x0a010203n })
  t.equal(formatIp(ipFromBytes(Buffer.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))), 'fd00::1')
  t.equal(formatIp(ipFromBytes([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3])), '::ffff:a01:203', 'the kernel may report a mapped address: it stays IPv6')
  t.throws(() => ipFromBytes([1, 2, 3]), { code: 'EADDR_SYNTAX', message: 'an address is 4 or 16 bytes' })
  t.throws(() => ipFromBytes(new Array(15).fill(0)), { code: 'EADDR_SYNTAX' })
})

// The IPv4 scanner against the rule it implements, written the slow and obvious way:
// split on '.', four parts of 1-3 decimal digits at most 255, then no leading zeros.
function referenceV4(s: string): { code: string } | { n: bigint } {
  const parts = s.split('.')
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) return { code: 'EADDR_SYNTAX' }
  if (!parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return { code: 'EADDR_LEADING_ZERO' }
  return { n: parts.reduce((n, p) => (n << 8n) | BigInt(p), 0n) }
}

t.test('IPv4 text: every string of a small alphabet gets the verdict of the reference rule', async (t) => {
  const alphabet = ['0', '1', '2', '5', '6', '9', '.', '.', 'a', ' ', '%', '/', '+', '-']
  let seed = 7
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n)
  const cases = ['', '.', '...', '....', '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.4.', '255.255.255.255', '256.0.0.0', '0.0.0.00',
    '00.0.0.0', '1.2.3.4567', '01.2.3.256', '1.2.3.04.5', '4294967295', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.٣', '1.2.3.4\n']
  for (let i = 0; i < 20000; i++) {
    // mostly dotted quads with a fault or two, so that many are close to valid
    const quad = Array.from({ length: 4 }, () => String(rand(300)).padStart(rand(4), '0')).join('.')
    const chars = [...quad]
    for (let k = rand(3); k > 0; k--) chars.splice(rand(chars.length + 1), rand(2), alphabet[rand(alphabet.length)]!)
    cases.push(chars.join(''))
  }
  let mismatches = 0
  for (const s of cases) {
    const want = referenceV4(s)
    const got = tryParseIp(s)
    const code = got ? undefined : (() => { try { parseIp(s) } catch (e) { return (e as AddressError).code } })()
    const ok = 'n' in want ? got?.family === 4 && got.n === want.n && ipFamily(s) === 'IPv4' : code === want.code && ipFamily(s) === undefined
    if (!ok && mismatches++ < 10) t.fail(`${JSON.stringify(s)}: want ${'n' in want ? want.n : want.code}, got ${got ? got.n : code}`)
  }
  t.equal(mismatches, 0, `${cases.length} strings, all with the reference verdict`)
  t.ok(cases.filter((s) => 'n' in referenceV4(s)).length > 1000, 'and many of them valid addresses')
})
