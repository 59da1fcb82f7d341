import t from 'tap'
import { deploymentStatus, isComplete, REASONS, type StatusInput } from '../../src/api/controllers/deployment-status.ts'
import type { RsState } from '../../src/api/controllers/rollout-plan.ts'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
const rs = (name: string, replicas: number, o: Partial<RsState> = {}): RsState => ({ name, replicas, current: replicas, ready: replicas, available: replicas, revision: 1, ...o })
const input = (o: Partial<StatusInput> = {}): StatusInput => ({
  name: 'web',
  generation: 2,
  spec: { replicas: 4, strategy: 'RollingUpdate', maxSurge: 1, maxUnavailable: 1, revisionHistoryLimit: 10, paused: false },
  progressDeadlineSeconds: 600,
  newRs: rs('web-new', 4),
  olds: [],
  previous: {},
  createdNew: false,
  now: T0,
  ...o,
})
const cond = (s: { conditions: { type: string }[] }, type: string) => s.conditions.find((c) => c.type === type) as Record<string, string> | undefined

t.test('counts are summed over the ReplicaSets', async (t) => {
  const { status } = deploymentStatus(input({ newRs: rs('web-new', 2, { current: 2, ready: 1, available: 1 }), olds: [rs('old', 3, { current: 3, ready: 3, available: 2 })], previous: { collisionCount: 2 } }))
  t.match(status, { observedGeneration: 2, replicas: 5, updatedReplicas: 2, readyReplicas: 4, availableReplicas: 3, unavailableReplicas: 2, collisionCount: 2 })
  const none = deploymentStatus(input({ newRs: undefined, olds: [] })).status
  t.match(none, { replicas: 0, updatedReplicas: 0, unavailableReplicas: 0 })
  t.notOk('collisionCount' in none)
  t.equal(deploymentStatus(input({ newRs: rs('n', 1, { available: 3 }) })).status.unavailableReplicas, 0, 'never negative')
})

t.test('Available: at least replicas - maxUnavailable available', async (t) => {
  t.match(cond(deploymentStatus(input({ newRs: rs('n', 4, { available: 3 }) })).status, 'Available'), { status: 'True', reason: REASONS.available, message: 'Deployment has minimum availability.' })
  t.match(cond(deploymentStatus(input({ newRs: rs('n', 4, { available: 2 }) })).status, 'Available'), { status: 'False', reason: REASONS.unavailable, message: 'Deployment does not have minimum availability.' })
  const recreate = input({ newRs: rs('n', 4, { available: 3 }) })
  recreate.spec = { ...recreate.spec, strategy: 'Recreate' }
  t.match(cond(deploymentStatus(recreate).status, 'Available'), { status: 'False' }, 'Recreate allows no unavailability')
  const zero = input({ newRs: rs('n', 0) })
  zero.spec = { ...zero.spec, replicas: 0 }
  t.match(cond(deploymentStatus(zero).status, 'Available'), { status: 'True' })
  const capped = input({ newRs: rs('n', 2, { available: 0 }) })
  capped.spec = { ...capped.spec, replicas: 2, maxUnavailable: 5 }
  t.match(cond(deploymentStatus(capped).status, 'Available'), { status: 'True' }, 'maxUnavailable capped at replicas')
})

t.test('Progressing: complete, progressing, timed out', async (t) => {
  const done = deploymentStatus(input()).status
  t.match(cond(done, 'Progressing'), { status: 'True', reason: REASONS.complete, message: 'ReplicaSet "web-new" has successfully progressed.', lastUpdateTime: iso(T0), lastTransitionTime: iso(T0) })
  // Complete stays complete; a later sync changes nothing, times included.
  const again = deploymentStatus(input({ previous: done, now: T0 + 5000 })).status
  t.same(again.conditions, done.conditions)

  const moving = input({ newRs: rs('web-new', 2, { current: 2, ready: 2, available: 2 }), olds: [rs('old', 2)], previous: { replicas: 4, updatedReplicas: 1, readyReplicas: 4, availableReplicas: 4 } })
  const r1 = deploymentStatus(moving)
  t.match(cond(r1.status, 'Progressing'), { status: 'True', reason: REASONS.updated, message: 'ReplicaSet "web-new" is progressing.' })
  t.equal(r1.checkAt, T0 + 600_000, 'look again when the deadline would pass')

  // More progress later: lastUpdateTime moves, lastTransitionTime stays.
  const r2 = deploymentStatus({ ...moving, newRs: rs('web-new', 3), olds: [rs('old', 1)], previous: r1.status, now: T0 + 10_000 })
  t.match(cond(r2.status, 'Progressing'), { reason: REASONS.updated, lastUpdateTime: iso(T0 + 10_000), lastTransitionTime: iso(T0) })

  // No progress, before the deadline: unchanged, with a check at the deadline.
  const stuckIn = { ...moving, previous: r1.status }
  const r3 = deploymentStatus({ ...stuckIn, now: T0 + 60_000 })
  t.same(cond(r3.status, 'Progressing'), cond(r1.status, 'Progressing'))
  t.equal(r3.checkAt, T0 + 601_000)
  // Past it: timed out.
  const r4 = deploymentStatus({ ...stuckIn, now: T0 + 600_001 })
  t.match(cond(r4.status, 'Progressing'), { status: 'False', reason: REASONS.timedOut, message: 'ReplicaSet "web-new" has timed out progressing.', lastTransitionTime: iso(T0 + 600_001) })
  t.equal(r4.checkAt, undefined)
  const r5 = deploymentStatus({ ...stuckIn, previous: r4.status, now: T0 + 700_000 })
  t.same(cond(r5.status, 'Progressing'), cond(r4.status, 'Progressing'), 'timed out stays timed out without progress')
  // Exactly at the deadline it has not passed yet.
  t.match(cond(deploymentStatus({ ...stuckIn, now: T0 + 600_000 }).status, 'Progressing'), { reason: REASONS.updated })

  // Each kind of progress counts.
  const base = { replicas: 4, updatedReplicas: 2, readyReplicas: 4, availableReplicas: 4 }
  const at = (newRs: RsState, olds: RsState[], previous: object) => cond(deploymentStatus(input({ newRs, olds, previous: { ...base, ...previous, conditions: r1.status.conditions }, now: T0 + 1000 })).status, 'Progressing')?.lastUpdateTime
  t.equal(at(rs('n', 3, { ready: 0, available: 0 }), [rs('o', 2)], {}), iso(T0 + 1000), 'more updated')
  t.equal(at(rs('n', 2, { ready: 0, available: 0 }), [rs('o', 1)], { replicas: 5, readyReplicas: 9, availableReplicas: 9 }), iso(T0 + 1000), 'fewer old')
  t.equal(at(rs('n', 2, { ready: 2, available: 0 }), [rs('o', 2)], { readyReplicas: 3, availableReplicas: 9 }), iso(T0 + 1000), 'more ready')
  t.equal(at(rs('n', 2, { ready: 0, available: 2 }), [rs('o', 2)], { readyReplicas: 9, availableReplicas: 3 }), iso(T0 + 1000), 'more available')
  t.equal(at(rs('n', 2, { ready: 0, available: 0 }), [rs('o', 2)], { readyReplicas: 2, availableReplicas: 2 }), iso(T0), 'nothing moved')
})

