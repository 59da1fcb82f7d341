// Deployments and ReplicaSets against a real `pontoon api`, driven by kubectl
// 1.33 as a user drives a cluster: create, expose, scale, set image, rollout
// status / history / undo, Recreate, validation, and cascading deletion. A
// fake kubelet (test/fixtures/apps) marks Pods ready through pods/status; the
// controllers under test do the rest, and EndpointSlices follow the Pods.
import t from 'tap'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { call, kubectl, startApi, tempDir, watch, type ApiProc, type KubectlResult } from '../fixtures/api/harness.ts'
import { startFakeKubelet } from '../fixtures/apps/fake-kubelet.ts'
import { waitFor } from '../lib/wait.ts'

/** kubectl without blocking the event loop (the fake kubelet runs in this process). */
function kubectlAsync(api: { kubeconfig: string }, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const p = spawn('kubectl', ['--kubeconfig', api.kubeconfig, ...args], { env: { ...process.env, KUBECACHEDIR: join(dirname(api.kubeconfig), 'kubecache') } })
    let stdout = '', stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d))
    p.stderr.on('data', (d: Buffer) => (stderr += d))
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }))
    p.stdin.end(input)
  })
}

const get = async (api: ApiProc, path: string) => (await call(api, 'GET', path)).body
const APPS = '/apis/apps/v1/namespaces/default'
const podsOf = async (api: ApiProc, sel: string) => (await get(api, `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(sel)}`)).items as any[] // eslint-disable-line @typescript-eslint/no-explicit-any
const live = (pods: any[]) => pods.filter((p) => !p.metadata.deletionTimestamp) // eslint-disable-line @typescript-eslint/no-explicit-any
const isReady = (p: any) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') // eslint-disable-line @typescript-eslint/no-explicit-any

async function sliceIps(api: ApiProc, svc: string): Promise<string[]> {
  const s = await get(api, `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`)
  return s.items.flatMap((x: any) => (x.endpoints ?? []).filter((e: any) => e.conditions.ready).map((e: any) => e.addresses[0])).sort() // eslint-disable-line @typescript-eslint/no-explicit-any
}

