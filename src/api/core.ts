// The API's verbs over the store: what kube-apiserver's generic registry does
// between decoding a request and writing to etcd. Every write is synchronous
// from checks to commit, so no two requests interleave inside one.
import { randomUUID } from 'node:crypto'
import { applyDefaults } from './defaults.ts'
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound, type ApiError, type FieldError, type Target } from './errors.ts'
import { Errs } from './validate/errs.ts'
import { validateBinding } from './validate/binding.ts'
import { stringMap } from './validate/meta.ts'
import { podGracePeriod } from './pod-grace.ts'
import { ServiceAllocations } from './alloc/service-alloc.ts'
import { apiVersionOf, byName, type Resource } from './resources.ts'
import type { Entry, StoreEvent } from './store/event.ts'
import type { Store } from './store/store.ts'
import { isObject, type KObject } from './types.ts'
import { validateObject } from './validate/index.ts'

export interface WriteOptions {
  dryRun?: boolean
  /** "status" writes only .status; "" writes everything but .status (for kinds that have a status subresource) */
  subresource?: string
}

export interface DeleteOptions {
  dryRun?: boolean
  gracePeriodSeconds?: number
  preconditions?: { uid?: string; resourceVersion?: string }
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
const now = () => stamp(Date.now())
const SPECLESS = new Set(['Endpoints', 'EndpointSlice', 'Event'])
const RANDOM = 'bcdfghjklmnpqrstvwxz2456789'
const suffix = () => Array.from({ length: 5 }, () => RANDOM[Math.floor(Math.random() * RANDOM.length)]).join('')

/** The part of an object that bumps metadata.generation when it changes. */
function specOf(kind: string, o: KObject): string {
  if (SPECLESS.has(kind)) {
    const { metadata: _m, ...rest } = o
    return JSON.stringify(rest)
  }
  return JSON.stringify(o.spec ?? null)
}

export class Api {
  private readonly graceTimers = new Set<NodeJS.Timeout>()

  constructor(
    readonly store: Store,
    readonly services: ServiceAllocations,
  ) {
    // A Service change the store had to take back (its fdatasync failed) gives back what it allocated.
    store.subscribe('services', (ev) => {
      if (!ev.undo) return
      if (ev.prev) this.services.delete(ev.prev)
      if (ev.type !== 'DELETED') this.services.restore(ev.obj)
    })
    // A node that goes takes its kubelet with it: its pods whose grace period is over go too.
    store.subscribe('nodes', (ev) => {
      if (ev.type !== 'DELETED' || ev.undo) return
      const node = ev.obj.metadata.name
      setImmediate(() => {
        for (const e of [...this.store.list('pods')]) if (e.obj.spec?.nodeName === node) this.collect(byName('pods'), e.obj)
      })
    })
  }

  /** Rebuild allocator state from what the store holds. */
  restore(): void {
    for (const e of this.store.list('services')) this.services.restore(e.obj)
  }

  target(r: Resource, name: string): Target {
    return { kind: r.kind, group: r.group, resource: r.name, name }
  }

  get(r: Resource, ns: string | undefined, name: string): Entry {
    const e = this.store.get(r.name, ns, name)
    if (!e) throw notFound(this.target(r, name))
    return e
  }

  private checkNamespace(r: Resource, ns: string | undefined): void {
    if (!r.namespaced) return
    if (!ns) throw badRequest('a namespace is required for this resource', 'ENAMESPACE')
    const e = this.store.get('namespaces', undefined, ns)
    if (!e) throw notFound(this.target(byName('namespaces'), ns))
    if (e.obj.metadata.deletionTimestamp) throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`)
  }

  /** Normalise an incoming body into a fresh object we own. */
  private incoming(r: Resource, body: unknown, ns: string | undefined): KObject {
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON object', 'EBODY')
    const obj = body as KObject
    if (obj.kind !== undefined && obj.kind !== r.kind) throw badRequest(`the kind of the provided object (${String(obj.kind)}) does not match the resource (${r.kind})`, 'EKIND')
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(r)) throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(r)})`, 'EAPIVERSION')
    obj.kind = r.kind
    obj.apiVersion = apiVersionOf(r)
    if (!isObject(obj.metadata)) obj.metadata = {}
    const md = obj.metadata
    if (!r.namespaced) delete md.namespace
    else {
      if (md.namespace && ns && md.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request', 'ENAMESPACE')
      if (ns) md.namespace = ns
    }
    return obj
  }

