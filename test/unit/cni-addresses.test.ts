// The CNI side reads a delegated IPAM's result (or a prevResult) through the one
// address module: an address the kernel and nft would read differently is a
// decode failure naming the field, before anything is planned.
import t from 'tap'
import { parseResult } from '../../src/cni/result-version.ts'
import { defaultGateway, subnetOf } from '../../src/cni/bridge/plan.ts'
import { ErrCode } from '../../src/cni/errors.ts'

const result = (ip: object) => ({ cniVersion: '1.0.0', ips: [ip] })

t.test('ambiguous addresses in a result are refused, naming the field', async (t) => {
  for (const address of ['10.1/24', '012.1.2.3/24', '1.2.3/24', '0x1.2.3.4/24', '::ffff:10.0.0.5/120', '10.0.0.5', '10.0.0.5/33', 'fe80::1%eth0/64']) {
    t.throws(() => parseResult(result({ address }), 'ipam'), { code: ErrCode.DecodeFailure, message: /^ipam\.ips\[0\]\.address: / }, address)
  }
  for (const gateway of ['10.1', '10.0.0.01', '::ffff:10.0.0.1', '10.0.0.1/24']) {
    t.throws(() => parseResult(result({ address: '10.0.0.5/24', gateway }), 'ipam'), { code: ErrCode.DecodeFailure, message: /^ipam\.ips\[0\]\.gateway: / }, gateway)
  }
  t.match(t.throws(() => parseResult(result({ address: '10.0.0.012/24' }))), { message: 'prevResult.ips[0].address: "10.0.0.012/24" must not have leading 0s' })
})

t.test('valid interface addresses pass unchanged; plan helpers compute from them', async (t) => {
  const r = parseResult(result({ address: '10.244.1.5/24', gateway: '10.244.1.1' }))
  t.same(r.ips, [{ address: '10.244.1.5/24', gateway: '10.244.1.1' }])
  t.same(parseResult(result({ address: 'fd00:244::5/64' })).ips, [{ address: 'fd00:244::5/64' }])
  t.equal(defaultGateway('10.244.1.5/24'), '10.244.1.1')
  t.equal(defaultGateway('fd00:244::5/64'), 'fd00:244::1')
  t.equal(subnetOf('10.244.1.5/24'), '10.244.1.0/24')
  t.equal(subnetOf('FD00:244::5/64'), 'fd00:244::/64')
  t.throws(() => subnetOf('10.1/24'), { code: 'ECIDR_SYNTAX' })
})
