// The API's verbs over the store: what kube-apiserver's generic registry does
// between decoding a request and writing to etcd. Every write is synchronous
// from checks to commit, so no two requests interleave inside one.
import { randomUUID } from 'node:crypto'
import { applyDefaults } from './defaults.ts'
import { alreadyExists, badRequest, conflict, forbidden, invalid, notFound, type ApiError, type FieldError, type Target } from './errors.ts'
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
  /** what happens to dependents: Background (the default) lets the garbage collector delete them after the owner; Foreground deletes them first; Orphan keeps them, without the reference */
  propagationPolicy?: string
}

export const PROPAGATION_POLICIES = ['Orphan', 'Background', 'Foreground'] as const
/** the finalizers the garbage collector works off for the two policies that hold the owner back */
export const ORPHAN_FINALIZER = 'orphan'
export const FOREGROUND_FINALIZER = 'foregroundDeletion'

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
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
    if (md.deletionTimestamp && !(md.finalizers?.length) && !this.graceful(r, md)) return this.removeNow(r, obj).obj
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

  private graceful(r: Resource, md: KObject['metadata']): boolean {
    return r.kind === 'Pod' && (md.deletionGracePeriodSeconds ?? 0) > 0 && Date.parse(md.deletionTimestamp ?? '') > Date.now()
  }

  private removeNow(r: Resource, obj: KObject): StoreEvent {
    const ev = this.store.remove(r.name, obj)
    if (r.kind === 'Service') this.services.delete(obj)
    return ev
  }

  /**
   * DELETE. An object with finalizers, or a Pod given a grace period, is first
   * marked with deletionTimestamp (so EndpointSlices can show it terminating)
   * and goes once the finalizers are gone or the grace period ends: this server
   * plays the kubelet's part for Pods.
   */
  delete(r: Resource, ns: string | undefined, name: string, opts: DeleteOptions = {}): KObject {
    const cur = this.get(r, ns, name)
    const pre = opts.preconditions
    if (pre?.uid && pre.uid !== cur.obj.metadata.uid) throw conflict(this.target(r, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`)
    if (pre?.resourceVersion && pre.resourceVersion !== cur.obj.metadata.resourceVersion)
      throw conflict(this.target(r, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.obj.metadata.resourceVersion}`)
    const policy = opts.propagationPolicy
    if (policy !== undefined && !(PROPAGATION_POLICIES as readonly string[]).includes(policy))
      throw invalid('DeleteOptions', '', '', [{ type: 'FieldValueNotSupported', field: 'propagationPolicy', value: policy, detail: `supported values: ${PROPAGATION_POLICIES.map((p) => `"${p}"`).join(', ')}` }])
    if (opts.dryRun) return cur.obj
    const grace = r.kind === 'Pod' ? (opts.gracePeriodSeconds ?? 0) : 0
    const held = policy === 'Orphan' ? ORPHAN_FINALIZER : policy === 'Foreground' ? FOREGROUND_FINALIZER : undefined
    const had = cur.obj.metadata.finalizers ?? []
    const finalizers = held && !had.includes(held) ? [...had, held] : had
    if (r.kind === 'Namespace') this.emptyNamespace(name)
    if (finalizers.length === 0 && grace <= 0) {
      const obj = JSON.parse(cur.json) as KObject
      return this.removeNow(r, obj).obj
    }
    if (cur.obj.metadata.deletionTimestamp) return cur.obj
    const obj = JSON.parse(cur.json) as KObject
    if (finalizers.length) obj.metadata.finalizers = finalizers
    obj.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    if (grace > 0) {
      obj.metadata.deletionGracePeriodSeconds = grace
      this.removeLater(r, obj, grace * 1000)
    }
    if (r.kind === 'Namespace') applyDefaults('Namespace', obj)
    return this.store.put(r.name, obj).obj
  }

  private emptyNamespace(ns: string): void {
    for (const name of ['deployments', 'replicasets', 'endpointslices', 'endpoints', 'pods', 'services']) {
      const r = byName(name)
      for (const e of [...this.store.list(name, ns)]) this.removeNow(r, JSON.parse(e.json) as KObject)
    }
  }

  /** Pods whose grace period ended while the server was down go at start. */
  finishGracefulDeletes(): void {
    const pods = byName('pods')
    for (const e of [...this.store.list('pods')]) {
      const md = e.obj.metadata
      if (md.deletionTimestamp && !(md.finalizers?.length)) {
        const left = Date.parse(md.deletionTimestamp) - Date.now()
        if (left <= 0) this.removeNow(pods, JSON.parse(e.json) as KObject)
        else this.removeLater(pods, e.obj, left)
      }
    }
  }

  /** After `ms`, remove the object if it is still the same one and holds no finalizers. */
  private removeLater(r: Resource, obj: KObject, ms: number): void {
    const { namespace, name, uid } = obj.metadata
    const t = setTimeout(() => {
      this.graceTimers.delete(t)
      const cur = this.store.get(r.name, namespace, name ?? '')
      if (cur && cur.obj.metadata.uid === uid && !(cur.obj.metadata.finalizers?.length)) this.removeNow(r, JSON.parse(cur.json) as KObject)
    }, ms)
    t.unref()
    this.graceTimers.add(t)
  }

  close(): void {
    for (const t of this.graceTimers) clearTimeout(t)
    this.graceTimers.clear()
  }
}
