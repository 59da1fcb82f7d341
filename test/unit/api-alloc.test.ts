import t from 'tap'
import { IpAllocator } from '../../src/api/alloc/ip-allocator.ts'
import { PortAllocator } from '../../src/api/alloc/port-allocator.ts'
import { CidrAllocator } from '../../src/api/alloc/cidr-allocator.ts'
import { ServiceAllocations } from '../../src/api/alloc/service-alloc.ts'
import type { KObject } from '../../src/api/types.ts'

t.test('IP allocator: in range, unique, never network or broadcast', async (t) => {
  const a = new IpAllocator('10.96.0.0/29')
  const got = [1, 2, 3, 4, 5, 6].map(() => a.next())
  t.same(got, ['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6'])
  t.equal(a.next(), undefined, 'full')
  a.release('10.96.0.3')
  t.equal(a.next(), '10.96.0.3')
  t.match(a.allocate('10.96.0.3'), /already allocated/)
  t.match(a.allocate('10.97.0.1'), /not in the valid range/)
  t.match(a.allocate('10.96.0.7'), /not in the valid range/, 'broadcast')
  t.match(a.allocate('10.96.0.0'), /not in the valid range/, 'network')
  const v6 = new IpAllocator('fd00:96::/120')
  t.equal(v6.next(), 'fd00:96::1')
  t.equal(v6.allocate('fd00:96::ff'), undefined)
})

t.test('port allocator', async (t) => {
  const p = new PortAllocator(30000, 30002)
  t.equal(p.allocate(30001), undefined)
  t.same([p.next(), p.next(), p.next()], [30000, 30002, undefined])
  t.match(p.allocate(29999), /not in the valid range/)
  t.match(p.allocate(30000), /already allocated/)
})

t.test('pod CIDR allocator: /24s from the cluster CIDR', async (t) => {
  const c = new CidrAllocator('10.244.0.0/22', 24)
  t.ok(c.allocate('10.244.1.0/24'))
  t.notOk(c.allocate('10.244.1.0/24'), 'taken')
  t.notOk(c.allocate('10.245.0.0/24'), 'outside')
  t.notOk(c.allocate('10.244.2.0/25'), 'wrong size')
  t.same([c.next(), c.next(), c.next(), c.next()], ['10.244.0.0/24', '10.244.2.0/24', '10.244.3.0/24', undefined])
  c.release('10.244.2.0/24')
  t.equal(c.next(), '10.244.2.0/24')
})

const mk = (spec: Record<string, unknown>): KObject => ({ metadata: { name: 's', namespace: 'd' }, spec })

t.test('service allocations: all or nothing, kept on update, given back on delete', async (t) => {
  const sa = new ServiceAllocations(new IpAllocator('10.96.0.0/24'), new PortAllocator(30000, 30010))
  const a = mk({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }, { port: 81, protocol: 'TCP', nodePort: 30005 }] })
  t.same(sa.create(a), [])
  t.equal(a.spec!.clusterIP, '10.96.0.1')
  t.same((a.spec!.ports as { nodePort: number }[]).map((p) => p.nodePort), [30000, 30005])

  const b = mk({ type: 'NodePort', clusterIP: '10.96.0.50', ports: [{ port: 80, protocol: 'TCP', nodePort: 30005 }] })
  const errs = sa.create(b)
  t.match(errs, [{ field: 'spec.ports[0].nodePort', detail: /already allocated/ }])
  t.notOk(sa.ips.has('10.96.0.50'), 'the clusterIP taken before the failure was given back')

  const dup = mk({ clusterIP: '10.96.0.1', ports: [{ port: 80 }] })
  t.match(sa.create(dup), [{ field: 'spec.clusterIP', detail: /already allocated/ }])

  // update: NodePort -> ClusterIP releases the nodePorts, keeps the IP
  const upd = mk({ type: 'ClusterIP', clusterIP: '10.96.0.1', ports: [{ port: 80, protocol: 'TCP' }, { port: 81, protocol: 'TCP' }] })
  t.same(sa.update(upd, a), [])
  t.notOk(sa.ports.has(30000))
  t.notOk(sa.ports.has(30005))
  t.ok(sa.ips.has('10.96.0.1'))
  // back to NodePort: new nodePorts; an update keeping a port keeps its nodePort
  const np = mk({ type: 'NodePort', clusterIP: '10.96.0.1', ports: [{ port: 80, protocol: 'TCP' }] })
  t.same(sa.update(np, upd), [])
  const got = (np.spec!.ports as { nodePort: number }[])[0]!.nodePort
  const again = mk({ type: 'NodePort', clusterIP: '10.96.0.1', ports: [{ port: 80, protocol: 'TCP' }] })
  t.same(sa.update(again, np), [])
  t.equal((again.spec!.ports as { nodePort: number }[])[0]!.nodePort, got)
  sa.delete(again)
  t.notOk(sa.ips.has('10.96.0.1'))
  t.notOk(sa.ports.has(got))

  const ext = mk({ type: 'ExternalName', externalName: 'x.example', clusterIP: '' })
  t.same(sa.create(ext), [])
  t.equal(ext.spec!.clusterIP, undefined, 'ExternalName gets no clusterIP')
  const headless = mk({ clusterIP: 'None' })
  t.same(sa.create(headless), [])
  t.same(headless.spec!.clusterIPs, ['None'])
})
