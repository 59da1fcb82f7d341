// netlink input goes through the one address module: nothing ambiguous is turned
// into bytes for the kernel (ipaddr.js alone read "10.1" as 10.0.0.1 and
// "012.1.2.3" as 10.1.2.3), and each refusal names the field.
import t from 'tap'
import { formatIp, parseCidr, parseIp } from '../../src/netlink/input.ts'

t.test('ambiguous addresses never become bytes', async (t) => {
  for (const bad of ['10.1', '1.2.3', '012.1.2.3', '0x1.2.3.4', '::ffff:1.2.3.04', '::ffff:1.2.3.4', 'fe80::1%eth0', '167772161']) {
    t.throws(() => parseIp('addNeigh', 'ip', bad), { name: 'NetlinkInputError', code: 'EINVAL_IP', field: 'ip' }, bad)
    t.throws(() => parseCidr('addAddr', 'cidr', `${bad}/24`), { code: 'EINVAL_CIDR', field: 'cidr' }, `${bad}/24`)
  }
  t.match(t.throws(() => parseIp('addRoute', 'gw', '012.1.2.3')), { message: /gw "012.1.2.3": must not have leading 0s/ })
  t.throws(() => parseCidr('addAddr', 'cidr', '10.1.2.3/024'), { code: 'EINVAL_CIDR' })
})

t.test('interface addresses keep their host bits; bytes format back canonically', async (t) => {
  t.same(parseCidr('addAddr', 'cidr', '10.244.1.1/24'), { family: 4, bytes: Buffer.from([10, 244, 1, 1]), len: 24 })
  t.same(parseIp('addNeigh', 'ip', '::1.2.3.4'), { family: 6, bytes: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]) }, 'IPv4-compatible stays IPv6, not mapped')
  t.equal(formatIp(parseIp('x', 'ip', 'FD00:0::1').bytes), 'fd00::1')
  t.equal(formatIp(Buffer.from([10, 0, 0, 1])), '10.0.0.1')
})