t.test('kubectl drives a Deployment through create, expose, scale, set image, rollout and delete', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'deploy') })
  const kubelet = startFakeKubelet(api)
  t.teardown(() => kubelet.stop())
  const k = async (...args: string[]) => {
    const r = await kubectlAsync(api, args)
    t.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  await k('create', 'deployment', 'web', '--image=x', '--replicas=3', '--', 'pontoon', 'echo', '--port', '8080')
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /deployment "web" successfully rolled out/)
  const d = await get(api, `${APPS}/deployments/web`)
  t.match(d.status, { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 })
  t.match(d.status.conditions, [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }])
  t.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '1')
  const rs1 = (await get(api, `${APPS}/replicasets`)).items
  t.equal(rs1.length, 1)
  const hash1 = rs1[0].metadata.labels['pod-template-hash']
  t.equal(rs1[0].metadata.name, `web-${hash1}`, 'ReplicaSet named <deployment>-<pod-template-hash>')
  t.match(rs1[0].metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: d.metadata.uid, controller: true }])
  t.match(rs1[0].status, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 })
  const pods1 = await podsOf(api, 'app=web')
  t.equal(pods1.length, 3)
  for (const p of pods1) {
    t.match(p.metadata.name, new RegExp(`^web-${hash1}-[bcdfghjklmnpqrstvwxz2456789]{5}$`))
    t.match(p.metadata.ownerReferences, [{ kind: 'ReplicaSet', name: `web-${hash1}`, uid: rs1[0].metadata.uid, controller: true }])
    t.equal(p.metadata.labels['pod-template-hash'], hash1)
    t.same(p.spec.containers[0].command, ['pontoon', 'echo', '--port', '8080'])
  }

  // Tables, as kubectl get prints them from the server.
  const table = await k('get', 'deploy,rs,pods', '-o', 'wide')
  t.match(table, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/)
  t.match(table, /deployment\.apps\/web\s+3\/3\s+3\s+3\s+\S+\s+x\s+x\s+app=web/)
  t.match(table, new RegExp(`replicaset\\.apps/web-${hash1}\\s+3\\s+3\\s+3\\s+\\S+\\s+x\\s+x\\s+app=web,pod-template-hash=${hash1}`))

  // expose reads the Deployment's selector; the slices follow the pods.
  await k('expose', 'deployment', 'web', '--port=80', '--target-port=8080')
  const svc = await get(api, '/api/v1/namespaces/default/services/web')
  t.match(svc.spec, { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })
  const ipsOf = (pods: any[]) => live(pods).map((p) => p.status.podIP).sort() // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor('slice with the 3 pods', async () => JSON.stringify(await sliceIps(api, 'web')) === JSON.stringify(ipsOf(pods1)))

  // scale through the scale subresource, up and down; the slice follows each time.
  await k('scale', 'deployment', 'web', '--replicas=5')
  await k('rollout', 'status', 'deployment/web', '--timeout=60s')
  await waitFor('5 ready endpoints', async () => {
    const pods = await podsOf(api, 'app=web')
    const ips = await sliceIps(api, 'web')
    return live(pods).length === 5 && ips.length === 5 && JSON.stringify(ips) === JSON.stringify(ipsOf(pods))
  })
  const scale = await get(api, `${APPS}/deployments/web/scale`)
  t.match(scale, { kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 5 }, status: { replicas: 5, selector: 'app=web' } })
  await k('scale', 'deployment', 'web', '--replicas=1')
  await waitFor('1 pod, 1 endpoint', async () => live(await podsOf(api, 'app=web')).length === 1 && (await sliceIps(api, 'web')).length === 1)
  // The ReplicaSet's own scale subresource: the Deployment owns the count and puts it back.
  await k('scale', 'rs', `web-${hash1}`, '--replicas=4')
  await waitFor('the Deployment restores its count', async () => (await get(api, `${APPS}/replicasets/web-${hash1}`)).spec.replicas === 1 && live(await podsOf(api, 'app=web')).length === 1)

  // A rolling update with maxSurge 1, maxUnavailable 0: never more than 5 pods, never fewer than 4 ready.
  await k('scale', 'deployment', 'web', '--replicas=4')
  await k('rollout', 'status', 'deployment/web', '--timeout=60s')
  await k('patch', 'deployment', 'web', '-p', '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}')
  const startPods = live(await podsOf(api, 'app=web'))
  t.equal(startPods.filter(isReady).length, 4, 'the rollout starts from 4 ready pods')
  const w = watch(t, api, `/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=${(await get(api, '/api/v1/namespaces/default/pods')).metadata.resourceVersion}`)
  await k('set', 'image', 'deployment/web', 'x=y')
  t.match(await k('rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/)
  t.equal(live(await podsOf(api, `pod-template-hash=${hash1}`)).length, 0, 'old pods gone')
  // Replay the watch from the rollout's start, counting live and ready pods after each event.
  const replay = new Map<string, any>(startPods.map((p) => [p.metadata.name, p])) // eslint-disable-line @typescript-eslint/no-explicit-any
  let maxLive = 0, minReady = Infinity
  for (const ev of w.events) {
    const p = ev.object
    if (ev.type === 'DELETED' || p.metadata.deletionTimestamp) replay.delete(p.metadata.name)
    else replay.set(p.metadata.name, p)
    maxLive = Math.max(maxLive, replay.size)
    minReady = Math.min(minReady, [...replay.values()].filter(isReady).length)
  }
  t.equal(replay.size, 4, 'the watch ends with 4 pods')
  t.ok(maxLive <= 5, `at most replicas + maxSurge pods at once (saw ${maxLive})`)
  t.ok(minReady >= 4, `at least replicas - maxUnavailable ready pods at once (saw ${minReady})`)
  w.close()
  const rs2 = (await get(api, `${APPS}/replicasets`)).items
  t.equal(rs2.length, 2)
  const newRs = rs2.find((r: any) => r.metadata.labels['pod-template-hash'] !== hash1) // eslint-disable-line @typescript-eslint/no-explicit-any
  t.equal(newRs.metadata.annotations['deployment.kubernetes.io/revision'], '2')
  t.equal(rs2.find((r: any) => r !== newRs).spec.replicas, 0, 'old ReplicaSet scaled to 0') // eslint-disable-line @typescript-eslint/no-explicit-any
  const pods2 = live(await podsOf(api, 'app=web'))
  t.ok(pods2.every((p) => p.spec.containers[0].image === 'y'), 'every pod runs the new image')
  await waitFor('slice follows the new pods', async () => JSON.stringify(await sliceIps(api, 'web')) === JSON.stringify(ipsOf(pods2)))

  // history and undo: the old template comes back as revision 3.
  t.match(await k('rollout', 'history', 'deployment/web'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/)
  await k('rollout', 'undo', 'deployment/web')
  await k('rollout', 'status', 'deployment/web', '--timeout=60s')
  const undone = await get(api, `${APPS}/deployments/web`)
  t.equal(undone.spec.template.spec.containers[0].image, 'x')
  t.equal(undone.metadata.annotations['deployment.kubernetes.io/revision'], '3')
  t.equal((await get(api, `${APPS}/replicasets/web-${hash1}`)).metadata.annotations['deployment.kubernetes.io/revision'], '3')
  t.ok(live(await podsOf(api, 'app=web')).every((p) => p.metadata.labels['pod-template-hash'] === hash1))

  // delete: background cascading deletion takes the ReplicaSets and their pods.
  await k('delete', 'deployment', 'web')
  await waitFor('ReplicaSets and pods collected', async () => (await get(api, `${APPS}/replicasets`)).items.length === 0 && (await podsOf(api, 'app=web')).length === 0)
  await waitFor('the slice is empty', async () => (await sliceIps(api, 'web')).length === 0)
})

t.test('Recreate: every old pod is gone before a new one is made', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'recreate') })
  const kubelet = startFakeKubelet(api)
  t.teardown(() => kubelet.stop())
  const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: rc}
