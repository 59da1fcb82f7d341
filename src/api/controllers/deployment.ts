// The Deployment controller's I/O half: claims ReplicaSets by selector, finds
// the one whose template is the Deployment's (or makes it, named
// <deployment>-<pod-template-hash>), applies one rollout step from
// rollout-plan.ts per sync, keeps the revision annotations, and writes status.
// ReplicaSet status changes bring the next sync, until the rollout is done.
import type { Api } from '../core.ts'
import { byName } from '../resources.ts'
import { canonical } from '../canonical-json.ts'
import { selects } from '../selectors/label-selector.ts'
import { isObject, type KObject } from '../types.ts'
import { claim, controllerOf, controllerRef } from './controller-ref.ts'
import { deploymentStatus } from './deployment-status.ts'
import { resolveFenceposts } from './int-or-percent.ts'
import { POD_TEMPLATE_HASH, podTemplateHash, sameTemplate } from './pod-template-hash.ts'
import { setOwner } from './replicaset.ts'
import { planRollout, type RolloutSpec, type RsState } from './rollout-plan.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'

export const REVISION = 'deployment.kubernetes.io/revision'
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas'
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas'
export const CHANGE_CAUSE = 'kubernetes.io/change-cause'
/** how many names a hash collision may try in one sync before it waits for a retry */
const MAX_COLLISIONS_PER_SYNC = 10

type Log = { warn(o: object, msg: string): void; debug(o: object, msg: string): void }
type Rec = Record<string, unknown>
const int = (v: unknown, dflt: number) => (typeof v === 'number' && Number.isInteger(v) ? v : dflt)

export function rolloutSpecOf(d: KObject): RolloutSpec {
  const s = d.spec ?? {}
  const st = isObject(s.strategy) ? s.strategy : {}
  const ru = isObject(st.rollingUpdate) ? st.rollingUpdate : {}
  return {
    replicas: int(s.replicas, 1),
    strategy: st.type === 'Recreate' ? 'Recreate' : 'RollingUpdate',
    maxSurge: ru.maxSurge ?? '25%',
    maxUnavailable: ru.maxUnavailable ?? '25%',
    revisionHistoryLimit: int(s.revisionHistoryLimit, 10),
    paused: s.paused === true,
  }
}

export const revisionOf = (o: KObject): number => {
  const n = Number(o.metadata.annotations?.[REVISION] ?? '')
  return Number.isInteger(n) && n > 0 ? n : 0
}

export function rsState(rs: KObject): RsState {
  const st = isObject(rs.status) ? rs.status : {}
  return {
    name: rs.metadata.name ?? '',
    replicas: int(rs.spec?.replicas, 1),
    current: int(st.replicas, 0),
    ready: int(st.readyReplicas, 0),
    available: int(st.availableReplicas, 0),
    revision: revisionOf(rs),
  }
}

/** The new ReplicaSet of a Deployment: its template plus the hash label, its selector narrowed by the same label. */
export function newReplicaSet(d: KObject, hash: string, replicas: number, revision: number): KObject {
  const spec = d.spec ?? {}
  const template = structuredClone(isObject(spec.template) ? spec.template : {}) as Rec
  const tmd = (template.metadata = isObject(template.metadata) ? template.metadata : {}) as Rec
  const labels = { ...(isObject(tmd.labels) ? (tmd.labels as Record<string, string>) : {}), [POD_TEMPLATE_HASH]: hash }
  tmd.labels = labels
  const selector = structuredClone(isObject(spec.selector) ? spec.selector : {}) as Rec
  selector.matchLabels = { ...(isObject(selector.matchLabels) ? selector.matchLabels : {}), [POD_TEMPLATE_HASH]: hash }
  const rs = rolloutSpecOf(d)
  const surge = rs.strategy === 'RollingUpdate' ? resolveFenceposts(rs.maxSurge, rs.maxUnavailable, rs.replicas).surge : 0
  const annotations: Record<string, string> = {
    [REVISION]: String(revision),
    [DESIRED_REPLICAS]: String(rs.replicas),
    [MAX_REPLICAS_ANNOTATION]: String(rs.replicas + surge),
  }
  const cause = d.metadata.annotations?.[CHANGE_CAUSE]
  if (cause) annotations[CHANGE_CAUSE] = cause
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: { ...labels }, annotations, ownerReferences: [controllerRef(d)] },
    spec: { replicas, minReadySeconds: int(spec.minReadySeconds, 0), selector, template },
  }
}