t.test('a new ReplicaSet, no deadline, paused and resumed', async (t) => {
  const created = deploymentStatus(input({ newRs: rs('web-new', 1, { current: 0, ready: 0, available: 0 }), olds: [rs('old', 4)], createdNew: true, previous: { replicas: 4, updatedReplicas: 0, readyReplicas: 4, availableReplicas: 4 } }))
  t.match(cond(created.status, 'Progressing'), { status: 'True', reason: REASONS.created, message: 'Created new replica set "web-new"' })
  t.equal(created.checkAt, T0 + 601_000)
  const noDeadline = deploymentStatus(input({ progressDeadlineSeconds: undefined, previous: created.status }))
  t.equal(cond(noDeadline.status, 'Progressing'), undefined, 'no deadline: no Progressing condition')
  const paused = input({ previous: created.status })
  paused.spec = { ...paused.spec, paused: true }
  const p = deploymentStatus(paused).status
  t.match(cond(p, 'Progressing'), { status: 'Unknown', reason: REASONS.paused, message: 'Deployment is paused' })
  t.same(deploymentStatus({ ...paused, previous: p, now: T0 + 9000 }).status.conditions, p.conditions, 'paused stays as it was')
  const resumed = deploymentStatus(input({ newRs: rs('web-new', 2, { available: 0, ready: 0 }), olds: [rs('old', 2)], previous: { ...p, replicas: 4, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 } })).status
  t.match(cond(resumed, 'Progressing'), { status: 'Unknown', reason: REASONS.resumed, message: 'Deployment is resumed' })
  const noRs = deploymentStatus(input({ newRs: undefined, olds: [], previous: {} }))
  t.match(cond(noRs.status, 'Progressing'), undefined)
  const zero = input({ newRs: undefined, olds: [] })
  zero.spec = { ...zero.spec, replicas: 0 }
  t.match(cond(deploymentStatus(zero).status, 'Progressing'), { reason: REASONS.complete, message: 'Deployment "web" has successfully progressed.' })
  t.same(deploymentStatus(input({ previous: { conditions: [null, { type: 5 }, { type: 'Other', status: 'True' }] } })).status.conditions.map((c) => c.type), ['Other', 'Available', 'Progressing'], 'malformed old conditions dropped, foreign kept')
  const bad = deploymentStatus(input({ newRs: rs('n', 2, { ready: 0, available: 0 }), olds: [rs('o', 2)], previous: { replicas: 4, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [{ type: 'Progressing', status: 'True', reason: REASONS.updated, lastUpdateTime: 'garbage' }] } }))
  t.equal(bad.checkAt, T0 + 601_000, 'an unreadable lastUpdateTime counts from now')
})

t.test('complete means every desired replica updated, present and available for this generation', async (t) => {
  const s = { updatedReplicas: 3, replicas: 3, availableReplicas: 3, observedGeneration: 2 }
  t.ok(isComplete(3, s, 2))
  t.notOk(isComplete(3, { ...s, updatedReplicas: 2 }, 2))
  t.notOk(isComplete(3, { ...s, replicas: 4 }, 2))
  t.notOk(isComplete(3, { ...s, availableReplicas: 2 }, 2))
  t.notOk(isComplete(3, s, 3))
  t.ok(isComplete(3, { ...s, observedGeneration: 3 }, 2))
})
