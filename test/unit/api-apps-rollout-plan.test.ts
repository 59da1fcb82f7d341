import t from 'tap'
import { historyToRemove, newReplicaSetReplicas, planRollout, scaleDownOld, type RolloutSpec, type RsState } from '../../src/api/controllers/rollout-plan.ts'
import { isPercent, rawValue, resolveFenceposts, scaled } from '../../src/api/controllers/int-or-percent.ts'

const spec = (o: Partial<RolloutSpec> = {}): RolloutSpec => ({ replicas: 4, strategy: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0, revisionHistoryLimit: 10, paused: false, ...o })
const rs = (name: string, replicas: number, o: Partial<RsState> = {}): RsState => ({ name, replicas, current: replicas, ready: replicas, available: replicas, revision: 1, ...o })

t.test('int or percent: counts, percents rounded up or down, fenceposts', async (t) => {
  t.equal(scaled(3, 10, true), 3)
  t.equal(scaled('25%', 10, true), 3)
  t.equal(scaled('25%', 10, false), 2)
  t.equal(scaled('20%', 10, true), 2, 'an exact percent is not rounded up')
  t.equal(scaled('0%', 10, true), 0)
  t.equal(scaled('x%', 10, true), undefined)
  t.equal(scaled(1.5, 10, true), undefined)
  t.equal(scaled(undefined, 10, true), undefined)
  t.ok(isPercent('100%'))
  t.notOk(isPercent('100'))
  t.notOk(isPercent('%'))
  t.notOk(isPercent(' 5%'))
  t.notOk(isPercent('5% '))
  t.notOk(isPercent(5))
  t.equal(rawValue('150%'), 150)
  t.equal(rawValue(0), 0)
  t.equal(rawValue(2.5), undefined)
  t.equal(rawValue('abc'), undefined)
  t.same(resolveFenceposts('25%', '25%', 10), { surge: 3, unavailable: 2 })
  t.same(resolveFenceposts(0, 0, 10), { surge: 0, unavailable: 1 }, 'both zero: one may be unavailable')
  t.same(resolveFenceposts('10%', '10%', 1), { surge: 1, unavailable: 0 })
  t.same(resolveFenceposts(undefined, undefined, 3), { surge: 0, unavailable: 1 })
  t.same(resolveFenceposts(0, 2, 3), { surge: 0, unavailable: 2 })
})

t.test('the new ReplicaSet grows within replicas + maxSurge', async (t) => {
  t.equal(newReplicaSetReplicas(spec(), undefined, [rs('old', 4)]), 1, 'one surge pod while the 4 old stay')
  t.equal(newReplicaSetReplicas(spec(), rs('new', 1), [rs('old', 4)]), 1, 'at the surge limit: wait')
  t.equal(newReplicaSetReplicas(spec(), rs('new', 1), [rs('old', 3)]), 2)
  t.equal(newReplicaSetReplicas(spec({ maxSurge: 10 }), rs('new', 1), [rs('old', 3)]), 4, 'never past replicas')
  t.equal(newReplicaSetReplicas(spec(), rs('new', 6), []), 4, 'more than wanted: down to replicas')
  t.equal(newReplicaSetReplicas(spec(), rs('new', 4), [rs('old', 2)]), 4)
  t.equal(newReplicaSetReplicas(spec(), undefined, []), 4, 'a fresh Deployment scales up at once (surge counts from nothing)')
  t.equal(newReplicaSetReplicas(spec({ strategy: 'Recreate' }), rs('new', 0), [rs('old', 4)]), 4)
  t.equal(newReplicaSetReplicas(spec({ replicas: 10, maxSurge: '25%' }), rs('new', 0), [rs('old', 10)]), 3)
  t.equal(newReplicaSetReplicas(spec({ replicas: 3, maxSurge: 0, maxUnavailable: 1 }), rs('new', 0), [rs('old', 3)]), 0)
})

t.test('old ReplicaSets go down as far as maxUnavailable allows, unhealthy pods first', async (t) => {
  t.same(scaleDownOld(spec(), rs('new', 1, { available: 0 }), [rs('old', 4)]), [], 'the surge pod is not available yet: keep all 4 old')
  t.same(scaleDownOld(spec(), rs('new', 1), [rs('old', 4)]), [{ name: 'old', replicas: 3 }], 'it is: one old goes')
  t.same(scaleDownOld(spec(), rs('new', 4), [rs('old', 0)]), [])
  t.same(scaleDownOld(spec({ maxUnavailable: 2, maxSurge: 0 }), rs('new', 0), [rs('old', 4)]), [{ name: 'old', replicas: 2 }])
  // Unhealthy old pods go first, and they cost no availability.
  t.same(scaleDownOld(spec({ maxUnavailable: 1, maxSurge: 0 }), rs('new', 0), [rs('old', 4, { available: 2 })]), [{ name: 'old', replicas: 3 }], 'one unhealthy pod goes: 4 pods - minAvailable 3 allow one fewer, availability stays 2')
  // Oldest revision first across several old ReplicaSets.
  t.same(
    scaleDownOld(spec({ maxUnavailable: 3, maxSurge: 0 }), rs('new', 0), [rs('b', 2, { revision: 2 }), rs('a', 2, { revision: 1 })]),
    [{ name: 'a', replicas: 0 }, { name: 'b', replicas: 1 }],
  )
  t.same(
    scaleDownOld(spec({ maxUnavailable: 1, maxSurge: 0 }), rs('new', 0), [rs('b', 2, { revision: 1 }), rs('a', 2, { revision: 1 })]),
    [{ name: 'a', replicas: 1 }],
    'equal revisions: by name',
  )
  t.same(
    scaleDownOld(spec({ replicas: 2, maxUnavailable: 2, maxSurge: 0 }), rs('new', 0), [rs('x', 0), rs('y', 2, { available: 0 })]),
    [{ name: 'y', replicas: 0 }],
    'the unhealthy pass skips empty ReplicaSets and takes all unavailable pods within the budget',
  )
  t.same(
    scaleDownOld(spec({ replicas: 4, maxUnavailable: 1, maxSurge: 1 }), rs('new', 2, { available: 2 }), [rs('old', 3, { available: 1 })]),
    [{ name: 'old', replicas: 1 }],
    'budget for unhealthy pods: total 5 - min 3 - 0 unavailable new = 2',
  )
  t.same(
    scaleDownOld(spec({ replicas: 4, maxUnavailable: 1, maxSurge: 0 }), rs('new', 1, { available: 1 }), [rs('a', 1, { revision: 1 }), rs('b', 2, { revision: 2 })]),
    [{ name: 'a', replicas: 0 }],
    'the availability pass stops at its budget',
  )
  t.same(
    scaleDownOld(spec({ replicas: 2, maxUnavailable: 2, maxSurge: 0 }), rs('new', 0), [rs('a', 0, { revision: 1, available: 0 }), rs('b', 2, { revision: 2 })]),
    [{ name: 'b', replicas: 0 }],
    'the availability pass skips empty ReplicaSets',
  )
})

