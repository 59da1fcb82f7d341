// The EndpointSlice controller's I/O half: watches Services, Pods and its own
// slices, and for each Service that changed writes the difference between the
// planned slices and the stored ones (update in place where the shape matches,
// create what is missing, delete what is left over).
import type { Api } from '../core.ts'
import { byName } from '../resources.ts'
import type { KObject } from '../types.ts'
import { planSlices, podSelected, selectorOf, type DesiredSlice } from './endpointslice-plan.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'
import { planEndpoints } from './endpoints-plan.ts'

const ZONE_LABEL = 'topology.kubernetes.io/zone'

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by'
export const MANAGED_BY = 'endpointslice-controller.k8s.io'
/** marks the legacy Endpoints this controller writes, so it never touches hand-made ones */
export const ENDPOINTS_MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by'
export const ENDPOINTS_MANAGED_BY = 'endpoint-controller'

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

function sliceBody(svc: KObject, d: DesiredSlice, name: string | undefined): KObject {
  const svcName = svc.metadata.name ?? ''
  const meta: KObject['metadata'] = {
    namespace: svc.metadata.namespace,
    labels: { [SERVICE_NAME_LABEL]: svcName, [MANAGED_BY_LABEL]: MANAGED_BY },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svcName, uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  }
  if (name) meta.name = name
  else meta.generateName = `${svcName.slice(0, 57)}-`
  return { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: meta, addressType: d.addressType, endpoints: d.endpoints, ports: d.ports }
}