  private reject(r: Resource, obj: KObject, errs: FieldError[]): ApiError {
    return invalid(r.kind, r.group, String(obj.metadata.name ?? obj.metadata.generateName ?? ''), errs)
  }

  create(r: Resource, ns: string | undefined, body: unknown, opts: WriteOptions = {}): KObject {
    const obj = this.incoming(r, body, ns)
    const md = obj.metadata
    if (!md.name && typeof md.generateName === 'string' && md.generateName) md.name = `${md.generateName}${suffix()}`
    this.checkNamespace(r, md.namespace)
    // The server owns these.
    delete md.resourceVersion
    delete md.deletionTimestamp
    delete md.deletionGracePeriodSeconds
    md.uid = randomUUID()
    md.creationTimestamp = now()
    if (!SPECLESS.has(r.kind) && r.kind !== 'Namespace') md.generation = 1
    applyDefaults(r.kind, obj)
    const errs = validateObject(r, obj)
    if (errs.length) throw this.reject(r, obj, errs)
    if (typeof md.name === 'string' && this.store.get(r.name, md.namespace, md.name)) throw alreadyExists(this.target(r, md.name))
    if (r.kind === 'Service') {
      const aerrs = this.services.create(obj)
      if (aerrs.length) throw this.reject(r, obj, aerrs)
      if (opts.dryRun) this.services.delete(obj)
    }
    if (opts.dryRun) return obj
    try {
      return this.store.put(r.name, obj).obj
    } catch (e) {
      if (r.kind === 'Service') this.services.delete(obj)
      throw e
    }
  }

  /** PUT: replace the object, keeping what clients may not change. */
  update(r: Resource, ns: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): KObject {
    const obj = this.incoming(r, body, ns)
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) throw badRequest(`the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`, 'ENAME')
    obj.metadata.name = name
    const cur = this.get(r, ns, name)
    const rv = obj.metadata.resourceVersion
    if (rv !== undefined && rv !== '' && rv !== cur.obj.metadata.resourceVersion)
      throw conflict(this.target(r, name), 'the object has been modified; please apply your changes to the latest version and try again')
    return this.replace(r, cur.obj, obj, opts)
  }

  /** Apply a patch function to a private copy of the current object, then update. */
  patch(r: Resource, ns: string | undefined, name: string, apply: (current: unknown) => unknown, opts: WriteOptions = {}): KObject {
    const cur = this.get(r, ns, name)
    const patched = apply(JSON.parse(cur.json))
    if (!isObject(patched)) throw badRequest('the patch produced something that is not an object', 'EPATCH')
    const obj = this.incoming(r, patched, ns)
    if (obj.metadata.name !== name) throw badRequest('a patch may not change metadata.name', 'ENAME')
    const rv = obj.metadata.resourceVersion
    if (rv !== undefined && rv !== cur.obj.metadata.resourceVersion)
      throw conflict(this.target(r, name), 'the object has been modified; please apply your changes to the latest version and try again')
    return this.replace(r, cur.obj, obj, opts)
  }

  private replace(r: Resource, old: KObject, obj: KObject, opts: WriteOptions): KObject {
    const md = obj.metadata
    const om = old.metadata
    md.namespace = om.namespace
    md.uid = om.uid
    md.creationTimestamp = om.creationTimestamp
    if (om.deletionTimestamp) md.deletionTimestamp = om.deletionTimestamp
    else delete md.deletionTimestamp
    if (om.deletionGracePeriodSeconds !== undefined) md.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds
    delete md.generateName
    if (om.generateName !== undefined) md.generateName = om.generateName
    const hasStatus = r.subresources.includes('status')
    if (opts.subresource === 'status') {
      // Only .status moves; everything else stays as stored.
      const status = obj.status
      const keep = JSON.parse(JSON.stringify(old)) as KObject
      for (const k of Object.keys(obj)) if (k !== 'status') delete obj[k]
      Object.assign(obj, keep, { status })
      obj.metadata.resourceVersion = om.resourceVersion
    } else if (hasStatus) {
      if (old.status === undefined) delete obj.status
      else obj.status = old.status
    }
    applyDefaults(r.kind, obj, old)
    if (om.generation !== undefined) md.generation = specOf(r.kind, obj) === specOf(r.kind, old) ? om.generation : om.generation + 1
    const errs = validateObject(r, obj, old)
    if (errs.length) throw this.reject(r, obj, errs)
    // A no-op write stores nothing and keeps the resourceVersion, as etcd3 does.
    md.resourceVersion = om.resourceVersion
    if (JSON.stringify(obj) === JSON.stringify(old)) return old
    if (r.kind === 'Service') {
      const aerrs = this.services.update(obj, old)
      if (aerrs.length) throw this.reject(r, obj, aerrs)
    }
    if (opts.dryRun) return obj
    // The last finalizer gone from an object being deleted: it goes now.
    if (md.deletionTimestamp && !(md.finalizers?.length) && !this.awaitsKubelet(r, obj)) return this.removeNow(r, obj).obj
    try {
      return this.store.put(r.name, obj).obj
    } catch (e) {
      if (r.kind === 'Service') {
        this.services.delete(obj)
        this.services.restore(old)
      }
      throw e
    }
  }

