// The garbage collector: an object whose every owner (metadata.ownerReferences)
// is gone is deleted, so deleting a Deployment takes its ReplicaSets and their
// Pods with it (background cascading deletion, kube's default). References to
// owners that are gone are dropped from objects that keep another owner.
// Two propagation policies hold the owner back with a finalizer, as in
// Kubernetes: `orphan` (its dependents lose the reference and stay) and
// `foregroundDeletion` (its dependents are deleted, and it goes once they are
// gone). Owners are looked up in the store by kind, name and uid, so an index
// of owner uid -> dependents is all it keeps.
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, type Api } from '../core.ts'
import { RESOURCES, type Resource } from '../resources.ts'
import type { KObject, OwnerReference } from '../types.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'

type Log = { warn(o: object, msg: string): void; debug(o: object, msg: string): void }

const SEP = '\0'
const refsOf = (o: KObject | undefined): OwnerReference[] => (o && Array.isArray(o.metadata.ownerReferences) ? o.metadata.ownerReferences : [])
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '')
const gone = (e: unknown) => (e as { code?: string }).code === 'ENOTFOUND'

/** The served resource an owner reference names; undefined for kinds this server does not serve. */
export function ownerResource(ref: OwnerReference): Resource | undefined {
  return RESOURCES.find((r) => r.kind === ref.kind && r.group === groupOf(ref.apiVersion ?? ''))
}