spec:
  replicas: 3
  strategy: {type: Recreate}
  selector: {matchLabels: {app: rc}}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: one}]}
`
  const r = await kubectlAsync(api, ['apply', '-f', '-'], manifest)
  t.equal(r.status, 0, r.stderr)
  t.equal((await kubectlAsync(api, ['rollout', 'status', 'deployment/rc', '--timeout=60s'])).status, 0)
  const w = watch(t, api, `/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Drc&resourceVersion=${(await get(api, '/api/v1/namespaces/default/pods')).metadata.resourceVersion}`)
  const s = await kubectlAsync(api, ['apply', '-f', '-'], manifest.replace('image: one', 'image: two'))
  t.equal(s.status, 0, s.stderr)
  const done = await kubectlAsync(api, ['rollout', 'status', 'deployment/rc', '--timeout=60s'])
  t.equal(done.status, 0, done.stderr)
  const firstNew = w.events.findIndex((e) => e.type === 'ADDED' && e.object.spec.containers[0].image === 'two')
  t.ok(firstNew >= 0, 'new pods were made')
  const oldGone = w.events.slice(0, firstNew).filter((e) => e.type === 'DELETED' && e.object.spec.containers[0].image === 'one').length
  t.equal(oldGone, 3, 'all 3 old pods were deleted before the first new one was created')
  t.equal(live(await podsOf(api, 'app=rc')).filter((p) => p.spec.containers[0].image === 'two').length, 3)
})

t.test('bad Deployments get kube-apiserver\'s errors; a huge replica count is refused', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'deploy-bad') })
  const base = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad' }, spec: { replicas: 1, selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } }
  const cases: [string, (d: any) => void, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['selector does not match', (d) => (d.spec.template.metadata.labels = { app: 'b' }), /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/],
    ['no selector', (d) => delete d.spec.selector, /spec\.selector: Required value/],
    ['empty selector', (d) => (d.spec.selector = {}), /spec\.selector: Invalid value: .*empty selector is invalid for deployment/],
    ['negative replicas', (d) => (d.spec.replicas = -1), /spec\.replicas: Invalid value: -1: must be greater than or equal to 0/],
    ['1e9 replicas', (d) => (d.spec.replicas = 1e9), /spec\.replicas: Invalid value: 1000000000: must be no more than 1000/],
    ['both 0', (d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }), /spec\.strategy\.rollingUpdate\.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0/],
    ['bad percent', (d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 'lots' } }), /spec\.strategy\.rollingUpdate\.maxSurge: Invalid value: "lots": a valid percent string must be a numeric string followed by an ending '%'/],
    ['over 100%', (d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } }), /spec\.strategy\.rollingUpdate\.maxUnavailable: Invalid value: "150%": must not be greater than 100%/],
    ['bad template', (d) => (d.spec.template.spec.containers = []), /spec\.template\.spec\.containers: Required value/],
    ['restartPolicy', (d) => (d.spec.template.spec.restartPolicy = 'Never'), /spec\.template\.spec\.restartPolicy: Unsupported value: "Never": supported values: "Always"/],
  ]
  for (const [what, f, want] of cases) {
    const d = structuredClone(base)
    f(d)
    const r = kubectl(api, ['create', '-f', '-', '-o', 'name'], JSON.stringify(d))
    t.not(r.status, 0, what)
    t.match(r.stderr, want, what)
  }
  t.equal((await get(api, `${APPS}/deployments`)).items.length, 0, 'nothing half-made')
  // The selector is immutable.
  t.equal(kubectl(api, ['create', '-f', '-'], JSON.stringify(base)).status, 0)
  const imm = kubectl(api, ['patch', 'deployment', 'bad', '--type=merge', '-p', '{"spec":{"selector":{"matchLabels":{"app":"z"}},"template":{"metadata":{"labels":{"app":"z"}}}}}'])
  t.match(imm.stderr, /spec\.selector: Invalid value: .*field is immutable/)
  // Scaling far past the bound through the scale subresource is refused as well, and the count stays.
  const huge = kubectl(api, ['scale', 'deployment', 'bad', '--replicas=1000000000'])
  t.not(huge.status, 0)
  t.match(huge.stderr, /must be no more than 1000/)
  t.equal((await get(api, `${APPS}/deployments/bad/scale`)).spec.replicas, 1)
  const badPolicy = await call(api, 'DELETE', `${APPS}/deployments/bad`, { propagationPolicy: 'Sideways' })
  t.equal(badPolicy.status, 422)
  t.match(badPolicy.body.message, /propagationPolicy: Unsupported value: "Sideways"/)
})

t.test('propagationPolicy Orphan keeps the ReplicaSet and its pods; Foreground deletes them first', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'deploy-gc') })
  const mk = async (name: string) => {
    t.equal((await kubectlAsync(api, ['create', 'deployment', name, '--image=x', '--replicas=2'])).status, 0)
    return waitFor(`${name}'s pods`, async () => (await podsOf(api, `app=${name}`)).length === 2 && (await get(api, `${APPS}/replicasets?labelSelector=app%3D${name}`)).items[0])
  }
  const orphanRs = await mk('orph')
  const o = await kubectlAsync(api, ['delete', 'deployment', 'orph', '--cascade=orphan'])
  t.equal(o.status, 0, o.stderr)
  t.equal((await call(api, 'GET', `${APPS}/deployments/orph`)).status, 404, 'the Deployment is gone')
  const kept = await get(api, `${APPS}/replicasets/${orphanRs.metadata.name}`)
  t.equal(kept.metadata.uid, orphanRs.metadata.uid, 'the ReplicaSet stays')
  t.notOk(kept.metadata.ownerReferences, 'without its owner reference')
  t.equal((await podsOf(api, 'app=orph')).length, 2, 'its pods stay')

  const fgRs = await mk('fg')
  const w = watch(t, api, `/apis/apps/v1/namespaces/default/deployments?watch=1&fieldSelector=metadata.name%3Dfg&resourceVersion=${(await get(api, `${APPS}/deployments`)).metadata.resourceVersion}`)
  const f = await kubectlAsync(api, ['delete', 'deployment', 'fg', '--cascade=foreground'])
  t.equal(f.status, 0, f.stderr)
  await w.next((e) => e.type === 'DELETED')
  t.equal((await call(api, 'GET', `${APPS}/replicasets/${fgRs.metadata.name}`)).status, 404, 'the ReplicaSet went before the Deployment')
  t.equal((await podsOf(api, 'app=fg')).length, 0, 'and its pods')
  const marked = w.events.find((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp)
  t.ok(marked?.object.metadata.finalizers.includes('foregroundDeletion'), 'held by the foregroundDeletion finalizer meanwhile')
})
