// kube-apiserver keeps a Service default/kubernetes on the first address of the
// service CIDR, pointing at itself, so pods reach the API through a stable VIP
// (KUBERNETES_SERVICE_HOST). pontoon api does the same for the address it
// advertises: its first listener off loopback. With loopback listeners only,
// no pod could reach it, so there is no such Service (and 10.96.0.1 stays free
// for others; a later start with an outside listener then takes another VIP).
import type { Api } from '../core.ts'
import { ApiError } from '../errors.ts'
import { byName } from '../resources.ts'
import { bigToIp, parseRange } from '../alloc/ip-range.ts'
import type { KObject } from '../types.ts'
import { MANAGED_BY_LABEL } from './endpointslice.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'

export const KUBERNETES = 'kubernetes'
const NS = 'default'
/** Our own managed-by value: the EndpointSlice controller leaves the slice alone. */
export const APISERVER_MANAGED_BY = 'pontoon-api'

export interface Advertised { host: string; port: number }

/** The first usable address of the service CIDR (10.96.0.1 for 10.96.0.0/16). */
export function firstServiceIp(serviceCidr: string): string {
  const r = parseRange(serviceCidr)
  return bigToIp(r.base + 1n, r.family)
}

export function desiredService(serviceCidr: string, port: number): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: KUBERNETES, namespace: NS, labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: firstServiceIp(serviceCidr),
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
      sessionAffinity: 'None',
    },
  }
}

export function desiredSlice(at: Advertised): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: KUBERNETES,
      namespace: NS,
      labels: { 'kubernetes.io/service-name': KUBERNETES, [MANAGED_BY_LABEL]: APISERVER_MANAGED_BY },
    },
    addressType: at.host.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [at.host], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [{ name: 'https', port: at.port, protocol: 'TCP' }],
  }
}

export function reconcileKubernetesService(api: Api, serviceCidr: string, at: Advertised | undefined): void {
  const services = byName('services'), slices = byName('endpointslices')
  const slice = api.store.get('endpointslices', NS, KUBERNETES)?.obj
  const ours = slice?.metadata.labels?.[MANAGED_BY_LABEL] === APISERVER_MANAGED_BY
  if (!at) {
    // Nothing reachable to point at: an old slice of ours would send pods to a dead address.
    if (slice && ours) api.delete(slices, NS, KUBERNETES)
    return
  }
  const svc = api.store.get('services', NS, KUBERNETES)?.obj
  const want = desiredService(serviceCidr, at.port)
  if (!svc) {
    try {
      api.create(services, NS, want)
    } catch (e) {
      // A data dir from before this existed may have given the first address to someone else.
      if (!(e instanceof ApiError)) throw e
      const spec = { ...(want.spec as Record<string, unknown>) }
      delete spec.clusterIP
      api.create(services, NS, { ...want, spec })
    }
  } else if (JSON.stringify(svc.spec?.ports) !== JSON.stringify((want.spec as { ports: unknown }).ports)) {
    api.patch(services, NS, KUBERNETES, (cur) => ({ ...(cur as KObject), spec: { ...(cur as KObject).spec, ports: (want.spec as { ports: unknown }).ports } }))
  }

  if (slice && !ours) return
  const body = desiredSlice(at)
  if (!slice) return void api.create(slices, NS, body)
  if (JSON.stringify([slice.endpoints, slice.ports, slice.addressType]) === JSON.stringify([body.endpoints, body.ports, body.addressType])) return
  api.update(slices, NS, KUBERNETES, body)
}

/**
 * Keeps default/kubernetes and its slice right: reconciled at start, again
 * whenever someone changes or deletes either, and after a failure with backoff.
 */
export function startKubernetesServiceController(api: Api, serviceCidr: string, at: Advertised | undefined, o: { log: { warn(o: object, msg: string): void }; queue?: QueueOptions }): () => void {
  const queue = new WorkQueue(() => reconcileKubernetesService(api, serviceCidr, at), (_k, e, retryInMs) => o.log.warn({ err: e, retryInMs }, 'kubernetes Service reconcile failed; retrying'), o.queue)
  const ours = (ev: { obj: KObject }) => ev.obj.metadata.namespace === NS && ev.obj.metadata.name === KUBERNETES
  const unsubs = [
    api.store.subscribe('services', (ev) => ours(ev) && queue.add(KUBERNETES)),
    api.store.subscribe('endpointslices', (ev) => ours(ev) && queue.add(KUBERNETES)),
  ]
  // At start the Service is made right before the server says it is ready (a restart on a new port must not
  // advertise the old one); only a failure is left to the queue's retries.
  try {
    reconcileKubernetesService(api, serviceCidr, at)
  } catch (e) {
    o.log.warn({ err: e }, 'kubernetes Service reconcile failed at start; retrying')
    queue.add(KUBERNETES)
  }
  return () => {
    for (const u of unsubs) u()
    queue.stop()
  }
}
