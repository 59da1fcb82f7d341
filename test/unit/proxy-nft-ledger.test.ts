// The applier's ledger (shared elements live as long as their last intent; a
// change is computed before the kernel sees it and committed after) and the
// pure half of affinity pruning (which sticky entries point at a gone endpoint).
import t from 'tap'
import type { EndpointTarget, PortIntent, ProxyGlobals } from '../../src/proxy/plan/intent.ts'
import { renderIntent } from '../../src/proxy/nftables/render.ts'
import { ElementLedger, packRender, unpackRender } from '../../src/proxy/nftables/ledger.ts'
import { staleStickyKeys, stickyTargets } from '../../src/proxy/nftables/sticky.ts'

const there = (n: number, port = 8080): EndpointTarget => ({ ip: `10.244.2.${n}`, port, local: false })
const here = (n: number, port = 8080): EndpointTarget => ({ ip: `10.244.1.${n}`, port, local: true })

function svc(name: string, o: Partial<PortIntent> = {}): PortIntent {
  const i: PortIntent = {
    key: '', service: `default/${name}`, portName: 'http', family: 4, protocol: 'tcp',
    clusterIP: '10.96.0.10', port: 80, nodePort: null, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    affinityTimeoutSeconds: 0, internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: [here(1), there(1)], localEndpoints: [], hasAnyEndpoints: true, ...o,
  }
  i.localEndpoints = i.clusterEndpoints.filter((e) => e.local)
  i.hasAnyEndpoints = i.clusterEndpoints.length > 0
  i.key = `${i.service}:${i.portName}:${i.protocol}:${i.family}`
  return i
}

const g: ProxyGlobals = { nodeName: 'node-1', masqueradeAll: false, families: [{ family: 4, clusterCIDRs: ['10.244.0.0/16'], nodePortAddresses: 'local' }] }

t.test('a clusterIP and a hairpin pair shared by two ports stay until both are gone', async (t) => {
  const a = svc('web'), b = svc('web', { portName: 'alt', port: 81 })
  const ledger = ElementLedger.from(new Map([[a.key, renderIntent(a, g)], [b.key, renderIntent(b, g)]]))
  t.equal(ledger.countsBySet()['cluster-ips-v4'], 1)
  t.equal(ledger.countsBySet()['cluster-ports-v4'], 2)
  const one = ledger.replace(new Map([[a.key, undefined]]))
  t.notOk(one.delete.some((e) => e.set === 'cluster-ips-v4'), 'still needed by the other port')
  t.ok(one.delete.some((e) => e.set === 'cluster-ports-v4' && e.key === '10.96.0.10 . tcp . 80'))
  t.notOk(one.delete.some((e) => e.set === 'hairpin-v4'), 'the pod is still behind the other port')
  t.same(one.add, [])
  one.commit()
  t.equal(ledger.get(a.key), undefined)
  t.equal(ledger.countsBySet()['cluster-ports-v4'], 1)
  const two = ledger.replace(new Map([[b.key, undefined]]))
  t.ok(two.delete.some((e) => e.set === 'cluster-ips-v4'))
  t.ok(two.delete.some((e) => e.set === 'hairpin-v4'))
  two.commit()
  t.equal(ledger.size, 0)
  t.same(ledger.countsBySet(), {})
  t.same([...ledger.renders()], [])
})

