import t from 'tap'
import { parseResult, resultForVersion } from '../../src/cni/result-version.ts'
import { ErrCode } from '../../src/cni/errors.ts'
import { LATEST_VERSION, SUPPORTED_VERSIONS, atLeast, compareVersions, checkSupported } from '../../src/cni/version.ts'
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

t.test('versions: each part compares on its own, and both sides must be well-formed', async (t) => {
  t.equal(compareVersions('1.0.0', '0.9.9'), 1)
  t.equal(compareVersions('0.9.9', '1.0.0'), -1)
  t.equal(compareVersions('0.4.0', '0.3.9'), 1)
  t.equal(compareVersions('0.3.9', '0.4.0'), -1)
  t.equal(compareVersions('0.3.1', '0.3.0'), 1)
  t.equal(compareVersions('0.3.0', '0.3.1'), -1)
  t.equal(compareVersions('0.0.10', '0.0.9'), 1)
  t.equal(compareVersions('10.0.0', '9.0.0'), 1, 'every part may have several digits')
  for (const [a, b, bad] of [['1.0', '1.0.0', '1.0'], ['1.0.0', 'v1.0.0', 'v1.0.0'], ['1.0.0-rc1', '1.0.0', '1.0.0-rc1'], ['1.0.0', '1.0.0.0', '1.0.0.0'], ['1.a.0', '1.0.0', '1.a.0']]) {
    t.throws(() => compareVersions(a!, b!), { code: ErrCode.IncompatibleVersion, message: `malformed version ${JSON.stringify(bad)}` }, `${a} vs ${b}`)
  }
})

t.test('atLeast', async (t) => {
  t.equal(atLeast('1.0.0', '1.0.0'), true)
  t.equal(atLeast('1.1.0', '1.0.0'), true)
  t.equal(atLeast('0.4.0', '1.0.0'), false)
})

t.test('supported versions and their errors', async (t) => {
  t.same([...SUPPORTED_VERSIONS], ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
  t.equal(LATEST_VERSION, '1.1.0')
  for (const v of SUPPORTED_VERSIONS) t.equal(checkSupported(v), v)
  t.throws(() => checkSupported(''), { code: ErrCode.InvalidConfig, message: 'cniVersion: missing; expected one of 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0' })
  t.throws(() => checkSupported(1), { code: ErrCode.InvalidConfig, message: 'cniVersion: missing; expected one of 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0' })
  t.throws(() => checkSupported('1.2.0', 'prevResult.cniVersion'), {
    code: ErrCode.IncompatibleVersion, message: 'prevResult.cniVersion: version "1.2.0" is not supported; this plugin speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0',
  })
})

const withDns: CniResult = {
  ...r,
  dns: { nameservers: ['10.96.0.10'], domain: 'cluster.local', search: ['default.svc.cluster.local'], options: ['ndots:5'] },
}

t.test('dns is kept in results of every version', async (t) => {
  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']) {
    t.same(resultForVersion(withDns, v).dns, withDns.dns, v)
  }
  t.same(parseResult(resultForVersion(withDns, '0.3.1')).dns, withDns.dns, 'and read back')
})

t.test('a whole result, exactly', async (t) => {
  t.strictSame(resultForVersion(withDns, '1.0.0'), { cniVersion: '1.0.0', interfaces: r.interfaces, ips: r.ips, routes: r.routes, dns: withDns.dns })
  t.strictSame(resultForVersion(r, '0.4.0'), {
    cniVersion: '0.4.0',
    interfaces: r.interfaces,
    ips: [
      { version: '4', address: '10.244.0.5/24', gateway: '10.244.0.1', interface: 1 },
      { version: '6', address: 'fd00::5/64', gateway: 'fd00::1', interface: 1 },
    ],
    routes: r.routes,
  })
})

t.test('empty parts are left out, ips always present', async (t) => {
  t.strictSame(resultForVersion({ cniVersion: '1.1.0' }, '1.1.0'), { cniVersion: '1.1.0', ips: [] })
  t.strictSame(resultForVersion({ cniVersion: '1.1.0', routes: [], dns: {}, ips: [] }, '0.3.1'), { cniVersion: '0.3.1', ips: [] })
  t.throws(() => resultForVersion(r, '0.2.0'), { code: ErrCode.IncompatibleVersion })
})

t.test('reading a result: defaults, optional fields by type, the field named in errors', async (t) => {
  t.strictSame(parseResult({}), { cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] })
  t.strictSame(parseResult({ cniVersion: '0.3.1', interfaces: null, routes: null, ips: [{ version: '4', address: '10.0.0.2/24', gateway: 7, interface: '0' }] }),
    { cniVersion: '0.3.1', interfaces: [], ips: [{ address: '10.0.0.2/24' }], routes: [] })
  t.strictSame(parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24', interface: 0 }], dns: 'x' }),
    { cniVersion: '1.0.0', interfaces: [], ips: [{ address: '10.0.0.2/24', interface: 0 }], routes: [] }, 'a dns that is not an object is dropped')
  t.strictSame(parseResult({ dns: { nameservers: ['1.1.1.1'] } }).dns, { nameservers: ['1.1.1.1'] })
  t.equal(parseResult({ cniVersion: 1 }).cniVersion, '1.1.0', 'a cniVersion that is not a string counts as absent')
  t.strictSame(parseResult({ dns: null }), { cniVersion: '1.1.0', interfaces: [], ips: [], routes: [] }, 'a null dns is dropped')
  t.throws(() => parseResult([], 'ipam result'), { code: ErrCode.DecodeFailure, message: 'ipam result: expected a JSON object' })
  t.throws(() => parseResult(null), { code: ErrCode.DecodeFailure, message: 'prevResult: expected a JSON object' })
  t.throws(() => parseResult({ routes: 'x' }, 'ipam result'), { code: ErrCode.DecodeFailure, message: 'ipam result.routes: expected an array' })
  t.throws(() => parseResult({ interfaces: {} }), { code: ErrCode.DecodeFailure, message: 'prevResult.interfaces: expected an array' })
  t.throws(() => parseResult({ ips: [{ address: '10.0.0.2/24' }, null] }, 'r'), { code: ErrCode.DecodeFailure, message: 'r.ips[1].address: expected a CIDR string' })
  t.throws(() => parseResult({ ips: [{ address: 'x' }] }, 'r'), { code: ErrCode.DecodeFailure, message: /^r\.ips\[0\]\.address: "x" must be a valid CIDR/ })
  t.throws(() => parseResult({ cniVersion: '2.0.0' }, 'r'), { code: ErrCode.IncompatibleVersion, message: /^r\.cniVersion: version "2\.0\.0"/ })
})