export function startDeploymentController(api: Api, o: { log: Log; queue?: QueueOptions; now?: () => number }): () => void {
  const deployments = byName('deployments')
  const replicasets = byName('replicasets')
  const store = api.store
  const now = o.now ?? Date.now
  const timers = new Map<string, NodeJS.Timeout>()

  const owned = (ns: string, uid: string) => [...store.list('replicasets', ns)].map((e) => e.obj).filter((r) => controllerOf(r)?.uid === uid)
  const scale = (ns: string, name: string, replicas: number) =>
    api.patch(replicasets, ns, name, (c) => {
      const rs = c as KObject
      return { ...rs, spec: { ...(rs.spec ?? {}), replicas } }
    })
  const annotate = (r: typeof replicasets, ns: string, name: string, key: string, value: string) =>
    api.patch(r, ns, name, (c) => {
      const obj = c as KObject
      return { ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [key]: value } } }
    })

  /** Create the new ReplicaSet, stepping past names taken by other templates (status.collisionCount). */
  const createNew = (d: KObject, replicas: number, revision: number): { rs: KObject; collisions: number } => {
    const ns = d.metadata.namespace ?? ''
    const start = int(isObject(d.status) ? d.status.collisionCount : 0, 0)
    for (let c = start; c < start + MAX_COLLISIONS_PER_SYNC; c++) {
      const hash = podTemplateHash(d.spec?.template, c)
      const existing = store.get('replicasets', ns, `${d.metadata.name}-${hash}`)?.obj
      if (!existing) return { rs: api.create(replicasets, ns, newReplicaSet(d, hash, replicas, revision)), collisions: c }
      if (controllerOf(existing)?.uid === d.metadata.uid && sameTemplate(existing.spec?.template, d.spec?.template)) return { rs: existing, collisions: c }
    }
    throw Object.assign(new Error(`deployment ${ns}/${d.metadata.name}: ${MAX_COLLISIONS_PER_SYNC} ReplicaSet names in a row are taken`), { code: 'EHASHCOLLISION' })
  }

  const sync = (key: string) => {
    const [ns, name] = key.split('/') as [string, string]
    const d = store.get('deployments', ns, name)?.obj
    if (!d || d.metadata.deletionTimestamp) return
    const uid = d.metadata.uid ?? ''
    const { adopt, release } = claim(d, [...store.list('replicasets', ns)].map((e) => e.obj))
    for (const r of adopt) api.patch(replicasets, ns, r, (cur) => setOwner(cur as KObject, d, uid))
    for (const r of release) api.patch(replicasets, ns, r, (cur) => setOwner(cur as KObject, undefined, uid))

    const spec = rolloutSpecOf(d)
    const mine = owned(ns, uid).sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || revisionOf(a) - revisionOf(b))
    let newRs = mine.find((r) => sameTemplate(r.spec?.template, d.spec?.template))
    const olds = mine.filter((r) => r !== newRs)
    const maxOld = olds.reduce((m, r) => Math.max(m, revisionOf(r)), 0)
    const step = planRollout(spec, newRs && rsState(newRs), olds.map(rsState))
    let createdNew = false
    let collisions: number | undefined
    if (step.newReplicas !== undefined) {
      if (!newRs) {
        const made = createNew(d, step.newReplicas, maxOld + 1)
        newRs = made.rs
        collisions = made.collisions
        createdNew = true
      } else if (int(newRs.spec?.replicas, 1) !== step.newReplicas) newRs = scale(ns, newRs.metadata.name ?? '', step.newReplicas)
    }
    for (const s of step.scale) scale(ns, s.name, s.replicas)
    for (const r of step.remove) api.delete(replicasets, ns, r)

    // The new ReplicaSet carries the highest revision (a rollback makes an old template new again), and so does the Deployment.
    if (newRs && revisionOf(newRs) <= maxOld) newRs = annotate(replicasets, ns, newRs.metadata.name ?? '', REVISION, String(maxOld + 1))
    if (newRs && d.metadata.annotations?.[REVISION] !== String(revisionOf(newRs))) annotate(deployments, ns, name, REVISION, String(revisionOf(newRs)))

    const cur = store.get('deployments', ns, name)?.obj ?? d
    const all = owned(ns, uid)
    const newNow = newRs && all.find((r) => r.metadata.uid === newRs!.metadata.uid)
    const pd = d.spec?.progressDeadlineSeconds
    const { status, checkAt } = deploymentStatus({
      name,
      generation: cur.metadata.generation ?? 0,
      spec,
      progressDeadlineSeconds: typeof pd === 'number' && pd < 2147483647 ? pd : undefined,
      newRs: newNow ? rsState(newNow) : undefined,
      olds: all.filter((r) => r !== newNow).map(rsState),
      previous: cur.status,
      createdNew,
      now: now(),
    })
    if (collisions) status.collisionCount = collisions
    if (canonical(status) !== canonical(cur.status ?? {})) api.patch(deployments, ns, name, (c) => ({ ...(c as KObject), status }), { subresource: 'status' })
    const t = timers.get(key)
    if (t) clearTimeout(t)
    timers.delete(key)
    if (checkAt !== undefined) {
      // The progress deadline: look again when it passes.
      const timer = setTimeout(() => { timers.delete(key); queue.add(key) }, Math.max(0, checkAt - now())).unref()
      timers.set(key, timer)
    }
  }
  const queue = new WorkQueue(sync, (key, e, retryInMs) => o.log.warn({ deployment: key, err: e, retryInMs }, 'Deployment sync failed; retrying'), o.queue)
  const keyOf = (obj: KObject) => `${obj.metadata.namespace}/${obj.metadata.name}`

  const rsEvent = (r: KObject | undefined) => {
    if (!r) return
    const ctl = controllerOf(r)
    const ns = r.metadata.namespace ?? ''
    if (ctl) {
      if (ctl.kind === 'Deployment') queue.add(`${ns}/${ctl.name}`)
      return
    }
    for (const e of store.list('deployments', ns)) if (selects(e.obj.spec?.selector, r.metadata.labels)) queue.add(keyOf(e.obj))
  }

  for (const e of store.list('deployments')) queue.add(keyOf(e.obj))
  const unsubs = [
    store.subscribe('deployments', (ev) => {
      if (ev.type === 'DELETED') return
      // Our own status write: nothing to act on.
      const p = ev.prev
      if (p && canonical(p.spec) === canonical(ev.obj.spec) && canonical(p.metadata.annotations) === canonical(ev.obj.metadata.annotations) && p.metadata.deletionTimestamp === ev.obj.metadata.deletionTimestamp) return
      queue.add(keyOf(ev.obj))
    }),
    store.subscribe('replicasets', (ev) => {
      rsEvent(ev.obj)
      if (ev.prev && controllerOf(ev.prev)?.uid !== controllerOf(ev.obj)?.uid) rsEvent(ev.prev)
    }),
  ]
  return () => {
    for (const u of unsubs) u()
    for (const t of timers.values()) clearTimeout(t)
    queue.stop()
  }
}
