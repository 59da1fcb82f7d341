// The scheduler's pure choice: which pods it takes, which nodes fit, the
// round-robin pick, and kube-scheduler's FailedScheduling message.
import t from 'tap'
import { chooseNode, misfit, REASONS, taintsOf, tolerates, wantsScheduling } from '../../src/api/controllers/scheduler-plan.ts'
import { podGracePeriod } from '../../src/api/pod-grace.ts'
import type { KObject } from '../../src/api/types.ts'

type Spec = Record<string, unknown>
const pod = (spec: Spec = {}, status: Spec = {}, meta: Spec = {}): KObject => ({ metadata: { name: 'p', namespace: 'd', ...meta }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec }, status })
const node = (name: string, labels: Record<string, string> = {}, spec: Spec = {}, ready?: string, meta: Spec = {}): KObject => ({
  metadata: { name, labels, ...meta },
  spec,
  status: ready === undefined ? {} : { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: ready }] },
})

t.test('wantsScheduling: unbound, default scheduler, alive, unfinished, ungated', async (t) => {
  t.equal(wantsScheduling(pod()), true)
  t.equal(wantsScheduling(pod({ nodeName: '' })), true, 'an empty nodeName is unbound')
  t.equal(wantsScheduling(pod({ schedulerName: 'default-scheduler' })), true)
  t.equal(wantsScheduling(pod({ schedulerName: '' })), true)
  t.equal(wantsScheduling(pod({ schedulingGates: [] })), true)
  t.equal(wantsScheduling(pod({}, { phase: 'Pending' })), true)
  t.equal(wantsScheduling(pod({}, { phase: 'Running' })), true)
  t.equal(wantsScheduling(pod({ nodeName: 'n' })), false, 'bound')
  t.equal(wantsScheduling(pod({ schedulerName: 'other' })), false, "another scheduler's")
  t.equal(wantsScheduling(pod({ schedulingGates: [{ name: 'g' }] })), false, 'gated')
  t.equal(wantsScheduling(pod({}, {}, { deletionTimestamp: '2026-01-01T00:00:00Z' })), false, 'terminating')
  t.equal(wantsScheduling(pod({}, { phase: 'Succeeded' })), false)
  t.equal(wantsScheduling(pod({}, { phase: 'Failed' })), false)
  t.equal(wantsScheduling({ metadata: { name: 'x' } }), false, 'no spec')
  t.equal(wantsScheduling({ metadata: { name: 'x' }, spec: {} }), true, 'no status yet')
})

t.test('taintsOf: own taints plus the lifecycle taint of a NotReady or unreachable node', async (t) => {
  t.same(taintsOf(node('n')), [], 'no Ready condition: ready enough for the lab')
  t.same(taintsOf(node('n', {}, {}, 'True')), [])
  t.same(taintsOf(node('n', {}, {}, 'False')), [{ key: 'node.kubernetes.io/not-ready', value: '', effect: 'NoSchedule' }])
  t.same(taintsOf(node('n', {}, {}, 'Unknown')), [{ key: 'node.kubernetes.io/unreachable', value: '', effect: 'NoSchedule' }])
  t.same(taintsOf(node('n', {}, { taints: [{ key: 'a', value: 'b', effect: 'NoExecute' }, { key: 'c', effect: 'NoSchedule' }, { value: 'no key' }, 'junk', { key: 'e', value: 5, effect: 7 }] })), [
    { key: 'a', value: 'b', effect: 'NoExecute' },
    { key: 'c', value: '', effect: 'NoSchedule' },
    { key: 'e', value: '', effect: '' },
  ])
  t.same(taintsOf({ metadata: { name: 'n' }, spec: { taints: 'x' }, status: { conditions: 'x' } }), [], 'junk lists are ignored')
  t.same(taintsOf({ metadata: { name: 'n' }, status: { conditions: ['x', { type: 'Ready' }] } }), [], 'a Ready condition with no status')
})

t.test('tolerates: v1 ToleratesTaint', async (t) => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' }
  t.equal(tolerates({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint), true)
  t.equal(tolerates({ key: 'k', value: 'v' }, taint), true, 'Equal by default, any effect')
  t.equal(tolerates({ key: 'k', value: 'v', effect: '' }, taint), true, 'an empty effect is any')
  t.equal(tolerates({ key: 'k', operator: 'Exists' }, taint), true)
  t.equal(tolerates({ operator: 'Exists' }, taint), true, 'no key with Exists tolerates everything')
  t.equal(tolerates({ key: '', operator: 'Exists' }, taint), true)
  t.equal(tolerates({ operator: 'Exists', effect: 'NoExecute' }, taint), false, 'other effect')
  t.equal(tolerates({ key: 'k', value: 'w' }, taint), false, 'other value')
  t.equal(tolerates({ key: 'j', operator: 'Exists' }, taint), false, 'other key')
  t.equal(tolerates({ value: 'v' }, taint), false, 'Equal needs a key')
  t.equal(tolerates({ key: 'k', operator: 'Lt', value: 'v' }, taint), false, 'unknown operator')
  t.equal(tolerates({ key: 'k' }, { key: 'k', value: '', effect: 'NoSchedule' }), true, 'a missing value equals an empty one')
  t.equal(tolerates({ key: 5, operator: 'Exists' }, taint), true, 'a non-string key counts as empty')
  t.equal(tolerates('k', taint), false)
  t.equal(tolerates(null, taint), false)
})