export function startGarbageCollector(api: Api, o: { log: Log; queue?: QueueOptions }): () => void {
  const store = api.store
  // Events expire on their own and are never owners here.
  const tracked = RESOURCES.filter((r) => r.name !== 'events')
  const byName = new Map(tracked.map((r) => [r.name, r]))
  /** owner uid -> dependent keys (resource, namespace, name) */
  const dependents = new Map<string, Set<string>>()
  const keyOf = (resource: string, obj: KObject) => [resource, obj.metadata.namespace ?? '', obj.metadata.name ?? ''].join(SEP)

  const index = (resource: string, obj: KObject | undefined, add: boolean) => {
    for (const ref of refsOf(obj)) {
      let set = dependents.get(ref.uid)
      if (add) {
        if (!set) dependents.set(ref.uid, (set = new Set()))
        set.add(keyOf(resource, obj!))
      } else if (set) {
        set.delete(keyOf(resource, obj!))
        if (set.size === 0) dependents.delete(ref.uid)
      }
    }
  }

  /** The owner as stored now, if it is the one the reference means (same uid). Unknown kinds count as present. */
  const ownerOf = (ref: OwnerReference, ns: string): KObject | undefined | 'unknown' => {
    const r = ownerResource(ref)
    if (!r) return 'unknown'
    const e = store.get(r.name, r.namespaced ? ns : undefined, ref.name)
    return e && e.obj.metadata.uid === ref.uid ? e.obj : undefined
  }

  const holds = (obj: KObject, f: string) => !!obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(f)

  const dropRefs = (r: Resource, ns: string, name: string, uids: Set<string>) =>
    api.patch(r, ns || undefined, name, (c) => {
      const obj = c as KObject
      const refs = refsOf(obj).filter((x) => !uids.has(x.uid))
      const md: KObject['metadata'] = { ...obj.metadata, ownerReferences: refs }
      if (refs.length === 0) delete md.ownerReferences
      return { ...obj, metadata: md }
    })

  const dropFinalizer = (r: Resource, ns: string, name: string, f: string) =>
    api.patch(r, ns || undefined, name, (c) => {
      const obj = c as KObject
      return { ...obj, metadata: { ...obj.metadata, finalizers: (obj.metadata.finalizers ?? []).filter((x) => x !== f) } }
    })

  const syncDependent = (r: Resource, ns: string, name: string) => {
    const obj = store.get(r.name, ns || undefined, name)?.obj
    const refs = refsOf(obj)
    if (!obj || refs.length === 0) return
    const owners = refs.map((ref) => ({ ref, owner: ownerOf(ref, ns) }))
    const dead = owners.filter((x) => x.owner === undefined)
    if (dead.length === refs.length) {
      if (!obj.metadata.deletionTimestamp) api.delete(r, ns || undefined, name, { propagationPolicy: 'Background' })
      return
    }
    if (dead.length) return void dropRefs(r, ns, name, new Set(dead.map((x) => x.ref.uid)))
    // An owner deleted in the foreground waits for this one: it goes first, its own dependents before it.
    const foreground = owners.some((x) => typeof x.owner === 'object' && holds(x.owner, FOREGROUND_FINALIZER))
    if (foreground && !obj.metadata.deletionTimestamp) api.delete(r, ns || undefined, name, { propagationPolicy: 'Foreground' })
  }

  const liveDependents = (uid: string) => {
    const out: { r: Resource; ns: string; name: string }[] = []
    for (const k of dependents.get(uid) ?? []) {
      const [resource, ns, name] = k.split(SEP) as [string, string, string]
      const r = byName.get(resource)!
      const obj = store.get(resource, ns || undefined, name)?.obj
      if (obj && refsOf(obj).some((x) => x.uid === uid)) out.push({ r, ns, name })
    }
    return out
  }

  const syncOwner = (r: Resource, ns: string, name: string) => {
    const obj = store.get(r.name, ns || undefined, name)?.obj
    if (!obj || !obj.metadata.deletionTimestamp) return
    const uid = obj.metadata.uid ?? ''
    if (holds(obj, ORPHAN_FINALIZER)) {
      for (const d of liveDependents(uid)) dropRefs(d.r, d.ns, d.name, new Set([uid]))
      dropFinalizer(r, ns, name, ORPHAN_FINALIZER)
      return
    }
    if (!holds(obj, FOREGROUND_FINALIZER)) return
    const deps = liveDependents(uid)
    if (deps.length === 0) return void dropFinalizer(r, ns, name, FOREGROUND_FINALIZER)
    // Each dependent's deletion (or its DELETED event, later) brings this owner back to the queue.
    for (const d of deps) queue.add(['dep', d.r.name, d.ns, d.name].join(SEP))
  }

  const queue = new WorkQueue(
    (key) => {
      const [what, resource, ns, name] = key.split(SEP) as [string, string, string, string]
      const r = byName.get(resource)
      if (!r) return
      try {
        if (what === 'dep') syncDependent(r, ns, name)
        else syncOwner(r, ns, name)
      } catch (e) {
        // Someone else deleted it first: nothing left to collect.
        if (!gone(e)) throw e
      }
    },
    (key, e, retryInMs) => o.log.warn({ object: key.split(SEP).slice(1).join('/'), err: e, retryInMs }, 'garbage collection failed; retrying'),
    o.queue,
  )
  const dep = (resource: string, obj: KObject) => queue.add(['dep', resource, obj.metadata.namespace ?? '', obj.metadata.name ?? ''].join(SEP))
  const own = (r: Resource, ns: string, name: string) => queue.add(['own', r.name, r.namespaced ? ns : '', name].join(SEP))
  const held = (obj: KObject) => holds(obj, ORPHAN_FINALIZER) || holds(obj, FOREGROUND_FINALIZER)

  for (const r of tracked) {
    for (const e of store.list(r.name)) {
      index(r.name, e.obj, true)
      if (refsOf(e.obj).length) dep(r.name, e.obj)
      if (held(e.obj)) own(r, e.obj.metadata.namespace ?? '', e.obj.metadata.name ?? '')
    }
  }
  const unsubs = tracked.map((r) =>
    store.subscribe(r.name, (ev) => {
      index(r.name, ev.prev, false)
      if (ev.type !== 'DELETED') index(r.name, ev.obj, true)
      if (ev.type === 'DELETED') {
        // Its dependents may have lost their last owner.
        for (const k of dependents.get(ev.obj.metadata.uid ?? '') ?? []) queue.add(`dep${SEP}${k}`)
      } else if (refsOf(ev.obj).length) dep(r.name, ev.obj)
      if (held(ev.obj)) own(r, ev.obj.metadata.namespace ?? '', ev.obj.metadata.name ?? '')
      // An owner deleting in the foreground waits for this one.
      for (const ref of refsOf(ev.prev ?? ev.obj)) {
        const or = ownerResource(ref)
        if (or) own(or, ev.obj.metadata.namespace ?? '', ref.name)
      }
    }),
  )
  return () => {
    for (const u of unsubs) u()
    queue.stop()
  }
}