t.test('a value change is a delete and an add; nothing changes before commit', async (t) => {
  const a = svc('web', { clusterEndpoints: [there(1)] })
  const ledger = ElementLedger.from(new Map([[a.key, renderIntent(a, g)]]))
  const size = ledger.size
  const moved = svc('web', { clusterEndpoints: [there(2)] })
  const c = ledger.replace(new Map([[a.key, renderIntent(moved, g)]]))
  t.same(c.delete, [{ set: 'backends-tcp-v4', key: '10.96.0.10 . tcp . 80 . 0', value: '10.244.2.1 . 8080' }])
  t.same(c.add, [{ set: 'backends-tcp-v4', key: '10.96.0.10 . tcp . 80 . 0', value: '10.244.2.2 . 8080' }])
  t.equal(ledger.get(a.key)?.elements.find((e) => e.set === 'backends-tcp-v4')?.value, '10.244.2.1 . 8080', 'not yet committed')
  const again = ledger.replace(new Map([[a.key, renderIntent(a, g)]]))
  t.same([again.add, again.delete], [[], []], 'the same render again changes nothing')
  c.commit()
  c.commit()
  t.equal(ledger.get(a.key)?.elements.find((e) => e.set === 'backends-tcp-v4')?.value, '10.244.2.2 . 8080')
  t.equal(ledger.size, size)
  t.equal(ledger.countsBySet()['backends-tcp-v4'], 1)
  const back = ledger.replace(new Map([[a.key, renderIntent(a, g)]]))
  t.same(back.delete.map((e) => e.value), ['10.244.2.2 . 8080'], 'the committed value is what a later change deletes')
})

t.test('a change names every set its old and new renders touch (the backend prunes sticky entries only then)', async (t) => {
  const plain = svc('web', { clusterEndpoints: [there(1)] })
  const sticky = svc('web', { clusterEndpoints: [there(1)], affinityTimeoutSeconds: 60 })
  const ledger = ElementLedger.from(new Map([[plain.key, renderIntent(plain, g)]]))
  const on = ledger.replace(new Map([[plain.key, renderIntent(sticky, g)]]))
  t.ok([...on.sets].some((s) => s.startsWith('affinity-')), `turning affinity on: ${[...on.sets]}`)
  t.ok(on.sets.has('cluster-ips-v4') && on.sets.has('backends-tcp-v4'))
  const same = ledger.replace(new Map([[plain.key, renderIntent(plain, g)]]))
  t.notOk([...same.sets].some((s) => s.startsWith('affinity-')), 'no affinity before or after: none named')
  on.commit()
  const gone = ledger.replace(new Map([[plain.key, undefined]]))
  t.ok([...gone.sets].some((s) => s.startsWith('affinity-')), 'a removed sticky intent names its old affinity set')
  const fresh = ElementLedger.from(new Map())
  t.same([...fresh.replace(new Map([[plain.key, undefined]])).sets], [], 'an intent never held touches nothing')
})

t.test('two Services behind the same local pod share its hairpin pair; other elements belong to one intent', async (t) => {
  const a = svc('a', { clusterIP: '10.96.0.1', clusterEndpoints: [here(7)] })
  const b = svc('b', { clusterIP: '10.96.0.2', clusterEndpoints: [here(7, 9090)] })
  const ledger = ElementLedger.from(new Map([[a.key, renderIntent(a, g)]]))
  const c = ledger.replace(new Map([[b.key, renderIntent(b, g)]]))
  t.notOk(c.add.some((e) => e.set === 'hairpin-v4'), 'the pair is already there')
  t.same(c.add.filter((e) => e.set === 'backends-tcp-v4'), [{ set: 'backends-tcp-v4', key: '10.96.0.2 . tcp . 80 . 0', value: '10.244.1.7 . 9090' }])
  c.commit()
  t.same(ledger.countsBySet(), { 'cluster-ips-v4': 2, 'cluster-ports-v4': 2, 'service-ips-v4': 2, 'backends-tcp-v4': 2, 'hairpin-v4': 1 })
  t.equal(ledger.size, 9)
  const d = ledger.replace(new Map([[a.key, undefined]]))
  t.notOk(d.delete.some((e) => e.set === 'hairpin-v4'), 'still needed by b')
  t.equal(d.delete.length, 4)
  d.commit()
  const e = ledger.replace(new Map([[b.key, undefined]]))
  t.ok(e.delete.some((x) => x.set === 'hairpin-v4'), 'the last one takes it')
})

