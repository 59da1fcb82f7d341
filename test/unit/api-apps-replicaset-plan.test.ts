import t from 'tap'
import { deleteFirst, isActive, planReplicaSet, podView, replicaSetStatus, type PodView } from '../../src/api/controllers/replicaset-plan.ts'
import { claim, controllerOf, controllerRef } from '../../src/api/controllers/controller-ref.ts'
import type { KObject } from '../../src/api/types.ts'

const view = (name: string, o: Partial<PodView> = {}): PodView => ({ name, uid: `u-${name}`, created: 1000, nodeName: 'n1', phase: 'Running', ready: true, readySince: 500, restarts: 0, deleting: false, labels: { app: 'a' }, ...o })

t.test('podView reads what the ranking and the counts need', async (t) => {
  const p: KObject = {
    metadata: { name: 'p', uid: 'u', creationTimestamp: '2026-01-01T00:00:10Z', labels: { app: 'a' } },
    spec: { nodeName: 'n2' },
    status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:20Z' }], containerStatuses: [{ restartCount: 2 }, { restartCount: 3 }, {}] },
  }
  t.same(podView(p), { name: 'p', uid: 'u', created: Date.parse('2026-01-01T00:00:10Z'), nodeName: 'n2', phase: 'Running', ready: true, readySince: Date.parse('2026-01-01T00:00:20Z'), restarts: 5, deleting: false, labels: { app: 'a' } })
  const bare = podView({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } })
  t.same(bare, { name: '', uid: '', created: 0, nodeName: '', phase: 'Pending', ready: false, readySince: undefined, restarts: 0, deleting: true, labels: {} })
  // Ready without a transition time counts from creation.
  const noTime = podView({ metadata: { creationTimestamp: '2026-01-01T00:00:10Z' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })
  t.equal(noTime.readySince, Date.parse('2026-01-01T00:00:10Z'))
  t.equal(podView({ metadata: {}, status: { conditions: [{ type: 'Ready', status: 'True' }] } }).readySince, 0)
  t.equal(podView({ metadata: {}, status: { conditions: [{ type: 'Ready', status: 'False' }] } }).ready, false)
  t.equal(podView({ metadata: {}, status: { conditions: [{ type: 'Other', status: 'True' }] } }).ready, false)
  t.equal(podView({ metadata: {}, spec: { nodeName: 7 } }).nodeName, '')
  t.equal(podView({ metadata: {}, status: { phase: 3 } }).phase, 'Pending')
})

t.test('active pods: not deleting, not finished', async (t) => {
  t.ok(isActive(view('a')))
  t.ok(isActive(view('a', { phase: 'Pending' })))
  t.notOk(isActive(view('a', { deleting: true })))
  t.notOk(isActive(view('a', { phase: 'Succeeded' })))
  t.notOk(isActive(view('a', { phase: 'Failed' })))
})

t.test('deletion order: unscheduled, pending, not ready, ready briefly, restarted, newest', async (t) => {
  const order = (a: PodView, b: PodView) => [a, b].sort(deleteFirst).map((p) => p.name)
  t.same(order(view('sched'), view('unsched', { nodeName: '' })), ['unsched', 'sched'])
  t.same(order(view('unsched', { nodeName: '' }), view('sched')), ['unsched', 'sched'])
  t.same(order(view('run'), view('pend', { phase: 'Pending' })), ['pend', 'run'])
  t.same(order(view('run'), view('unk', { phase: 'Unknown' })), ['unk', 'run'])
  t.same(order(view('unk', { phase: 'Unknown' }), view('pend', { phase: 'Pending' })), ['pend', 'unk'])
  t.same(order(view('odd', { phase: 'Weird' }), view('run')), ['odd', 'run'])
  t.same(order(view('ready'), view('notready', { ready: false, readySince: undefined })), ['notready', 'ready'])
  t.same(order(view('long', { readySince: 100 }), view('brief', { readySince: 900 })), ['brief', 'long'])
  t.same(order(view('calm'), view('crashy', { restarts: 4 })), ['crashy', 'calm'])
  t.same(order(view('old', { created: 1 }), view('new', { created: 2 })), ['new', 'old'])
  t.same(order(view('b'), view('a')), ['a', 'b'])
  t.equal(deleteFirst(view('a'), view('a')), 0)
  // Not-ready pods do not compare ready times.
  t.same(order(view('x', { ready: false, readySince: 1, created: 1 }), view('y', { ready: false, readySince: 9, created: 2 })), ['y', 'x'])
})