  /**
   * A terminating Pod with a grace period goes only by its kubelet's final
   * delete (grace 0), as in kube-apiserver. This server stands in for a kubelet
   * that cannot come (kube-controller-manager's pod GC does the same): once
   * the grace period is over, a Pod whose node does not exist goes by itself.
   */
  private awaitsKubelet(r: Resource, obj: KObject): boolean {
    const md = obj.metadata
    if (r.kind !== 'Pod' || !((md.deletionGracePeriodSeconds ?? 0) > 0)) return false
    if (Date.parse(md.deletionTimestamp ?? '') > Date.now()) return true
    const node = obj.spec?.nodeName
    return typeof node === 'string' && node !== '' && this.store.get('nodes', undefined, node) !== undefined
  }

  /** Remove a terminating object whose time has come: no finalizers and no kubelet to wait for. */
  private collect(r: Resource, obj: KObject): void {
    const cur = this.store.get(r.name, obj.metadata.namespace, obj.metadata.name ?? '')
    if (!cur || cur.obj.metadata.uid !== obj.metadata.uid || !cur.obj.metadata.deletionTimestamp) return
    if (cur.obj.metadata.finalizers?.length || this.awaitsKubelet(r, cur.obj)) return
    this.removeNow(r, JSON.parse(cur.json) as KObject)
  }

  private removeNow(r: Resource, obj: KObject): StoreEvent {
    const ev = this.store.remove(r.name, obj)
    if (r.kind === 'Service') this.services.delete(obj)
    return ev
  }

