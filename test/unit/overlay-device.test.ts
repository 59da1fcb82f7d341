// The device check (adopt, fix in place, or recreate), the VTEP MAC choice and
// the annotation patch.
import t from 'tap'
import type { Node } from '../../src/cluster/model.ts'
import type { Link } from '../../src/netlink/index.ts'
import { judgeDevice } from '../../src/overlay/device-compat.ts'
import type { DevicePlan } from '../../src/overlay/plan.ts'
import { annotationsToPublish, chooseVtepMac } from '../../src/overlay/vtep-mac.ts'

const want: DevicePlan = { vni: 1, port: 8472, mtu: 1450, mac: '02:00:00:00:00:01', local: '172.19.0.11', addresses: ['10.244.1.0/32'] }
const good: Link = { index: 7, name: 'pontoon.1', kind: 'vxlan', mac: '02:00:00:00:00:01', mtu: 1450, up: true, promisc: false, vxlan: { vni: 1, port: 8472, learning: false, local: '172.19.0.11', linkIndex: 2 } }
const vx = (v: Partial<NonNullable<Link['vxlan']>>): Link => ({ ...good, vxlan: { ...good.vxlan!, ...v } })

t.test('no device: create it', async (t) => {
  t.same(judgeDevice(undefined, want, 2), { action: 'create' })
})

t.test('a compatible device is adopted, with what differs set in place', async (t) => {
  t.same(judgeDevice(good, want, 2), { action: 'adopt', setUp: false })
  t.same(judgeDevice({ ...good, up: false, mtu: 1400, mac: '02:00:00:00:00:09' }, want, 2), { action: 'adopt', setUp: true, setMtu: 1450, setMac: '02:00:00:00:00:01' })
})

t.test('anything that cannot change in place means a new device, with every reason', async (t) => {
  t.same(judgeDevice({ ...good, kind: 'bridge', vxlan: undefined } as Link, want, 2), { action: 'recreate', reasons: ['it is a bridge device'] })
  const { kind: _k, vxlan: _v, ...plain } = good
  t.same(judgeDevice(plain as Link, want, 2), { action: 'recreate', reasons: ['it is not a vxlan device'] })
  t.same(judgeDevice({ ...good, vxlan: undefined } as Link, want, 2), { action: 'recreate', reasons: ['it is a vxlan device'] }, 'a vxlan without its info cannot be judged')
  t.same(judgeDevice(vx({ vni: 2 }), want, 2), { action: 'recreate', reasons: ['VNI 2, want 1'] })
  t.same(judgeDevice(vx({ port: 4789 }), want, 2), { action: 'recreate', reasons: ['port 4789, want 8472'] })
  t.same(judgeDevice(vx({ learning: true }), want, 2), { action: 'recreate', reasons: ['learning on, want off'] })
  t.same(judgeDevice(vx({ local: '172.19.0.99' }), want, 2), { action: 'recreate', reasons: ['local 172.19.0.99, want 172.19.0.11'] })
  t.same(judgeDevice(vx({ local: undefined }), want, 2), { action: 'recreate', reasons: ['local unset, want 172.19.0.11'] })
  t.same(judgeDevice(vx({}), want, 3), { action: 'recreate', reasons: ['underlay device #2, want #3'] })
  t.same(judgeDevice(vx({ linkIndex: undefined }), want, 2), { action: 'recreate', reasons: ['underlay device #unset, want #2'] })
  t.same(judgeDevice(vx({ vni: 9, port: 1 }), want, 2), { action: 'recreate', reasons: ['VNI 9, want 1', 'port 1, want 8472'] })
})

const node = (annotations: Record<string, string>): Node => ({ name: 'node-1', podCIDRs: [], internalIPs: [], externalIPs: [], ready: true, zone: null, annotations })

t.test('the VTEP MAC: the annotation, else the existing device, else new', async (t) => {
  t.equal(chooseVtepMac(node({ 'pontoon.io/vtep-mac': '02:00:00:00:00:aa' }), good), '02:00:00:00:00:aa', 'the published MAC survives a restart')
  t.equal(chooseVtepMac(node({ 'pontoon.io/vtep-mac': 'junk' }), good), '02:00:00:00:00:01', 'a broken annotation falls back to the device')
  t.equal(chooseVtepMac(node({}), good), '02:00:00:00:00:01')
  t.equal(chooseVtepMac(undefined, good), '02:00:00:00:00:01')
  t.equal(chooseVtepMac(node({}), { ...good, kind: 'bridge' }, () => Buffer.from([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05', 'not a non-vxlan device\'s MAC; new ones are local and unicast')
  t.equal(chooseVtepMac(node({}), undefined, () => Buffer.from([0x01, 0xab, 0xcd, 0xef, 0x10, 0x20, 0x30])), '02:ab:cd:ef:10:20')
  t.equal(chooseVtepMac(node({}), { ...good, mac: '01:00:5e:00:00:01' }, () => Buffer.from([0, 0, 0, 0, 0, 1])), '02:00:00:00:00:01', 'a multicast device MAC is not reused')
  const random = chooseVtepMac(undefined, undefined)
  t.match(random, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)
  t.equal(parseInt(random.slice(0, 2), 16) & 3, 2)
})

t.test('only annotations that differ are patched; null removes one that is there', async (t) => {
  const have = node({ 'pontoon.io/backend-type': 'vxlan', 'pontoon.io/public-ip': '172.19.0.11' })
  t.equal(annotationsToPublish(have, { 'pontoon.io/backend-type': 'vxlan', 'pontoon.io/public-ip': '172.19.0.11' }), null)
  t.same(annotationsToPublish(have, { 'pontoon.io/backend-type': 'host-gw', 'pontoon.io/public-ip': '172.19.0.11', 'pontoon.io/vtep-mac': null }), { 'pontoon.io/backend-type': 'host-gw' })
  t.same(annotationsToPublish(have, { 'pontoon.io/vtep-mac': '02:00:00:00:00:01' }), { 'pontoon.io/vtep-mac': '02:00:00:00:00:01' })
  t.same(annotationsToPublish(node({ 'pontoon.io/vtep-mac': 'x' }), { 'pontoon.io/vtep-mac': null }), { 'pontoon.io/vtep-mac': null })
})
