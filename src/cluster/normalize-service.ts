// API Service -> pontoon Service, with kube-apiserver's defaults applied.
// Services that kube-proxy would not program are "ignored": those claimed by
// another proxy (service.kubernetes.io/service-proxy-name), headless ones and
// ExternalName ones, which have no virtual IP.
import { z } from 'zod'
import { serviceSchema, type ApiService } from './api-schemas.ts'
import { ipFamily, tryParseCidr } from '../net/address.ts'
import { objectKey, type IPFamily, type Service, type ServicePort, type ServiceType } from './model.ts'
import { describeZodError, FieldProblem, ignored, malformed, ok, type Normalized } from './normalized.ts'
import { rawObjectKey } from './object-key.ts'

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name'
const DEFAULT_AFFINITY_TIMEOUT = 10800
const PROXIED_TYPES = new Set<string>(['ClusterIP', 'NodePort', 'LoadBalancer'])
// zod's compiled parser, built at first use (see normalize-endpointslice.ts).
let schema: ReturnType<typeof serviceSchema> | undefined

export function normalizeService(obj: unknown): Normalized<Service> {
  const parsed = (schema ??= z.compile(serviceSchema())).safeParse(obj)
  if (!parsed.success) return malformed(rawObjectKey(obj), describeZodError(parsed.error))
  const svc = parsed.data
  const key = objectKey(svc.metadata.namespace, svc.metadata.name)
  if (svc.metadata.labels?.[SERVICE_PROXY_NAME_LABEL] !== undefined) return ignored(key, `labelled ${SERVICE_PROXY_NAME_LABEL}`)
  const type = svc.spec?.type ?? 'ClusterIP'
  if (type === 'ExternalName') return ignored(key, 'type ExternalName has no virtual IP')
  if (!PROXIED_TYPES.has(type)) return malformed(key, `spec.type: unsupported value "${type}"`)
  const clusterIP = svc.spec?.clusterIP ?? ''
  if (clusterIP === 'None' || clusterIP === '') return ignored(key, 'headless (no clusterIP)')
  try {
    return ok(key, build(svc, type as ServiceType, clusterIP))
  } catch (e) {
    if (e instanceof FieldProblem) return malformed(key, e.message)
    throw e
  }
}

function build(svc: ApiService, type: ServiceType, clusterIP: string): Service {
  const spec = svc.spec ?? {}
  const clusterIPs = spec.clusterIPs?.length ? spec.clusterIPs : [clusterIP]
  const ipFamilies: IPFamily[] = clusterIPs.map((ip, i) => {
    const fam = ipFamily(ip)
    if (!fam) throw new FieldProblem(`spec.clusterIPs[${i}]`, `"${ip}" is not an IP address`)
    return fam
  })
  if (clusterIPs[0] !== clusterIP) throw new FieldProblem('spec.clusterIPs[0]', `must equal spec.clusterIP "${clusterIP}"`)
  const allocatesNodePorts = type !== 'ClusterIP'
  const ports: ServicePort[] = (spec.ports ?? []).map((p, i) => {
    const target = p.targetPort
    if (target === '') throw new FieldProblem(`spec.ports[${i}].targetPort`, 'must not be empty')
    return {
      name: p.name ?? '',
      protocol: p.protocol ?? 'TCP',
      port: p.port,
      nodePort: allocatesNodePorts && p.nodePort ? p.nodePort : null,
      targetPort: target === undefined || target === null || target === 0 ? p.port : target,
    }
  })
  const affinity = spec.sessionAffinity ?? 'None'
  return {
    namespace: svc.metadata.namespace,
    name: svc.metadata.name,
    type,
    clusterIPs,
    ipFamilies,
    ports,
    sessionAffinity: affinity,
    sessionAffinityTimeoutSeconds: affinity === 'ClientIP'
      ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT
      : 0,
    externalTrafficPolicy: spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    internalTrafficPolicy: spec.internalTrafficPolicy ?? 'Cluster',
    healthCheckNodePort: spec.healthCheckNodePort || null,
    externalIPs: checkedIPs(spec.externalIPs ?? [], 'spec.externalIPs'),
    loadBalancerIPs: checkedIPs(
      (svc.status?.loadBalancer?.ingress ?? []).flatMap((g) => (g.ip ? [g.ip] : [])),
      'status.loadBalancer.ingress',
    ),
    loadBalancerSourceRanges: (spec.loadBalancerSourceRanges ?? []).map((r, i) => {
      const trimmed = r.trim()
      if (!tryParseCidr(trimmed)) throw new FieldProblem(`spec.loadBalancerSourceRanges[${i}]`, `"${r}" is not a subnet CIDR`)
      return trimmed
    }),
  }
}

function checkedIPs(ips: string[], field: string): string[] {
  ips.forEach((ip, i) => {
    if (!ipFamily(ip)) throw new FieldProblem(`${field}[${i}]`, `"${ip}" is not an IP address`)
  })
  return ips
}
