// Pod placement and removal against a real `pontoon api`: POST pods/binding as
// kube-apiserver answers it, the --scheduler controller binding pods
// round-robin to the nodes that fit (and leaving the others Pending with a
// reason), the deletion grace period a kubelet relies on, and what a Pod
// update may change (kubectl set image).
import t, { type Test } from 'tap'
import { call, eventually, kubectl, startApi, tempDir, watch, type ApiEndpoint } from '../fixtures/api/harness.ts'

const PODS = '/api/v1/namespaces/default/pods'
const NODES = '/api/v1/nodes'
const EVENTS = '/api/v1/namespaces/default/events'

type Spec = Record<string, unknown>
const pod = (name: string, spec: Spec = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' }, ...extra },
  spec: { containers: [{ name: 'c', image: 'pontoon', command: ['pontoon', 'echo', '--port', '8080'] }], ...spec },
})
const binding = (name: string, node: string, meta: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name, ...meta }, target: { apiVersion: 'v1', kind: 'Node', name: node } })

async function mustCreate(t: Test, api: ApiEndpoint, path: string, body: unknown) {
  const r = await call(api, 'POST', path, body)
  t.equal(r.status, 201, r.status === 201 ? `created ${(body as { metadata: { name: string } }).metadata.name}` : JSON.stringify(r.body))
  return r.body
}

const nodeOf = async (api: ApiEndpoint, name: string): Promise<string> => (await call(api, 'GET', `${PODS}/${name}`)).body.spec.nodeName ?? ''

t.test('pods/binding: binds once, as kube-apiserver answers', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'bind') })
  // a kubelet's watch of its own node sees the pod arrive when it is bound
  const w = watch(t, api, `${PODS}?watch=true&fieldSelector=spec.nodeName%3Dnode-1`)
  await mustCreate(t, api, PODS, pod('p1'))
  const created = (await call(api, 'GET', `${PODS}/p1`)).body

  const ok = await call(api, 'POST', `${PODS}/p1/binding`, binding('p1', 'node-1', { annotations: { 'example.com/why': 'test' }, uid: created.metadata.uid }))
  t.equal(ok.status, 201, JSON.stringify(ok.body))
  t.same(ok.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 })
  const bound = (await call(api, 'GET', `${PODS}/p1`)).body
  t.equal(bound.spec.nodeName, 'node-1')
  t.equal(bound.metadata.annotations['example.com/why'], 'test', 'the binding annotations are copied')
  t.match(bound.status.conditions, [{ type: 'PodScheduled', status: 'True' }])
  t.not(bound.metadata.resourceVersion, created.metadata.resourceVersion)
  const seen = await w.next((e) => e.object.metadata.name === 'p1')
  t.equal(seen.type, 'ADDED', 'a fieldSelector watch on spec.nodeName sees the pod enter')
  t.equal(seen.object.spec.nodeName, 'node-1')

  const again = await call(api, 'POST', `${PODS}/p1/binding`, binding('p1', 'node-2'))
  t.equal(again.status, 409)
  t.equal(again.body.reason, 'Conflict')
  t.equal(again.body.message, 'Operation cannot be fulfilled on pods/binding "p1": pod p1 is already assigned to node "node-1"')
  t.equal(await nodeOf(api, 'p1'), 'node-1', 'the first binding stands')

  const gone = await call(api, 'POST', `${PODS}/nope/binding`, binding('nope', 'node-1'))
  t.equal(gone.status, 404)
  t.equal(gone.body.message, 'pods "nope" not found')

  await mustCreate(t, api, PODS, pod('p2'))
  const noName = await call(api, 'POST', `${PODS}/p2/binding`, { ...binding('p2', ''), target: { kind: 'Node' } })
  t.equal(noName.status, 422)
  t.match(noName.body.details.causes, [{ field: 'target.name', reason: 'FieldValueRequired' }])
  const badKind = await call(api, 'POST', `${PODS}/p2/binding`, { ...binding('p2', 'node-1'), target: { kind: 'Pod', name: 'node-1' } })
  t.equal(badKind.status, 422)
  t.match(badKind.body.details.causes, [{ field: 'target.kind', reason: 'FieldValueNotSupported' }])
  const badNode = await call(api, 'POST', `${PODS}/p2/binding`, binding('p2', 'Node_1'))
  t.equal(badNode.status, 422)
  t.match(badNode.body.details.causes, [{ field: 'target.name', reason: 'FieldValueInvalid' }])
  const mismatch = await call(api, 'POST', `${PODS}/p2/binding`, binding('other', 'node-1'))
  t.equal(mismatch.status, 400)
  t.equal(mismatch.body.message, 'name in URL does not match name in Binding object')
  const wrongUid = await call(api, 'POST', `${PODS}/p2/binding`, binding('p2', 'node-1', { uid: 'not-the-uid' }))
  t.equal(wrongUid.status, 409)
  t.match(wrongUid.body.message, /Precondition failed: UID in precondition: not-the-uid/)
  const notBinding = await call(api, 'POST', `${PODS}/p2/binding`, { ...binding('p2', 'node-1'), kind: 'Pod' })
  t.equal(notBinding.status, 400)
  const get = await call(api, 'GET', `${PODS}/p2/binding`)
  t.equal(get.status, 405, 'a binding is only created')
  const put = await call(api, 'PUT', `${PODS}/p2/binding`, binding('p2', 'node-1'))
  t.equal(put.status, 405)
  const dry = await call(api, 'POST', `${PODS}/p2/binding?dryRun=All`, binding('p2', 'node-1'))
  t.equal(dry.status, 201)
  t.equal(await nodeOf(api, 'p2'), '', 'nothing bound by every refused or dry-run binding')

  // a terminating pod is not bound (a finalizer keeps the unbound pod while it terminates)
  await mustCreate(t, api, PODS, pod('p3', {}, { finalizers: ['example.com/hold'] }))
  t.equal((await call(api, 'DELETE', `${PODS}/p3`)).status, 200)
  const late = await call(api, 'POST', `${PODS}/p3/binding`, binding('p3', 'node-1'))
  t.equal(late.status, 409)
  t.match(late.body.message, 'pod p3 is being deleted, cannot be assigned to a host')
  // an unknown subresource is not a pod
  t.equal((await call(api, 'PUT', `${PODS}/p2/nonsense`, pod('p2'))).status, 404)

  const disco = (await call(api, 'GET', '/api/v1')).body
  t.match(disco.resources.find((r: { name: string }) => r.name === 'pods/binding'), { kind: 'Binding', verbs: ['create'] })
})