  /**
   * DELETE. An object with finalizers, or a Pod given a grace period, is first
   * marked with deletionTimestamp (so EndpointSlices can show it terminating);
   * it goes once the finalizers are gone and, for a Pod, its kubelet deletes it
   * again with grace 0 (see awaitsKubelet for a node without one). A second
   * delete of a terminating Pod may only shorten its grace period.
   */
  delete(r: Resource, ns: string | undefined, name: string, opts: DeleteOptions = {}): KObject {
    const cur = this.get(r, ns, name)
    const pre = opts.preconditions
    if (pre?.uid && pre.uid !== cur.obj.metadata.uid) throw conflict(this.target(r, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`)
    if (pre?.resourceVersion && pre.resourceVersion !== cur.obj.metadata.resourceVersion)
      throw conflict(this.target(r, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.obj.metadata.resourceVersion}`)
    if (opts.dryRun) return cur.obj
    const finalizers = cur.obj.metadata.finalizers ?? []
    if (r.kind === 'Namespace') this.emptyNamespace(name)
    const md0 = cur.obj.metadata
    if (md0.deletionTimestamp) {
      // Already terminating: only a shorter grace period changes anything.
      const was = md0.deletionGracePeriodSeconds ?? 0
      const asked = opts.gracePeriodSeconds
      if (was === 0 || r.kind !== 'Pod') return finalizers.length === 0 ? this.removeNow(r, JSON.parse(cur.json) as KObject).obj : cur.obj
      if (asked === undefined || asked >= was) return cur.obj
      const obj = JSON.parse(cur.json) as KObject
      const period = Math.max(0, asked)
      obj.metadata.deletionTimestamp = stamp(Date.parse(md0.deletionTimestamp) + (period - was) * 1000)
      obj.metadata.deletionGracePeriodSeconds = period
      if (period === 0 && finalizers.length === 0) return this.removeNow(r, obj).obj
      const stored = this.store.put(r.name, obj).obj
      if (period > 0) this.removeLater(r, stored, period * 1000)
      return stored
    }
    const grace = r.kind === 'Pod' ? podGracePeriod(cur.obj, opts.gracePeriodSeconds) : 0
    if (finalizers.length === 0 && grace <= 0) {
      const obj = JSON.parse(cur.json) as KObject
      return this.removeNow(r, obj).obj
    }
    const obj = JSON.parse(cur.json) as KObject
    obj.metadata.deletionTimestamp = stamp(Date.now() + grace * 1000)
    if (r.kind === 'Pod') obj.metadata.deletionGracePeriodSeconds = grace
    if (r.kind === 'Namespace') applyDefaults('Namespace', obj)
    const stored = this.store.put(r.name, obj).obj
    if (grace > 0) this.removeLater(r, stored, grace * 1000)
    return stored
  }

  /**
   * POST pods/{name}/binding: set spec.nodeName once, as kube-apiserver's
   * BindingREST does (409 if the pod is bound or terminating, 404 if gone),
   * with the binding's annotations and a PodScheduled=True condition.
   */
  bind(ns: string | undefined, name: string, body: unknown, opts: { dryRun?: boolean } = {}): Record<string, unknown> {
    const pods = byName('pods')
    const target: Target = { kind: 'Binding', group: '', resource: 'pods/binding', name }
    if (!isObject(body)) throw badRequest('the body of the request must be a JSON object', 'EBODY')
    if (body.kind !== undefined && body.kind !== 'Binding') throw badRequest(`not a Binding object: kind ${String(body.kind)}`, 'EKIND')
    if (body.apiVersion !== undefined && body.apiVersion !== 'v1') throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (v1)`, 'EAPIVERSION')
    const md = isObject(body.metadata) ? body.metadata : {}
    if (md.name !== name) throw badRequest('name in URL does not match name in Binding object', 'ENAME')
    if (md.namespace !== undefined && md.namespace !== '' && md.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request', 'ENAMESPACE')
    const e = new Errs()
    validateBinding(body, e)
    stringMap(e, 'metadata.annotations', md.annotations, false)
    if (e.list.length) throw invalid('Binding', '', name, e.list)
    const cur = this.get(pods, ns, name)
    const pod = cur.obj
    if (typeof md.uid === 'string' && md.uid && md.uid !== pod.metadata.uid)
      throw conflict(target, `Precondition failed: UID in precondition: ${md.uid}, UID in object meta: ${pod.metadata.uid}`)
    if (typeof md.resourceVersion === 'string' && md.resourceVersion && md.resourceVersion !== pod.metadata.resourceVersion)
      throw conflict(target, `Precondition failed: ResourceVersion in precondition: ${md.resourceVersion}, ResourceVersion in object meta: ${pod.metadata.resourceVersion}`)
    if (pod.metadata.deletionTimestamp) throw conflict(target, `pod ${name} is being deleted, cannot be assigned to a host`)
    const bound = pod.spec?.nodeName
    if (typeof bound === 'string' && bound !== '') throw conflict(target, `pod ${name} is already assigned to node "${bound}"`)
    const obj = JSON.parse(cur.json) as KObject
    obj.spec = { ...(obj.spec ?? {}), nodeName: (body.target as { name: string }).name }
    if (isObject(md.annotations)) obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), ...(md.annotations as Record<string, string>) }
    const st = (obj.status = isObject(obj.status) ? obj.status : {})
    const conds = Array.isArray(st.conditions) ? st.conditions.filter((c: unknown) => !(isObject(c) && c.type === 'PodScheduled')) : []
    st.conditions = [...conds, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }]
    const errs = validateObject(pods, obj)
    if (errs.length) throw this.reject(pods, obj, errs)
    if (!opts.dryRun) this.store.put(pods.name, obj)
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 }
  }

  private emptyNamespace(ns: string): void {
    for (const name of ['endpointslices', 'endpoints', 'pods', 'services']) {
      const r = byName(name)
      for (const e of [...this.store.list(name, ns)]) this.removeNow(r, JSON.parse(e.json) as KObject)
    }
  }

  /** Terminating objects whose time came while the server was down go at start; the others get their timer back. */
  finishGracefulDeletes(): void {
    const pods = byName('pods')
    for (const e of [...this.store.list('pods')]) {
      const md = e.obj.metadata
      if (!md.deletionTimestamp || md.finalizers?.length) continue
      const left = Date.parse(md.deletionTimestamp) - Date.now()
      if (left <= 0) this.collect(pods, e.obj)
      else this.removeLater(pods, e.obj, left)
    }
  }

  /** After `ms`, remove the object if it is still the same one and nothing holds it. */
  private removeLater(r: Resource, obj: KObject, ms: number): void {
    const t = setTimeout(() => {
      this.graceTimers.delete(t)
      this.collect(r, obj)
    }, ms)
    t.unref()
    this.graceTimers.add(t)
  }

  close(): void {
    for (const t of this.graceTimers) clearTimeout(t)
    this.graceTimers.clear()
  }
}