t.test('sticky: entries whose endpoint left their frontend are stale, for ClusterIP and NodePort keys', async (t) => {
  const i = svc('s', { affinityTimeoutSeconds: 300, nodePort: 30060, clusterEndpoints: [there(1), there(2)] })
  const targets = stickyTargets([renderIntent(i, g), renderIntent(svc('plain', { clusterIP: '10.96.0.11' }), g)])
  t.same([...targets.keys()], ['sticky-v4-tcp-300'])
  t.same([...targets.get('sticky-v4-tcp-300')!.keys()], ['10.96.0.10 . tcp . 80', 'tcp . 30060'])
  t.same([...targets.get('sticky-v4-tcp-300')!.get('tcp . 30060')!], ['10.244.2.1 . 8080', '10.244.2.2 . 8080'])
  const elem = (client: string, front: string[], to: string[], timeout?: boolean) => {
    const key = { concat: [client, ...front.map((x) => /^\d+$/.test(x) ? Number(x) : x)] }
    return [timeout ? { elem: { val: key, timeout: 300, expires: 299 } } : key, { concat: [to[0], Number(to[1])] }]
  }
  const listing = {
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { map: { name: 'sticky-v4-tcp-300', elem: [
        elem('10.244.0.2', ['10.96.0.10', 'tcp', '80'], ['10.244.2.1', '8080'], true),
        elem('10.244.0.3', ['10.96.0.10', 'tcp', '80'], ['10.244.2.9', '8080']),
        elem('192.168.50.2', ['172.18.0.2', 'tcp', '30060'], ['10.244.2.2', '8080'], true),
        elem('192.168.50.3', ['172.18.0.2', 'tcp', '30060'], ['10.244.2.9', '8080']),
        elem('10.244.0.4', ['10.96.0.99', 'tcp', '80'], ['10.244.2.1', '8080']),
      ] } },
      { map: { name: 'sticky-v4-60', elem: [elem('10.244.0.5', ['10.96.0.10', 'tcp', '80'], ['10.244.2.9', '8080'])] } },
    ],
  }
  t.same(staleStickyKeys(listing, 'sticky-v4-tcp-300', targets), [
    '10.244.0.3 . 10.96.0.10 . tcp . 80',
    '192.168.50.3 . 172.18.0.2 . tcp . 30060',
    '10.244.0.4 . 10.96.0.99 . tcp . 80',
  ])
  t.same(staleStickyKeys(listing, 'sticky-v4-60', targets), ['10.244.0.5 . 10.96.0.10 . tcp . 80'], 'a map no intent uses: every entry is stale')
  t.same(staleStickyKeys({}, 'sticky-v4-tcp-300', targets), [])
  t.throws(() => staleStickyKeys({ nftables: [{ map: { name: 'm', elem: [[{ weird: 1 }, 'x']] } }] }, 'm', targets))
})

t.test('packed elements unpack to the same elements; a control character in a field is refused', async (t) => {
  const r = renderIntent(svc('web', { affinityTimeoutSeconds: 60 }), g)
  const packed = packRender(r)
  t.equal(typeof packed, 'string')
  t.same(unpackRender(packed), { elements: r.elements }, 'round trip, value-less set elements included')
  t.ok(r.elements.some((e) => e.value === undefined) && r.elements.some((e) => e.value !== undefined), 'the render has both kinds')
  t.same(unpackRender(packRender({ elements: [] })), { elements: [] }, 'no elements')
  const odd = { elements: [{ set: 's', key: 'k' }, { set: 's', key: 'k2', value: '' }, { set: 't', key: 'a . b', value: 'goto c' }] }
  t.same(unpackRender(packRender(odd)), odd, 'an empty value stays empty, a missing one stays missing')
  t.equal(packRender(odd), 's\u001fk\u001es\u001fk2\u001f\u001et\u001fa . b\u001fgoto c')
  for (const bad of [{ set: 's\u001f', key: 'k' }, { set: 's', key: 'k\u001e' }, { set: 's', key: 'k', value: 'v\u001f' }]) {
    t.throws(() => packRender({ elements: [bad] }), { code: 'ELEDGERPACK', message: /holds a control character/ }, JSON.stringify(bad))
  }
})