t.test('--scheduler binds pods round-robin over the nodes that fit, and leaves the rest Pending with a reason', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'sched'), args: ['--scheduler'] })
  const node = (name: string, labels: Record<string, string>, spec: Spec = {}, ready?: string) =>
    mustCreate(t, api, NODES, { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } }, spec, ...(ready ? { status: { conditions: [{ type: 'Ready', status: ready }] } } : {}) })
  await node('node-1', { zone: 'a' })
  await node('node-2', { zone: 'a' }, {}, 'True')
  await node('node-3', { zone: 'b' })
  await node('node-4', { zone: 'a' }, { unschedulable: true })
  await node('node-5', { zone: 'a' }, {}, 'False')
  await node('node-6', { zone: 'a' }, { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] })
  const n5 = (await call(api, 'GET', `${NODES}/node-5`)).body
  t.match(n5.status.conditions, [{ type: 'Ready', status: 'False' }], 'node-5 is NotReady')

  for (let i = 0; i < 6; i++) await mustCreate(t, api, PODS, pod(`rr-${i}`))
  const placed = await eventually(async () => {
    const names = await Promise.all(Array.from({ length: 6 }, (_, i) => nodeOf(api, `rr-${i}`)))
    return names.every(Boolean) ? names : undefined
  }, 10_000, 'six pods bound')
  const count = (n: string) => placed.filter((x) => x === n).length
  t.same([count('node-1'), count('node-2'), count('node-3')], [2, 2, 2], `round-robin over the three that fit: ${placed}`)

  await mustCreate(t, api, PODS, pod('in-b', { nodeSelector: { zone: 'b' } }))
  await mustCreate(t, api, PODS, pod('tolerant', { nodeSelector: { 'kubernetes.io/hostname': 'node-6' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'x', effect: 'NoSchedule' }] }))
  await mustCreate(t, api, PODS, pod('pinned', { nodeName: 'node-4' }))
  await mustCreate(t, api, PODS, pod('other-scheduler', { schedulerName: 'my-scheduler' }))
  t.equal(await eventually(async () => (await nodeOf(api, 'in-b')) || undefined, 10_000, 'in-b bound'), 'node-3', 'nodeSelector honoured')
  t.equal(await eventually(async () => (await nodeOf(api, 'tolerant')) || undefined, 10_000, 'tolerant bound'), 'node-6', 'a tolerated taint')

  await mustCreate(t, api, PODS, pod('nowhere', { nodeSelector: { zone: 'c' } }))
  const stuck = await eventually(async () => {
    const p = (await call(api, 'GET', `${PODS}/nowhere`)).body
    return (p.status.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled') ? p : undefined
  }, 10_000, 'nowhere marked unschedulable')
  t.equal(stuck.spec.nodeName, undefined)
  t.equal(stuck.status.phase, 'Pending')
  const expected = '0/6 nodes are available: 1 node(s) had untolerated taint {dedicated: x}, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable, 3 node(s) didn\'t match Pod\'s node affinity/selector.'
  t.match(stuck.status.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: expected }])
  const failed = await eventually(async () => {
    const evs = (await call(api, 'GET', `${EVENTS}?fieldSelector=involvedObject.name%3Dnowhere`)).body.items
    return evs.length ? evs : undefined
  }, 10_000, 'FailedScheduling event')
  t.match(failed, [{ type: 'Warning', reason: 'FailedScheduling', message: expected, involvedObject: { kind: 'Pod', name: 'nowhere', uid: stuck.metadata.uid }, source: { component: 'default-scheduler' } }])
  t.equal(failed.length, 1, 'one Event for one reason')

  // other pods are left alone: a pinned one keeps its node (nothing to do), another scheduler's stays unbound
  t.equal(await nodeOf(api, 'pinned'), 'node-4')
  t.equal(await nodeOf(api, 'other-scheduler'), '')
  const pinned = (await call(api, 'GET', `${PODS}/pinned`)).body
  t.equal(pinned.status.conditions, undefined, 'the scheduler wrote nothing on a pod that names its node')

  // a node change makes room: the waiting pod is tried again
  const label = await call(api, 'PATCH', `${NODES}/node-1`, { metadata: { labels: { zone: 'c' } } }, 'application/merge-patch+json')
  t.equal(label.status, 200)
  t.equal(await eventually(async () => (await nodeOf(api, 'nowhere')) || undefined, 10_000, 'nowhere bound after the node change'), 'node-1')
  const after = (await call(api, 'GET', `${PODS}/nowhere`)).body
  t.match(after.status.conditions.filter((c: { type: string }) => c.type === 'PodScheduled'), [{ status: 'True' }])
  const scheduled = await eventually(async () => {
    const evs = (await call(api, 'GET', `${EVENTS}?fieldSelector=involvedObject.name%3Dnowhere,reason%3DScheduled`)).body.items
    return evs.length ? evs : undefined
  }, 10_000, 'Scheduled event')
  t.equal(scheduled[0].message, 'Successfully assigned default/nowhere to node-1')

  // kubectl shows where they went
  const wide = kubectl(api, ['get', 'pods', '-o', 'wide'])
  t.equal(wide.status, 0, wide.stderr)
  t.match(wide.stdout, /NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES/)
  t.match(wide.stdout, /\nin-b\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+node-3\s/)
  t.match(wide.stdout, /\nother-scheduler\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s/)
  const st = await call(api, 'PATCH', `${PODS}/in-b/status`, { status: { phase: 'Running', podIP: '10.244.3.7' } }, 'application/merge-patch+json')
  t.equal(st.status, 200, JSON.stringify(st.body))
  t.match(kubectl(api, ['get', 'pods', 'in-b', '-o', 'wide']).stdout, /\nin-b\s+0\/1\s+Running\s+0\s+\S+\s+10\.244\.3\.7\s+node-3\s/)
  const onNode3 = kubectl(api, ['get', 'pods', '--field-selector', 'spec.nodeName=node-3', '-o', 'name'])
  t.same(onNode3.stdout.trim().split('\n').sort(), ['pod/in-b', ...placed.flatMap((n, i) => (n === 'node-3' ? [`pod/rr-${i}`] : []))].sort(), 'fieldSelector on spec.nodeName lists')
})

