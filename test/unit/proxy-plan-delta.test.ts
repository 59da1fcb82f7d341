// deltaBetween: what a full sync changed, by value, narrowed to what a caller keeps.
import t from 'tap'
import { deltaBetween } from '../../src/proxy/plan/delta.ts'
import type { PortIntent } from '../../src/proxy/plan/intent.ts'

function intent(key: string, protocol: 'tcp' | 'udp', eps: string[]): PortIntent {
  return {
    key, service: key.split(':')[0]!, portName: '', family: 4, protocol, clusterIP: '10.96.0.10', port: 53, nodePort: null,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], affinityTimeoutSeconds: 0,
    internalPolicyLocal: false, externalPolicyLocal: false, healthCheckNodePort: null,
    clusterEndpoints: eps.map((ip) => ({ ip, port: 53, local: false })), localEndpoints: [],
    hasAnyEndpoints: eps.length > 0,
  }
}
const map = (...xs: PortIntent[]) => new Map(xs.map((x) => [x.key, x]))
const keys = (xs: readonly PortIntent[]) => xs.map((x) => x.key).sort()

t.test('added, changed by value and removed intents; equal copies are no change', async (t) => {
  const a = intent('d/a:dns:udp:4', 'udp', ['10.244.1.2'])
  const b = intent('d/b:dns:udp:4', 'udp', ['10.244.1.3'])
  const c = intent('d/c:dns:udp:4', 'udp', ['10.244.1.4'])
  const b2 = intent('d/b:dns:udp:4', 'udp', ['10.244.1.5'])
  const d = deltaBetween(map(a, b, c), map(structuredClone(a), b2, intent('d/e:dns:udp:4', 'udp', [])))
  t.same(keys(d.upserted), ['d/b:dns:udp:4', 'd/e:dns:udp:4'], 'a changed and a new one; an equal copy of a is no change')
  t.same(keys(d.removed), ['d/c:dns:udp:4'])
  t.equal(d.previous.get('d/b:dns:udp:4'), b, 'the changed one with its old version')
  t.notOk(d.previous.has('d/e:dns:udp:4'), 'a new one has no old version')
  t.same(deltaBetween(map(a), map(a)), { upserted: [], removed: [], previous: new Map() }, 'the same plan: nothing')
})

t.test('keep narrows every part of the delta', async (t) => {
  const udp = (k: string, eps: string[]) => intent(k, 'udp', eps)
  const tcp = (k: string, eps: string[]) => intent(k, 'tcp', eps)
  const isUdp = (i: PortIntent) => i.protocol === 'udp'
  const d = deltaBetween(
    map(udp('d/u:udp:4', ['10.0.0.1']), tcp('d/t:tcp:4', ['10.0.0.1']), tcp('d/gone:tcp:4', []), udp('d/ugone:udp:4', [])),
    map(udp('d/u:udp:4', ['10.0.0.2']), tcp('d/t:tcp:4', ['10.0.0.2']), tcp('d/new:tcp:4', []), udp('d/unew:udp:4', [])),
    isUdp,
  )
  t.same(keys(d.upserted), ['d/u:udp:4', 'd/unew:udp:4'])
  t.same(keys(d.removed), ['d/ugone:udp:4'])
  t.same([...d.previous.keys()], ['d/u:udp:4'])
  const flip = deltaBetween(map(tcp('d/x:p:4', ['10.0.0.1'])), map(udp('d/x:p:4', ['10.0.0.1'])), isUdp)
  t.same(keys(flip.upserted), ['d/x:p:4'], 'kept now, not before: still a change')
  const back = deltaBetween(map(udp('d/x:p:4', ['10.0.0.1'])), map(tcp('d/x:p:4', ['10.0.0.1'])), isUdp)
  t.same(keys(back.upserted), ['d/x:p:4'], 'kept before, not now: still a change (its old flows are stale)')
  t.equal(back.previous.get('d/x:p:4')?.protocol, 'udp')
})
