// Addresses in flags and listener specs go through the one address module too:
// node:net's isIP took zones ("fe80::1%eth0") and IPv4-mapped IPv6.
import t from 'tap'
import { parseBindAddress } from '../../src/agent/bind-address.ts'
import { sockaddr } from '../../src/api/server/netns-socket.ts'

t.test('bind addresses: strict IPs only', async (t) => {
  t.same(parseBindAddress('--healthz-bind-address', '0.0.0.0:10256', 1), { host: '0.0.0.0', port: 10256 })
  t.same(parseBindAddress('--healthz-bind-address', '::1', 10256), { host: '::1', port: 10256 })
  t.same(parseBindAddress('--healthz-bind-address', '[fd00::1]:9', 10256), { host: 'fd00::1', port: 9 })
  for (const bad of ['0127.0.0.1:10256', '127.1:10256', '[::ffff:127.0.0.1]:10256', 'fe80::1%lo', '[fe80::1%lo]:10256', '::ffff:127.0.0.1']) {
    t.throws(() => parseBindAddress('--healthz-bind-address', bad, 10256), { code: 'INVALID_HEALTHZ_BIND_ADDRESS' }, bad)
  }
})

t.test('a listener in a namespace needs a strict IP', async (t) => {
  const v4 = sockaddr('10.0.0.1', 6443)
  t.same([...v4.buf.subarray(4, 8)], [10, 0, 0, 1])
  t.equal(v4.buf.readUInt16BE(2), 6443)
  const v6 = sockaddr('fd00::1', 6443)
  t.equal(v6.buf.length, 28)
  t.equal(v6.buf[8 + 15], 1)
  for (const bad of ['10.1', '010.0.0.1', '::ffff:10.0.0.1', 'fe80::1%eth0', 'localhost']) {
    t.throws(() => sockaddr(bad, 6443), { code: 'EBADHOST' }, bad)
  }
})
