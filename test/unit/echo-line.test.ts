import t from 'tap'
import { clientAddress, echoLine } from '../../src/echo/line.ts'

t.test('IPv4 clients of a dual-stack socket are shown unmapped', async (t) => {
  t.equal(clientAddress('::ffff:10.244.1.5'), '10.244.1.5')
  t.equal(echoLine('web-1', '::ffff:10.244.1.5', 40000), 'web-1 10.244.1.5:40000\n')
})

t.test('IPv4 and IPv6 addresses print in canonical form', async (t) => {
  t.equal(echoLine('a', '10.0.0.1', 1), 'a 10.0.0.1:1\n')
  t.equal(echoLine('a', 'FD00:0:0::0001', 53), 'a fd00::1:53\n')
  t.equal(clientAddress('fe80::1%eth0'), 'fe80::1%eth0')
})

t.test('an address the parser does not know is shown as given, never dropped', async (t) => {
  t.equal(clientAddress(''), '')
  t.equal(clientAddress('weird'), 'weird')
})