t.test('misfit: the first filter a node fails, in kube-scheduler order', async (t) => {
  t.equal(misfit(pod(), node('n')), undefined)
  t.equal(misfit(pod(), node('n', {}, { unschedulable: true })), REASONS.unschedulable)
  t.equal(misfit(pod(), node('n', {}, { unschedulable: false })), undefined)
  t.equal(misfit(pod({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), node('n', {}, { unschedulable: true })), undefined, 'a DaemonSet-style toleration')
  t.equal(misfit(pod({ tolerations: [{ key: 'other', operator: 'Exists' }] }), node('n', {}, { unschedulable: true })), REASONS.unschedulable)
  t.equal(misfit(pod(), node('n', {}, {}, 'False')), 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }')
  t.equal(misfit(pod({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }] }), node('n', {}, {}, 'False')), undefined)
  t.equal(misfit(pod(), node('n', {}, { taints: [{ key: 'a', value: 'b', effect: 'NoExecute' }] })), 'node(s) had untolerated taint {a: b}')
  t.equal(misfit(pod(), node('n', {}, { taints: [{ key: 'a', value: 'b', effect: 'PreferNoSchedule' }] })), undefined, 'a preference does not filter')
  t.equal(misfit(pod({ nodeSelector: { zone: 'a' } }), node('n', { zone: 'a', x: 'y' })), undefined)
  t.equal(misfit(pod({ nodeSelector: { zone: 'a' } }), node('n', { zone: 'b' })), REASONS.selector)
  t.equal(misfit(pod({ nodeSelector: { zone: 'a' } }), node('n')), REASONS.selector)
  t.equal(misfit(pod({ nodeSelector: { zone: 'a', disk: 'ssd' } }), node('n', { zone: 'a' })), REASONS.selector, 'every selector label')
  t.equal(misfit(pod({ nodeSelector: {} }), node('n')), undefined)
  t.equal(misfit(pod(), node('n', {}, {}, undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' })), REASONS.deleting)
  t.equal(misfit(pod({ nodeSelector: { zone: 'a' } }), node('n', {}, { unschedulable: true, taints: [{ key: 't', effect: 'NoSchedule' }] })), REASONS.unschedulable, 'unschedulable first')
  t.equal(misfit(pod({ nodeSelector: { zone: 'a' } }), node('n', {}, { taints: [{ key: 't', effect: 'NoSchedule' }] })), 'node(s) had untolerated taint {t: }', 'taints before the selector')
  t.equal(misfit({ metadata: { name: 'p' } }, { metadata: { name: 'n' } }), undefined, 'bare objects')
})

t.test('chooseNode: round-robin over the fitting nodes in name order', async (t) => {
  const nodes = [node('c'), node('a'), node('b', {}, { unschedulable: true }), node('d')]
  const picks: string[] = []
  let cursor = 0
  for (let i = 0; i < 6; i++) {
    const c = chooseNode(pod(), nodes, cursor)
    if (c.node === undefined) throw new Error(c.message)
    picks.push(c.node)
    t.equal(c.next, cursor + 1)
    cursor = c.next
  }
  t.same(picks, ['a', 'c', 'd', 'a', 'c', 'd'])
  t.match(chooseNode(pod(), nodes, 7), { node: 'c', next: 8 }, 'the cursor wraps')
  t.match(chooseNode(pod(), nodes, -1), { node: 'd' }, 'a negative cursor still lands on a node')
  t.match(chooseNode(pod({ nodeSelector: { role: 'edge' } }), [node('x', { role: 'edge' }), node('y')], 1), { node: 'x', next: 2 })
  t.same(chooseNode(pod(), [], 0), { message: 'no nodes available to schedule pods' })
  const none = chooseNode(pod({ nodeSelector: { zone: 'z' } }), [node('a'), node('b', {}, { unschedulable: true }), node('c'), node('d', {}, {}, 'False'), node('e', {}, {}, 'Unknown')], 0)
  t.same(none, {
    message: "0/5 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector.",
  })
  t.same(chooseNode(pod(), [node('only', {}, { unschedulable: true })], 0), { message: '0/1 nodes are available: 1 node(s) were unschedulable.' })
  t.same(chooseNode(pod(), [{ metadata: {}, spec: {} }], 0), { node: '', next: 1 }, 'a node without a name is still a node (the API never stores one)')
})

t.test('podGracePeriod: as the pod strategy decides it', async (t) => {
  const bound = (spec: Spec = {}, status: Spec = {}) => pod({ nodeName: 'n', terminationGracePeriodSeconds: 30, ...spec }, status)
  t.equal(podGracePeriod(bound(), undefined), 30, 'the pod own period')
  t.equal(podGracePeriod(bound({ terminationGracePeriodSeconds: 5 }), undefined), 5)
  t.equal(podGracePeriod(bound(), 7), 7, 'the period asked for')
  t.equal(podGracePeriod(bound(), 0), 0)
  t.equal(podGracePeriod(bound({ terminationGracePeriodSeconds: undefined }), undefined), 0, 'no period at all: at once')
  t.equal(podGracePeriod(bound({ terminationGracePeriodSeconds: 'x' }), undefined), 0)
  t.equal(podGracePeriod(bound(), -3), 1, 'negative counts as 1')
  t.equal(podGracePeriod(pod({ terminationGracePeriodSeconds: 30 }), undefined), 0, 'unbound')
  t.equal(podGracePeriod(pod({ nodeName: '', terminationGracePeriodSeconds: 30 }), 10), 0, 'unbound, even when asked')
  t.equal(podGracePeriod(bound({}, { phase: 'Succeeded' }), 10), 0, 'finished')
  t.equal(podGracePeriod(bound({}, { phase: 'Failed' }), undefined), 0)
  t.equal(podGracePeriod(bound({}, { phase: 'Running' }), undefined), 30)
  t.equal(podGracePeriod({ metadata: {} }, 5), 0, 'no spec: unbound')
  t.equal(podGracePeriod({ metadata: {}, spec: { nodeName: 'n' } }, 5), 5, 'no status yet')
})