t.test('deletion grace: a bound pod waits for its kubelet; unbound or finished pods go at once', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'grace') })
  await mustCreate(t, api, NODES, { metadata: { name: 'node-1' } })

  // bound, no grace given: the pod's terminationGracePeriodSeconds (defaulted to 30)
  const p = await mustCreate(t, api, PODS, pod('bound', { nodeName: 'node-1' }))
  t.equal(p.spec.terminationGracePeriodSeconds, 30, 'defaulted')
  const before = Date.now()
  const del = await call(api, 'DELETE', `${PODS}/bound`)
  t.equal(del.status, 200)
  t.equal(del.body.metadata.deletionGracePeriodSeconds, 30)
  const ts = Date.parse(del.body.metadata.deletionTimestamp)
  t.ok(ts >= Math.floor(before / 1000) * 1000 + 29_000 && ts <= Date.now() + 30_000, `deletionTimestamp ${del.body.metadata.deletionTimestamp} is about 30 s away`)
  t.equal((await call(api, 'GET', `${PODS}/bound`)).status, 200, 'still there, terminating')
  t.match(kubectl(api, ['get', 'pod', 'bound']).stdout, /bound\s+0\/1\s+Terminating/)
  // a second delete without a shorter period changes nothing
  const again = await call(api, 'DELETE', `${PODS}/bound`, { gracePeriodSeconds: 60 })
  t.equal(again.status, 200)
  t.equal(again.body.metadata.deletionTimestamp, del.body.metadata.deletionTimestamp)
  t.equal(again.body.metadata.resourceVersion, del.body.metadata.resourceVersion, 'nothing written')
  // a shorter one moves the deadline earlier by the difference
  const shorter = await call(api, 'DELETE', `${PODS}/bound?gracePeriodSeconds=10`)
  t.equal(shorter.status, 200)
  t.equal(shorter.body.metadata.deletionGracePeriodSeconds, 10)
  t.equal(Date.parse(shorter.body.metadata.deletionTimestamp), ts - 20_000)
  // the kubelet's final delete: grace 0 with the uid it knows
  const stale = await call(api, 'DELETE', `${PODS}/bound`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: 'someone-else' } })
  t.equal(stale.status, 409)
  t.match(stale.body.message, /Precondition failed: UID in precondition: someone-else/)
  t.equal((await call(api, 'GET', `${PODS}/bound`)).status, 200, 'a failed precondition removes nothing')
  const final = await call(api, 'DELETE', `${PODS}/bound`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } })
  t.equal(final.status, 200, JSON.stringify(final.body))
  t.equal((await call(api, 'GET', `${PODS}/bound`)).status, 404, 'gone after the final delete')

  // the pod's own period
  await mustCreate(t, api, PODS, pod('short', { nodeName: 'node-1', terminationGracePeriodSeconds: 5 }))
  t.equal((await call(api, 'DELETE', `${PODS}/short`)).body.metadata.deletionGracePeriodSeconds, 5)
  // an unbound pod goes at once
  await mustCreate(t, api, PODS, pod('unbound'))
  const u = await call(api, 'DELETE', `${PODS}/unbound`)
  t.equal(u.status, 200)
  t.equal((await call(api, 'GET', `${PODS}/unbound`)).status, 404, 'unbound: gone at once')
  // a finished pod goes at once
  await mustCreate(t, api, PODS, pod('done', { nodeName: 'node-1' }))
  t.equal((await call(api, 'PATCH', `${PODS}/done/status`, { status: { phase: 'Succeeded' } }, 'application/merge-patch+json')).status, 200)
  t.equal((await call(api, 'DELETE', `${PODS}/done`)).status, 200)
  t.equal((await call(api, 'GET', `${PODS}/done`)).status, 404, 'Succeeded: gone at once')
  // kubectl delete --grace-period=0 --force removes at once
  await mustCreate(t, api, PODS, pod('forced', { nodeName: 'node-1' }))
  const k = kubectl(api, ['delete', 'pod', 'forced', '--grace-period=0', '--force'])
  t.equal(k.status, 0, k.stderr)
  t.equal((await call(api, 'GET', `${PODS}/forced`)).status, 404)
  // a bad grace period is a 400, and nothing happens
  await mustCreate(t, api, PODS, pod('odd', { nodeName: 'node-1' }))
  const bad = await call(api, 'DELETE', `${PODS}/odd?gracePeriodSeconds=soon`)
  t.equal(bad.status, 400)
  t.notOk((await call(api, 'GET', `${PODS}/odd`)).body.metadata.deletionTimestamp, 'not marked')

  // Past its deadline a pod whose node exists still waits for the kubelet; once
  // the node is gone, no kubelet will come, and the server removes it.
  await mustCreate(t, api, NODES, { metadata: { name: 'node-9' } })
  await mustCreate(t, api, PODS, pod('orphan', { nodeName: 'node-9' }))
  await mustCreate(t, api, PODS, pod('nonode', { nodeName: 'node-404' }))
  const o = await call(api, 'DELETE', `${PODS}/orphan?gracePeriodSeconds=1`)
  t.equal(o.body.metadata.deletionGracePeriodSeconds, 1)
  t.equal((await call(api, 'DELETE', `${PODS}/nonode?gracePeriodSeconds=1`)).status, 200)
  await eventually(async () => ((await call(api, 'GET', `${PODS}/nonode`)).status === 404 ? true : undefined), 10_000, 'a pod on a node that does not exist goes after its grace period')
  const deadline = Date.parse(o.body.metadata.deletionTimestamp)
  t.ok(Date.now() > deadline, 'past the deadline of orphan too')
  t.equal((await call(api, 'GET', `${PODS}/orphan`)).status, 200, 'its node exists: it waits for its kubelet')
  t.equal((await call(api, 'DELETE', `${NODES}/node-9`)).status, 200)
  await eventually(async () => ((await call(api, 'GET', `${PODS}/orphan`)).status === 404 ? true : undefined), 10_000, 'orphan removed once its node is gone')
  t.pass('a terminating pod goes with its node')
})

