// Subnet claims: overlap found by lookups, in either direction, per family.
import t from 'tap'
import { parseCidr } from '../../src/net/address.ts'
import { SubnetClaims } from '../../src/overlay/subnet-claims.ts'

const c = (s: string) => parseCidr(s)

t.test('disjoint subnets are all claimed; nested or equal ones are refused', async (t) => {
  const s = new SubnetClaims()
  t.ok(s.claim([c('10.244.1.0/24')]))
  t.ok(s.claim([c('10.244.2.0/24')]))
  t.notOk(s.claim([c('10.244.1.0/24')]), 'equal')
  t.notOk(s.claim([c('10.244.1.128/25')]), 'inside a claimed one')
  t.notOk(s.claim([c('10.244.0.0/16')]), 'holding a claimed one')
  t.notOk(s.claim([c('0.0.0.0/0')]), 'the whole space')
  t.ok(s.claim([c('10.245.0.0/16')]), 'beside')
  t.notOk(s.claim([c('10.245.7.0/24')]), 'inside the /16 claimed after the /24s')
  t.ok(s.claim([c('10.244.3.0/24')]))
  t.notOk(s.claim([c('10.244.3.0/26')]), 'a lookup length asked before keeps up with later claims')
})

t.test('families never overlap each other', async (t) => {
  const s = new SubnetClaims()
  t.ok(s.claim([c('0.0.0.0/0')]))
  t.ok(s.claim([c('fd00:10:244:1::/64')]))
  t.notOk(s.claim([c('fd00:10:244::/48')]))
  t.notOk(s.claim([c('fd00:10:244:1:8000::/65')]))
  t.ok(s.claim([c('fd00:10:245::/48')]))
})

t.test('a list is claimed whole or not at all', async (t) => {
  const s = new SubnetClaims()
  t.ok(s.claim([c('10.244.1.0/24')]))
  t.notOk(s.claim([c('10.244.2.0/24'), c('10.244.1.0/25')]))
  t.ok(s.claim([c('10.244.2.0/24')]), 'the refused list claimed nothing')
  t.notOk(s.claim([c('10.244.5.0/24'), c('10.244.5.0/25')]), 'its own members overlap')
  t.notOk(s.claim([c('10.244.6.0/25'), c('10.244.6.0/24')]), 'in either order')
  t.ok(s.claim([c('10.244.5.0/24'), c('fd00::/64')]), 'two families side by side')
  t.ok(s.claim([c('10.244.6.0/24')]))
  t.notOk(s.claim([c('10.244.9.0/24'), c('10.244.9.128/25')]), 'a member inside the upper half of another')
  t.ok(s.claim([c('10.244.7.0/24'), c('10.244.8.0/24')]), 'two disjoint members of one family')
  t.ok(s.overlaps(c('10.244.8.128/25')) && s.overlaps(c('10.244.7.0/25')), 'and both were claimed')
})

t.test('overlaps() asks without claiming', async (t) => {
  const s = new SubnetClaims()
  t.notOk(s.overlaps(c('10.0.0.0/8')))
  s.claim([c('10.1.0.0/16')])
  t.ok(s.overlaps(c('10.0.0.0/8')))
  t.ok(s.overlaps(c('10.1.2.0/24')))
  t.notOk(s.overlaps(c('10.2.0.0/16')))
  t.notOk(s.overlaps(c('11.0.0.0/8')))
})
