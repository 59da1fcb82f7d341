import t from 'tap'
import { CniError, ErrCode } from '../../src/cni/errors.ts'
import { type Addr, formatCidr, formatIp, tryParseIp } from '../../src/net/address.ts'
import {
  type RawRange, type Range, canonicalizeRange, isReservedInRange, rangeContains, rangeFor, rangeString, rangesOverlap,
} from '../../src/ipam/range.ts'

const ip = (s: string): Addr => tryParseIp(s)!
const range = (raw: RawRange): Range => canonicalizeRange(raw, 'r')

/** The range as text, to compare whole ranges at a glance. */
function show(r: Range) {
  return { subnet: formatCidr(r.subnet), start: formatIp(r.rangeStart), end: formatIp(r.rangeEnd), gw: formatIp(r.gateway), last: formatIp(r.last) }
}

function rejection(raw: RawRange): string {
  try {
    canonicalizeRange(raw, 'ipam.ranges[2][1]')
  } catch (e) {
    if (e instanceof CniError && e.code === ErrCode.InvalidConfig) return e.message
    throw e
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`)
}

t.test('defaults: gateway and rangeStart are network + 1; IPv4 ends before broadcast, IPv6 on the last address', async (t) => {
  t.same(show(range({ subnet: '10.0.0.0/24' })), { subnet: '10.0.0.0/24', start: '10.0.0.1', end: '10.0.0.254', gw: '10.0.0.1', last: '10.0.0.255' })
  t.same(show(range({ subnet: '10.0.0.0/30' })), { subnet: '10.0.0.0/30', start: '10.0.0.1', end: '10.0.0.2', gw: '10.0.0.1', last: '10.0.0.3' })
  t.same(show(range({ subnet: 'fd00::/126' })), { subnet: 'fd00::/126', start: 'fd00::1', end: 'fd00::3', gw: 'fd00::1', last: 'fd00::3' })
})

t.test('explicit start, end and gateway are kept as given', async (t) => {
  t.same(show(range({ subnet: '10.0.0.0/16', rangeStart: '10.0.5.10', rangeEnd: '10.0.5.20', gateway: '10.0.255.254' })),
    { subnet: '10.0.0.0/16', start: '10.0.5.10', end: '10.0.5.20', gw: '10.0.255.254', last: '10.0.255.255' })
})

t.test('a range of one address (rangeStart = rangeEnd) is allowed', async (t) => {
  const r = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.9', rangeEnd: '10.0.0.9' })
  t.equal(rangeString(r), '10.0.0.9-10.0.0.9')
})

t.test('the smallest subnets that still leave an address: /30 and /126', async (t) => {
  t.equal(rangeString(range({ subnet: '192.168.1.4/30' })), '192.168.1.5-192.168.1.6')
  t.equal(rangeString(range({ subnet: 'fd00::4/126' })), 'fd00::5-fd00::7')
})

const bad: Array<[string, RawRange, string]> = [
  ['not a CIDR', { subnet: '10.0.0.0' }, 'ipam.ranges[2][1].subnet: "10.0.0.0" is not a CIDR (want e.g. 10.244.0.0/24 or fd00::/64)'],
  ['IPv4 /31', { subnet: '10.0.0.0/31' }, 'ipam.ranges[2][1].subnet: 10.0.0.0/31 is too small to allocate from'],
  ['IPv4 /32', { subnet: '10.0.0.0/32' }, 'ipam.ranges[2][1].subnet: 10.0.0.0/32 is too small to allocate from'],
  ['IPv6 /127', { subnet: 'fd00::/127' }, 'ipam.ranges[2][1].subnet: fd00::/127 is too small to allocate from'],
  ['host bits set', { subnet: '10.0.0.1/30' }, 'ipam.ranges[2][1].subnet: 10.0.0.1/30 has host bits set; the network address for /30 is 10.0.0.0'],
  ['IPv6 host bits set', { subnet: 'fd00::1/64' }, 'ipam.ranges[2][1].subnet: fd00::1/64 has host bits set; the network address for /64 is fd00::'],
  ['gateway not an address', { subnet: '10.0.0.0/24', gateway: 'gw' }, 'ipam.ranges[2][1].gateway: "gw" is not an IP address'],
  ['gateway outside', { subnet: '10.0.0.0/24', gateway: '10.0.1.1' }, 'ipam.ranges[2][1].gateway: 10.0.1.1 is not in subnet 10.0.0.0/24'],
  ['rangeStart outside', { subnet: '10.0.0.0/24', rangeStart: '10.0.1.1' }, 'ipam.ranges[2][1].rangeStart: 10.0.1.1 is not in subnet 10.0.0.0/24'],
  ['rangeStart not an address', { subnet: '10.0.0.0/24', rangeStart: 'x' }, 'ipam.ranges[2][1].rangeStart: "x" is not an IP address'],
  ['rangeEnd outside', { subnet: '10.0.0.0/24', rangeEnd: '10.0.1.1' }, 'ipam.ranges[2][1].rangeEnd: 10.0.1.1 is not in subnet 10.0.0.0/24'],
  ['rangeEnd of the other family', { subnet: 'fd00::/64', rangeEnd: '10.0.0.1' }, 'ipam.ranges[2][1].rangeEnd: 10.0.0.1 is not in subnet fd00::/64'],
  ['rangeStart after rangeEnd', { subnet: '10.0.0.0/24', rangeStart: '10.0.0.6', rangeEnd: '10.0.0.5' }, 'ipam.ranges[2][1].rangeStart: 10.0.0.6 is after rangeEnd 10.0.0.5'],
  ['rangeStart after the default rangeEnd', { subnet: '10.0.0.0/24', rangeStart: '10.0.0.255' }, 'ipam.ranges[2][1].rangeStart: 10.0.0.255 is after rangeEnd 10.0.0.254'],
]
for (const [name, raw, msg] of bad) {
  t.test(`rejects: ${name}`, async (t) => t.equal(rejection(raw), msg))
}

t.test('membership includes both ends of rangeStart..rangeEnd and nothing beyond', async (t) => {
  const r = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' })
  const member = (s: string) => rangeContains(r, ip(s))
  t.equal(member('10.0.0.9'), false, 'one before rangeStart')
  t.equal(member('10.0.0.10'), true, 'rangeStart')
  t.equal(member('10.0.0.15'), true, 'inside')
  t.equal(member('10.0.0.20'), true, 'rangeEnd')
  t.equal(member('10.0.0.21'), false, 'one after rangeEnd')
  t.equal(member('10.0.0.1'), false, 'in the subnet but before the range')
})

t.test('membership is per family: an IPv6 address with the same number is not in an IPv4 range', async (t) => {
  const r = range({ subnet: '10.0.0.0/24' })
  t.equal(rangeContains(r, ip('10.0.0.5')), true)
  t.equal(rangeContains(r, ip('::a00:5')), false)
  const r6 = range({ subnet: '::a00:0/120' })
  t.equal(rangeContains(r6, ip('::a00:5')), true)
  t.equal(rangeContains(r6, ip('10.0.0.5')), false)
})

t.test('overlap: sharing one address is an overlap, touching end to start is not', async (t) => {
  const a = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' })
  const atEnd = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.20', rangeEnd: '10.0.0.30' })
  const atStart = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.10' })
  const after = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.21', rangeEnd: '10.0.0.30' })
  const before = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.2', rangeEnd: '10.0.0.9' })
  const inside = range({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.12', rangeEnd: '10.0.0.12' })
  for (const [name, b, want] of [['shares a.rangeEnd', atEnd, true], ['shares a.rangeStart', atStart, true], ['right after', after, false],
    ['right before', before, false], ['inside', inside, true], ['itself', a, true]] as const) {
    t.equal(rangesOverlap(a, b), want, name)
    t.equal(rangesOverlap(b, a), want, `${name} (swapped)`)
  }
})

t.test('overlap is per family', async (t) => {
  t.equal(rangesOverlap(range({ subnet: '10.0.0.0/24' }), range({ subnet: '::a00:0/120' })), false)
  t.equal(rangesOverlap(range({ subnet: '::a00:0/120' }), range({ subnet: '::a00:0/121' })), true)
})

t.test('rangeFor picks the range that holds the address', async (t) => {
  const set = [range({ subnet: '10.0.0.0/24' }), range({ subnet: '10.0.1.0/24' })]
  t.equal(rangeFor(set, ip('10.0.1.254')), set[1])
  t.equal(rangeFor(set, ip('10.0.0.1')), set[0])
  t.equal(rangeFor(set, ip('10.0.1.255')), undefined, 'broadcast is past rangeEnd')
  t.equal(rangeFor(set, ip('10.0.2.1')), undefined)
})

t.test('reserved: the gateway, and for IPv4 the network and broadcast addresses', async (t) => {
  const v4 = range({ subnet: '10.0.0.0/24', gateway: '10.0.0.254' })
  const reserved4 = (s: string) => isReservedInRange(v4, ip(s))
  t.equal(reserved4('10.0.0.254'), true, 'gateway')
  t.equal(reserved4('10.0.0.0'), true, 'network')
  t.equal(reserved4('10.0.0.255'), true, 'broadcast')
  t.equal(reserved4('10.0.0.1'), false, 'network + 1 when the gateway is elsewhere')
  t.equal(reserved4('10.0.0.253'), false)
  const v6 = range({ subnet: 'fd00::/120', gateway: 'fd00::fe' })
  const reserved6 = (s: string) => isReservedInRange(v6, ip(s))
  t.equal(reserved6('fd00::fe'), true, 'gateway')
  t.equal(reserved6('fd00::'), false, 'IPv6 has no network address to skip')
  t.equal(reserved6('fd00::ff'), false, 'IPv6 has no broadcast')
  t.equal(reserved6('fd00::1'), false)
})