t.test('a Pod update changes only what kube-apiserver allows: kubectl set image works, other spec edits are refused', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'update') })
  await mustCreate(t, api, PODS, pod('web', { activeDeadlineSeconds: 600 }))
  const set = kubectl(api, ['set', 'image', 'pod/web', 'c=pontoon:v2'])
  t.equal(set.status, 0, set.stderr)
  t.match(set.stdout, 'pod/web image updated')
  const got = (await call(api, 'GET', `${PODS}/web`)).body
  t.equal(got.spec.containers[0].image, 'pontoon:v2')
  const cmd = kubectl(api, ['patch', 'pod', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/containers/0/command","value":["sleep","1"]}]'])
  t.not(cmd.status, 0)
  t.match(cmd.stderr, 'is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`')
  const r = await call(api, 'PATCH', `${PODS}/web`, { spec: { restartPolicy: 'Never' } }, 'application/merge-patch+json')
  t.equal(r.status, 422)
  t.match(r.body.details.causes, [{ field: 'spec', reason: 'FieldValueForbidden', message: /changed: spec\.restartPolicy/ }])
  const raise = await call(api, 'PATCH', `${PODS}/web`, { spec: { activeDeadlineSeconds: 6000 } }, 'application/merge-patch+json')
  t.equal(raise.status, 422)
  t.match(raise.body.details.causes, [{ field: 'spec.activeDeadlineSeconds', message: /must be less than or equal to previous value/ }])
  const lower = await call(api, 'PATCH', `${PODS}/web`, { spec: { activeDeadlineSeconds: 60 } }, 'application/merge-patch+json')
  t.equal(lower.status, 200, JSON.stringify(lower.body))
  const tol = await call(api, 'PATCH', `${PODS}/web`, { spec: { tolerations: [{ key: 'k', operator: 'Exists' }] } }, 'application/merge-patch+json')
  t.equal(tol.status, 200, 'a toleration added')
  t.equal((await call(api, 'GET', `${PODS}/web`)).body.spec.containers[0].command[0], 'pontoon', 'the refused edits left the pod as it was')
})
