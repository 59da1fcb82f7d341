// A ReplicaSet's claim on Pods by its selector, against a real `pontoon api`:
// a matching orphan is adopted (and, as a surplus not-ready Pod, is the one
// deleted), a Pod relabelled out of the selector is released and replaced.
import t from 'tap'
import { call, startApi, tempDir } from '../fixtures/api/harness.ts'
import { startFakeKubelet } from '../fixtures/apps/fake-kubelet.ts'
import { waitFor } from '../lib/wait.ts'

const NS = '/api/v1/namespaces/default'
const RS = '/apis/apps/v1/namespaces/default/replicasets'

t.test('adopt matching orphans, delete the not-ready surplus first, release what leaves the selector', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'rs') })
  const kubelet = startFakeKubelet(api)
  t.teardown(() => kubelet.stop())
  kubelet.hold((p) => p.metadata.name === 'stray')
  const made = await call(api, 'POST', RS, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'fe' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'fe' } }, template: { metadata: { labels: { app: 'fe' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  })
  t.equal(made.status, 201, JSON.stringify(made.body))
  const uid = made.body.metadata.uid
  const pods = async () => (await call(api, 'GET', `${NS}/pods`)).body.items as any[] // eslint-disable-line @typescript-eslint/no-explicit-any
  const ready = await waitFor('2 ready pods', async () => {
    const rs = (await call(api, 'GET', `${RS}/fe`)).body
    return rs.status?.readyReplicas === 2 && rs.status?.availableReplicas === 2 ? await pods() : undefined
  })
  t.same(ready.map((p) => p.metadata.ownerReferences[0].uid), [uid, uid])

  // An orphan with matching labels: adopted, and as the not-ready surplus it is the one to go.
  const stray = await call(api, 'POST', `${NS}/pods`, { metadata: { name: 'stray', labels: { app: 'fe' } }, spec: { containers: [{ name: 'c', image: 'x' }] } })
  t.equal(stray.status, 201)
  await waitFor('the stray pod is deleted', async () => (await call(api, 'GET', `${NS}/pods/stray`)).status === 404)
  const after = await pods()
  t.same(after.map((p) => p.metadata.name).sort(), ready.map((p) => p.metadata.name).sort(), 'the two ready pods stay')

  // A pod relabelled out of the selector is released (no owner) and replaced.
  const leaver = ready[0].metadata.name
  const relabel = await call(api, 'PATCH', `${NS}/pods/${leaver}`, { metadata: { labels: { app: 'elsewhere' } } }, 'application/merge-patch+json')
  t.equal(relabel.status, 200)
  await waitFor('released and replaced', async () => {
    const all = await pods()
    const gone = all.find((p) => p.metadata.name === leaver)
    const owned = all.filter((p) => p.metadata.ownerReferences?.[0]?.uid === uid)
    return gone && !gone.metadata.ownerReferences && owned.length === 2 && !owned.some((p) => p.metadata.name === leaver)
  })
  const rs = (await call(api, 'GET', `${RS}/fe`)).body
  t.match(rs.status, { replicas: 2, observedGeneration: 1 })
})