t.test('the diff: create what is missing, delete the surplus worst first, bounded by the burst', async (t) => {
  t.same(planReplicaSet(3, [view('a')], 500), { create: 2, delete: [] })
  t.same(planReplicaSet(3, [view('a'), view('b', { deleting: true }), view('c', { phase: 'Failed' })], 500), { create: 2, delete: [] }, 'terminating and finished pods do not count')
  t.same(planReplicaSet(1000, [], 500), { create: 500, delete: [] })
  t.same(planReplicaSet(2, [view('a'), view('b')], 500), { create: 0, delete: [] })
  t.same(planReplicaSet(1, [view('a', { created: 1 }), view('b', { created: 3 }), view('c', { ready: false, readySince: undefined })], 500), { create: 0, delete: ['c', 'b'] })
  t.same(planReplicaSet(0, [view('a'), view('b'), view('c')], 2).delete.length, 2)
  t.same(planReplicaSet(0, [view('a', { deleting: true })], 5), { create: 0, delete: [] })
})

t.test('status: replicas, fully labeled, ready, available after minReadySeconds', async (t) => {
  const rs: KObject = { metadata: { generation: 4 }, spec: { minReadySeconds: 10, template: { metadata: { labels: { app: 'a', tier: 'web' } } } } }
  const pods = [
    view('full', { labels: { app: 'a', tier: 'web' }, readySince: 0 }),
    view('partial', { labels: { app: 'a' }, readySince: 5_000 }),
    view('later', { labels: { app: 'a', tier: 'web', extra: 'x' }, readySince: 8_000 }),
    view('notready', { ready: false, readySince: undefined }),
    view('going', { deleting: true }),
  ]
  const { status, nextAvailableAt } = replicaSetStatus(rs, pods, 12_000)
  t.same(status, { replicas: 4, fullyLabeledReplicas: 2, readyReplicas: 3, availableReplicas: 1, observedGeneration: 4 })
  t.equal(nextAvailableAt, 15_000, 'the earliest pod to become available')
  const exact = replicaSetStatus(rs, [view('edge', { readySince: 2_000 })], 12_000)
  t.equal(exact.status.availableReplicas, 1, 'available exactly at minReadySeconds')
  t.equal(exact.nextAvailableAt, undefined)
  const none = replicaSetStatus({ metadata: {}, spec: {} }, [view('a')], 0)
  t.same(none.status, { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 0 })
  t.equal(replicaSetStatus({ metadata: {} }, [], 0).status.replicas, 0)
  const twoLater = replicaSetStatus(rs, [view('x', { readySince: 9_000 }), view('y', { readySince: 7_000 })], 12_000)
  t.equal(twoLater.nextAvailableAt, 17_000)
})

t.test('claim: adopt matching orphans, release what no longer matches, leave others alone', async (t) => {
  const owner: KObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', uid: 'me' }, spec: { selector: { matchLabels: { app: 'a' } } } }
  const pod = (name: string, labels: Record<string, string>, ctl?: string, deleting = false): KObject => ({
    metadata: { name, labels, ...(ctl ? { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: ctl, controller: true }] } : {}), ...(deleting ? { deletionTimestamp: 'x' } : {}) },
  })
  const c = claim(owner, [pod('orphan', { app: 'a' }), pod('mine', { app: 'a' }, 'me'), pod('left', { app: 'b' }, 'me'), pod('theirs', { app: 'a' }, 'other'), pod('stranger', { app: 'b' }), pod('dying', { app: 'a' }, undefined, true)])
  t.same(c, { adopt: ['orphan'], release: ['left'] })
  t.same(controllerOf(pod('mine', {}, 'me'))?.uid, 'me')
  t.equal(controllerOf({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: 'u' }] } }), undefined, 'a reference without controller: true controls nothing')
  t.equal(controllerOf({ metadata: {} }), undefined)
  t.same(controllerRef(owner), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'me', controller: true, blockOwnerDeletion: true })
  t.same(controllerRef({ metadata: {} }), { apiVersion: '', kind: '', name: '', uid: '', controller: true, blockOwnerDeletion: true })
})