export function startEndpointSliceController(api: Api, o: { log: { warn(o: object, msg: string): void; debug(o: object, msg: string): void }; queue?: QueueOptions }): () => void {
  const slices = byName('endpointslices')
  const store = api.store

  // Our slices by Service key, kept from the slice events, so a sync never scans every slice.
  const owned = new Map<string, Set<string>>()
  const ownerKey = (o: KObject): string | undefined => {
    const l = o.metadata.labels
    return l?.[MANAGED_BY_LABEL] === MANAGED_BY && l[SERVICE_NAME_LABEL] ? `${o.metadata.namespace}/${l[SERVICE_NAME_LABEL]}` : undefined
  }
  const track = (o: KObject, add: boolean) => {
    const k = ownerKey(o)
    if (!k) return
    let set = owned.get(k)
    if (add) {
      if (!set) owned.set(k, (set = new Set()))
      set.add(o.metadata.name ?? '')
    } else if (set) {
      set.delete(o.metadata.name ?? '')
      if (set.size === 0) owned.delete(k)
    }
  }
  const managedSlices = (ns: string, svcName: string): KObject[] => {
    const out: KObject[] = []
    for (const name of owned.get(`${ns}/${svcName}`) ?? []) {
      const e = store.get('endpointslices', ns, name)
      if (e) out.push(e.obj)
    }
    return out.sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))
  }

  const zoneOf = (nodeName: string): string | undefined => {
    const z = store.get('nodes', undefined, nodeName)?.obj.metadata.labels?.[ZONE_LABEL]
    return typeof z === 'string' && z ? z : undefined
  }

  const sync = (key: string) => {
    const [ns, name] = key.split('/') as [string, string]
    const svc = store.get('services', ns, name)?.obj
    const existing = managedSlices(ns, name)
    if (existing.length === 0 && (!svc || !selectorOf(svc)) && !store.get('endpoints', ns, name)) return
    const desired = svc ? planSlices(svc, [...store.list('pods', ns)].map((e) => e.obj), undefined, zoneOf) : []
    const unused = [...existing]
    for (const d of desired) {
      // Reuse a stored slice of the same shape first, then any stored slice.
      let i = unused.findIndex((s) => s.addressType === d.addressType && sameJson(s.ports, d.ports))
      if (i < 0) i = unused.findIndex((s) => s.addressType === d.addressType)
      const reuse = i >= 0 ? unused.splice(i, 1)[0] : undefined
      if (!reuse) {
        api.create(slices, ns, sliceBody(svc!, d, undefined))
        continue
      }
      const body = sliceBody(svc!, d, reuse.metadata.name)
      if (sameJson(reuse.endpoints, body.endpoints) && sameJson(reuse.ports, body.ports) && sameJson(reuse.metadata.labels, body.metadata.labels) && sameJson(reuse.metadata.ownerReferences, body.metadata.ownerReferences)) continue
      api.update(slices, ns, reuse.metadata.name ?? '', body)
    }
    for (const s of unused) api.delete(slices, ns, s.metadata.name ?? '')
    syncEndpoints(ns, name, svc, desired)
  }

  const endpoints = byName('endpoints')
  const syncEndpoints = (ns: string, name: string, svc: KObject | undefined, desired: DesiredSlice[]) => {
    const cur = store.get('endpoints', ns, name)?.obj
    const ours = cur?.metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL] === ENDPOINTS_MANAGED_BY
    if (!svc || !selectorOf(svc)) {
      if (cur && ours) api.delete(endpoints, ns, name)
      return
    }
    if (cur && !ours) return
    const family = (Array.isArray(svc.spec?.ipFamilies) && svc.spec.ipFamilies[0] === 'IPv6' ? 'IPv6' : 'IPv4') as 'IPv4' | 'IPv6'
    const body: KObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns, labels: { ...(svc.metadata.labels ?? {}), [ENDPOINTS_MANAGED_BY_LABEL]: ENDPOINTS_MANAGED_BY } },
      subsets: planEndpoints(desired, family),
    }
    if (!cur) return void api.create(endpoints, ns, body)
    if (sameJson(cur.subsets ?? [], body.subsets) && sameJson(cur.metadata.labels, body.metadata.labels)) return
    api.update(endpoints, ns, name, body)
  }
  const queue = new WorkQueue(sync, (key, e, retryInMs) => o.log.warn({ service: key, err: e, retryInMs }, 'EndpointSlice sync failed; retrying'), o.queue)
  const svcKey = (obj: KObject) => `${obj.metadata.namespace}/${obj.metadata.name}`

  for (const e of store.list('endpointslices')) track(e.obj, true)
  for (const e of store.list('services')) if (selectorOf(e.obj)) queue.add(svcKey(e.obj))
  // Slices whose Service is gone (deleted while the server was down) are swept too.
  for (const k of owned.keys()) queue.add(k)

  const unsubs = [
    store.subscribe('services', (ev) => {
      if (selectorOf(ev.obj) || (ev.prev && selectorOf(ev.prev)) || owned.has(svcKey(ev.obj))) queue.add(svcKey(ev.obj))
    }),
    store.subscribe('pods', (ev) => {
      const ns = ev.obj.metadata.namespace
      for (const s of store.list('services', ns)) {
        if (podSelected(s.obj, ev.obj) || podSelected(s.obj, ev.prev)) queue.add(svcKey(s.obj))
      }
    }),
    // A node's zone label is copied into its endpoints: a change re-plans the Services with pods there.
    store.subscribe('nodes', (ev) => {
      if (ev.prev?.metadata.labels?.[ZONE_LABEL] === ev.obj.metadata.labels?.[ZONE_LABEL] && ev.type === 'MODIFIED') return
      const node = ev.obj.metadata.name
      const namespaces = new Set<string>()
      for (const p of store.list('pods')) if (p.obj.spec?.nodeName === node) namespaces.add(p.obj.metadata.namespace ?? '')
      for (const ns of namespaces) for (const s of store.list('services', ns)) if (selectorOf(s.obj)) queue.add(svcKey(s.obj))
    }),
    store.subscribe('endpointslices', (ev) => {
      if (ev.prev) track(ev.prev, false)
      track(ev.obj, ev.type !== 'DELETED')
      // Someone else edited or deleted one of ours: put it right.
      const k = ownerKey(ev.prev ?? ev.obj)
      if (k) queue.add(k)
    }),
  ]
  return () => {
    for (const u of unsubs) u()
    queue.stop()
  }
}
