// The ReplicaSet controller's I/O half: for each ReplicaSet that changed, or
// whose Pods changed, claim Pods by selector, create or delete Pods to match
// spec.replicas (a bounded burst per sync; the rest follow), and write status.
// Writes go through the Api synchronously, so the next sync already sees them
// and no expectations are needed.
import type { Api } from '../core.ts'
import { REPLICA_BURST } from '../limits.ts'
import { byName } from '../resources.ts'
import { canonical } from '../canonical-json.ts'
import { isObject, type KObject } from '../types.ts'
import { claim, controllerOf, controllerRef } from './controller-ref.ts'
import { selects } from '../selectors/label-selector.ts'
import { planReplicaSet, podView, replicaSetStatus } from './replicaset-plan.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'

type Log = { warn(o: object, msg: string): void; debug(o: object, msg: string): void }

/** The Pod a ReplicaSet makes from its template: `<rs>-<5 random>`, controlled by it. */
export function podFromTemplate(rs: KObject): KObject {
  const t = isObject(rs.spec?.template) ? (structuredClone(rs.spec.template) as KObject) : { metadata: {} }
  const md = isObject(t.metadata) ? t.metadata : {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      ...(md.labels ? { labels: md.labels } : {}),
      ...(md.annotations ? { annotations: md.annotations } : {}),
      ownerReferences: [controllerRef(rs)],
    },
    spec: t.spec,
  }
}

export function setOwner(obj: KObject, owner: KObject | undefined, ownerUid: string): KObject {
  const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid)
  obj.metadata.ownerReferences = owner ? [...refs, controllerRef(owner)] : refs
  if (obj.metadata.ownerReferences.length === 0) delete obj.metadata.ownerReferences
  return obj
}

export function startReplicaSetController(api: Api, o: { log: Log; queue?: QueueOptions; burst?: number; now?: () => number }): () => void {
  const pods = byName('pods')
  const replicasets = byName('replicasets')
  const store = api.store
  const now = o.now ?? Date.now
  const burst = o.burst ?? REPLICA_BURST
  const timers = new Map<string, NodeJS.Timeout>()

  const sync = (key: string) => {
    const [ns, name] = key.split('/') as [string, string]
    const rs = store.get('replicasets', ns, name)?.obj
    if (!rs || rs.metadata.deletionTimestamp) return
    const uid = rs.metadata.uid ?? ''
    const inNs = [...store.list('pods', ns)].map((e) => e.obj)
    const { adopt, release } = claim(rs, inNs)
    for (const p of adopt) api.patch(pods, ns, p, (cur) => setOwner(cur as KObject, rs, uid))
    for (const p of release) api.patch(pods, ns, p, (cur) => setOwner(cur as KObject, undefined, uid))
    const owned = [...store.list('pods', ns)].map((e) => e.obj).filter((p) => controllerOf(p)?.uid === uid)
    const views = owned.map(podView)
    const replicas = typeof rs.spec?.replicas === 'number' ? rs.spec.replicas : 1
    const diff = planReplicaSet(replicas, views, burst)
    let failure: unknown
    for (let i = 0; i < diff.create; i++) {
      try {
        api.create(pods, ns, podFromTemplate(rs))
      } catch (e) {
        // The rest of this burst would fail the same way (a bad template, a namespace going): report once, retry later.
        failure = e
        break
      }
    }
    for (const p of diff.delete) {
      try {
        api.delete(pods, ns, p)
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOTFOUND') failure = e
      }
    }
    const after = [...store.list('pods', ns)].map((e) => e.obj).filter((p) => controllerOf(p)?.uid === uid).map(podView)
    const { status, nextAvailableAt } = replicaSetStatus(rs, after, now())
    const cur = store.get('replicasets', ns, name)?.obj
    if (cur && canonical(pick(cur.status)) !== canonical(status))
      api.patch(replicasets, ns, name, (c) => ({ ...(c as KObject), status: { ...((c as KObject).status ?? {}), ...status } }), { subresource: 'status' })
    const t = timers.get(key)
    if (t) clearTimeout(t)
    timers.delete(key)
    if (nextAvailableAt !== undefined) {
      // A Pod becomes available minReadySeconds after it became ready: look again then.
      const timer = setTimeout(() => { timers.delete(key); queue.add(key) }, Math.max(0, nextAvailableAt - now()) + 50).unref()
      timers.set(key, timer)
    }
    if (failure) throw failure
    // More than one burst to go: the next turn takes the next burst, so the event loop serves requests between.
    if (diff.create === burst || diff.delete.length === burst) queue.add(key)
  }
  const queue = new WorkQueue(sync, (key, e, retryInMs) => o.log.warn({ replicaset: key, err: e, retryInMs }, 'ReplicaSet sync failed; retrying'), o.queue)
  const keyOf = (obj: KObject) => `${obj.metadata.namespace}/${obj.metadata.name}`

  /** The ReplicaSets a Pod event concerns: its controller, or (an orphan) every ReplicaSet whose selector takes it. */
  const podEvent = (p: KObject | undefined) => {
    if (!p) return
    const ctl = controllerOf(p)
    const ns = p.metadata.namespace ?? ''
    if (ctl) {
      if (ctl.kind === 'ReplicaSet') queue.add(`${ns}/${ctl.name}`)
      return
    }
    for (const e of store.list('replicasets', ns)) if (selects(e.obj.spec?.selector, p.metadata.labels)) queue.add(keyOf(e.obj))
  }

  for (const e of store.list('replicasets')) queue.add(keyOf(e.obj))
  const unsubs = [
    store.subscribe('replicasets', (ev) => {
      if (ev.type === 'DELETED') return
      // Our own status write changes nothing we act on.
      if (ev.prev && canonical(ev.prev.spec) === canonical(ev.obj.spec) && canonical(ev.prev.metadata.labels) === canonical(ev.obj.metadata.labels) && ev.prev.metadata.deletionTimestamp === ev.obj.metadata.deletionTimestamp) return
      queue.add(keyOf(ev.obj))
    }),
    store.subscribe('pods', (ev) => {
      podEvent(ev.obj)
      if (ev.prev && controllerOf(ev.prev)?.uid !== controllerOf(ev.obj)?.uid) podEvent(ev.prev)
    }),
  ]
  return () => {
    for (const u of unsubs) u()
    for (const t of timers.values()) clearTimeout(t)
    queue.stop()
  }
}

function pick(s: unknown): Record<string, unknown> {
  const st = isObject(s) ? s : {}
  const out: Record<string, unknown> = {}
  for (const k of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) out[k] = st[k]
  return out
}
