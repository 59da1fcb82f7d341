import t from 'tap'
import { bridgeNetfilterProblem } from '../../src/proxy/bridge-netfilter.ts'

const err = (code: string) => () => { throw Object.assign(new Error(`${code}: nope`), { code }) }

t.test('loaded and on: no problem', async (t) => {
  t.equal(bridgeNetfilterProblem(() => '1\n'), undefined)
})

t.test('the module absent: says so and how to load it', async (t) => {
  t.match(bridgeNetfilterProblem(err('ENOENT')), /^the br_netfilter module is not loaded: .*same bridge.*\(run modprobe br_netfilter\)$/)
})

t.test('loaded but off: names the sysctl and its value', async (t) => {
  t.equal(bridgeNetfilterProblem(() => '0\n'),
    '/proc/sys/net/bridge/bridge-nf-call-iptables is 0: traffic from a pod to a Service whose endpoint is a pod on the same bridge gets no answer (set it to 1)')
})

t.test('unreadable for another reason: says why', async (t) => {
  t.equal(bridgeNetfilterProblem(err('EACCES')), 'cannot read /proc/sys/net/bridge/bridge-nf-call-iptables: EACCES: nope')
})

t.test('reads the real sysctl by default', async (t) => {
  let asked = ''
  bridgeNetfilterProblem((p) => { asked = p; return '1' })
  t.equal(asked, '/proc/sys/net/bridge/bridge-nf-call-iptables')
  t.doesNotThrow(() => bridgeNetfilterProblem())
})