t.test('history: idle old ReplicaSets past the limit, oldest first', async (t) => {
  const olds = [rs('r3', 0, { revision: 3 }), rs('r1', 0, { revision: 1 }), rs('r2', 0, { revision: 2 }), rs('busy', 1, { revision: 0 }), rs('draining', 0, { current: 1, revision: 0 })]
  t.same(historyToRemove(olds, 1), ['r1', 'r2'])
  t.same(historyToRemove(olds, 3), [])
  t.same(historyToRemove(olds, 0), ['r1', 'r2', 'r3'])
})

t.test('one rollout step at a time', async (t) => {
  t.same(planRollout(spec(), undefined, []), { newReplicas: 4, scale: [], remove: [] }, 'create the new ReplicaSet')
  t.same(planRollout(spec(), undefined, [rs('old', 4)]), { newReplicas: 1, scale: [], remove: [] })
  t.same(planRollout(spec(), rs('new', 1), [rs('old', 4)]), { newReplicas: undefined, scale: [{ name: 'old', replicas: 3 }], remove: [] })
  t.same(planRollout(spec(), rs('new', 1, { available: 0 }), [rs('old', 4)]), { newReplicas: undefined, scale: [], remove: [] }, 'wait for the new pod')
  t.same(planRollout(spec({ revisionHistoryLimit: 0 }), rs('new', 4), [rs('old', 0)]), { newReplicas: undefined, scale: [], remove: ['old'] }, 'done: history cleaned')
  t.same(planRollout(spec({ paused: true }), undefined, [rs('old', 4)]), { newReplicas: undefined, scale: [], remove: [] }, 'paused: nothing moves')
  t.same(planRollout(spec(), rs('new', 6), []), { newReplicas: 4, scale: [], remove: [] }, 'scale down')
})

t.test('Recreate: all old pods gone before the new ReplicaSet grows', async (t) => {
  const r = spec({ strategy: 'Recreate' })
  t.same(planRollout(r, undefined, [rs('a', 2), rs('b', 0, { current: 0 }), rs('c', 1)]), { newReplicas: undefined, scale: [{ name: 'a', replicas: 0 }, { name: 'c', replicas: 0 }], remove: [] })
  t.same(planRollout(r, undefined, [rs('a', 0, { current: 1 })]), { newReplicas: undefined, scale: [], remove: [] }, 'old pods still terminating: wait')
  t.same(planRollout(r, undefined, [rs('a', 0, { current: 0 })]), { newReplicas: 4, scale: [], remove: [] })
  t.same(planRollout(r, rs('new', 0), [rs('a', 0, { current: 0 })]), { newReplicas: 4, scale: [], remove: [] })
  t.same(planRollout({ ...r, revisionHistoryLimit: 0 }, rs('new', 4), [rs('a', 0, { current: 0 })]), { newReplicas: undefined, scale: [], remove: ['a'] })
})

t.test('a whole rolling update converges, within the bounds at every step', async (t) => {
  for (const [replicas, maxSurge, maxUnavailable] of [[4, 1, 0], [10, '25%', '25%'], [3, 0, 1], [5, '50%', 2], [1, 0, '100%']] as const) {
    const s = spec({ replicas, maxSurge, maxUnavailable })
    const { surge, unavailable } = resolveFenceposts(maxSurge, maxUnavailable, replicas)
    let newRs: RsState | undefined
    let old = rs('old', replicas)
    for (let step = 0; step < 100; step++) {
      const p = planRollout(s, newRs, [old])
      if (p.newReplicas === undefined && p.scale.length === 0) break
      if (p.newReplicas !== undefined) newRs = rs('new', p.newReplicas)
      for (const x of p.scale) old = rs('old', x.replicas)
      // Every pod starts and is ready before the next step (a kubelet that keeps up).
      t.ok((newRs?.replicas ?? 0) + old.replicas <= replicas + surge, `within surge at step ${step}`)
      t.ok((newRs?.available ?? 0) + old.available >= replicas - unavailable, `within unavailability at step ${step}`)
    }
    t.equal(newRs?.replicas, replicas, `${replicas}/${maxSurge}/${maxUnavailable}: new at replicas`)
    t.equal(old.replicas, 0, 'old at zero')
  }
})
