import t from 'tap'
import { parseResult, resultForVersion } from '../../src/cni/result-version.ts'
import { compareVersions, checkSupported } from '../../src/cni/version.ts'
import type { CniResult } from '../../src/cni/types.ts'

const r: CniResult = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'cni0', mac: 'aa:bb:cc:dd:ee:ff' }, { name: 'eth0', mac: '11:22:33:44:55:66', sandbox: '/run/netns/p' }],
  ips: [{ address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 1 }, { address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.244.0.1' }],
}

t.test('1.x results carry no per-IP version', async (t) => {
  for (const v of ['1.0.0', '1.1.0']) {
    const out = resultForVersion(r, v) as { cniVersion: string; ips: Array<Record<string, unknown>> }
    t.equal(out.cniVersion, v)
    t.notOk('version' in out.ips[0]!)
  }
})

t.test('0.3.x and 0.4.0 results carry the IP family as version', async (t) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    const out = resultForVersion(r, v) as { cniVersion: string; ips: Array<Record<string, unknown>> }
    t.equal(out.cniVersion, v)
    t.equal(out.ips[0]!.version, '4')
    t.equal(out.ips[1]!.version, '6')
    t.equal(out.ips[0]!.interface, 1)
  }
})

t.test('round trip through an old version keeps everything that matters', async (t) => {
  const back = parseResult(resultForVersion(r, '0.4.0'))
  t.same(back.ips, r.ips)
  t.same(back.routes, r.routes)
  t.same(back.interfaces, r.interfaces)
})

t.test('malformed results are decode failures naming the field', async (t) => {
  t.throws(() => parseResult('x'), { code: 6, message: /prevResult: expected a JSON object/ })
  t.throws(() => parseResult({ cniVersion: '1.0.0', ips: {} }), { code: 6, message: /prevResult.ips: expected an array/ })
  t.throws(() => parseResult({ cniVersion: '1.0.0', ips: [{}] }), { code: 6, message: /prevResult.ips\[0\].address/ })
  t.throws(() => parseResult({ cniVersion: '9.9.9' }), { code: 1 })
})

t.test('versions compare numerically', async (t) => {
  t.equal(compareVersions('0.10.0', '0.4.0'), 1)
  t.equal(compareVersions('1.0.0', '1.0.0'), 0)
  t.equal(compareVersions('0.3.1', '1.1.0'), -1)
  t.throws(() => checkSupported('0.2.0'), { code: 1 })
  t.throws(() => checkSupported(undefined), { code: 7, message: /cniVersion: missing/ })
  t.equal(checkSupported('1.1.0'), '1.1.0')
})
