// The EndpointSlice controller's pure half: from a Service and the Pods in its
// namespace, the slices that should exist. Pods whose named target ports
// resolve to different numbers land in different slices, as each slice has one
// port list; no slice holds more than `maxEndpoints` endpoints.
import { ipFamily } from '../../net/address.ts'
import { matchSelectorMap } from '../selectors/labels.ts'
import { isObject, type KObject } from '../types.ts'

export interface SlicePort {
  name: string
  port: number
  protocol: string
  appProtocol?: string
}

export interface SliceEndpoint {
  addresses: string[]
  conditions: { ready: boolean; serving: boolean; terminating: boolean }
  nodeName?: string
  zone?: string
  hints?: { forZones: { name: string }[] }
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string }
}

export interface DesiredSlice {
  addressType: 'IPv4' | 'IPv6'
  ports: SlicePort[]
  endpoints: SliceEndpoint[]
}

type Rec = Record<string, unknown>
const objs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isObject) : [])

/** The Service's selector map, or undefined when the controller does not manage it. */
export function selectorOf(svc: KObject): Record<string, string> | undefined {
  const sel = svc.spec?.selector
  if (svc.spec?.type === 'ExternalName' || !isObject(sel) || Object.keys(sel).length === 0) return undefined
  return sel as Record<string, string>
}

export function podSelected(svc: KObject, pod: KObject | undefined): boolean {
  const sel = selectorOf(svc)
  return !!pod && !!sel && pod.metadata.namespace === svc.metadata.namespace && matchSelectorMap(sel, pod.metadata.labels)
}

function podIP(pod: KObject, family: 'IPv4' | 'IPv6'): string | undefined {
  const st = pod.status ?? {}
  const ips = objs(st.podIPs).map((p) => p.ip)
  if (ips.length === 0 && typeof st.podIP === 'string') ips.push(st.podIP)
  for (const ip of ips) {
    if (typeof ip === 'string' && ipFamily(ip) === family) return ip
  }
  return undefined
}

function isReady(pod: KObject): boolean {
  return objs(pod.status?.conditions).some((c) => c.type === 'Ready' && c.status === 'True')
}

/** A Service port's target on this Pod: a number, or a named container port; undefined when the name is not found. */
export function resolveTargetPort(svcPort: Rec, pod: KObject): number | undefined {
  const tp = svcPort.targetPort ?? svcPort.port
  if (typeof tp === 'number') return tp
  if (typeof tp === 'string' && /^\d+$/.test(tp)) return Number(tp)
  const proto = svcPort.protocol ?? 'TCP'
  for (const c of objs(pod.spec?.containers)) {
    for (const p of objs(c.ports)) {
      if (p.name === tp && (p.protocol ?? 'TCP') === proto && typeof p.containerPort === 'number') return p.containerPort
    }
  }
  return undefined
}

/**
 * trafficDistribution PreferClose (PreferSameZone is its newer name): every
 * endpoint is hinted for its own zone, as kube-controller-manager does, but only
 * when every endpoint of the slice has a zone; one without makes hints useless.
 */
function addZoneHints(svc: KObject, endpoints: SliceEndpoint[]): void {
  const td = svc.spec?.trafficDistribution
  if (td !== 'PreferClose' && td !== 'PreferSameZone') return
  if (endpoints.some((e) => !e.zone)) return
  for (const e of endpoints) e.hints = { forZones: [{ name: e.zone! }] }
}

/** zoneOf: a node's topology.kubernetes.io/zone label, for each endpoint's zone. */
export function planSlices(svc: KObject, pods: Iterable<KObject>, maxEndpoints = 100, zoneOf: (nodeName: string) => string | undefined = () => undefined): DesiredSlice[] {
  if (!selectorOf(svc)) return []
  const families = (Array.isArray(svc.spec?.ipFamilies) && svc.spec.ipFamilies.length ? svc.spec.ipFamilies : ['IPv4']) as ('IPv4' | 'IPv6')[]
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true
  const svcPorts = objs(svc.spec?.ports)
  const groups = new Map<string, DesiredSlice>()
  for (const pod of pods) {
    if (!podSelected(svc, pod)) continue
    const phase = pod.status?.phase
    if (phase === 'Succeeded' || phase === 'Failed') continue
    const ports: SlicePort[] = []
    for (const sp of svcPorts) {
      const port = resolveTargetPort(sp, pod)
      if (port === undefined) continue
      const p: SlicePort = { name: typeof sp.name === 'string' ? sp.name : '', port, protocol: typeof sp.protocol === 'string' ? sp.protocol : 'TCP' }
      if (typeof sp.appProtocol === 'string') p.appProtocol = sp.appProtocol
      ports.push(p)
    }
    const serving = isReady(pod)
    const terminating = !!pod.metadata.deletionTimestamp
    const ready = publishNotReady || (serving && !terminating)
    for (const family of families) {
      const ip = podIP(pod, family)
      if (!ip) continue
      const key = `${family}|${JSON.stringify(ports)}`
      let g = groups.get(key)
      if (!g) groups.set(key, (g = { addressType: family, ports, endpoints: [] }))
      const ep: SliceEndpoint = {
        addresses: [ip],
        conditions: { ready, serving, terminating },
        targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
      }
      const nodeName = pod.spec?.nodeName
      if (typeof nodeName === 'string' && nodeName) {
        ep.nodeName = nodeName
        const zone = zoneOf(nodeName)
        if (zone) ep.zone = zone
      }
      g.endpoints.push(ep)
    }
  }
  const out: DesiredSlice[] = []
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!
    g.endpoints.sort((a, b) => (a.targetRef.name < b.targetRef.name ? -1 : a.targetRef.name > b.targetRef.name ? 1 : 0))
    for (let i = 0; i < g.endpoints.length; i += maxEndpoints) {
      const endpoints = g.endpoints.slice(i, i + maxEndpoints)
      addZoneHints(svc, endpoints)
      out.push({ addressType: g.addressType, ports: g.ports, endpoints })
    }
  }
  return out
}
