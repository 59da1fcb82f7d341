// API Service / EndpointSlice -> cluster DNS's shapes. Unlike the proxy, DNS
// keeps headless and ExternalName Services and Services another proxy owns
// (service-proxy-name has no bearing on names), and endpoint hostnames.
import { z } from 'zod'
import { endpointSliceSchema, serviceSchema } from '../cluster/api-schemas.ts'
import { objectKey } from '../cluster/model.ts'
import { SERVICE_NAME_LABEL } from '../cluster/normalize-endpointslice.ts'
import { describeZodError, ignored, malformed, ok, type Normalized } from '../cluster/normalized.ts'
import { rawObjectKey } from '../cluster/object-key.ts'
import { ipFamily } from '../net/address.ts'
import type { DnsEndpoint, DnsEndpointSlice, DnsPort, DnsService } from './model.ts'

// RFC 1123 labels (kube-apiserver validates externalName as a DNS-1123 subdomain); a trailing dot is allowed.
const HOSTNAME_RE = /^(?=.{1,253}\.?$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i
const LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/
let serviceParser: ReturnType<typeof serviceSchema> | undefined
let sliceParser: ReturnType<typeof endpointSliceSchema> | undefined

export function normalizeDnsService(obj: unknown): Normalized<DnsService> {
  const parsed = (serviceParser ??= z.compile(serviceSchema())).safeParse(obj)
  if (!parsed.success) return malformed(rawObjectKey(obj), describeZodError(parsed.error))
  const { metadata, spec } = parsed.data
  const key = objectKey(metadata.namespace, metadata.name)
  const ports: DnsPort[] = (spec?.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }))
  const base = { namespace: metadata.namespace, name: metadata.name, ports }
  if (spec?.type === 'ExternalName') {
    const target = spec.externalName ?? ''
    if (!HOSTNAME_RE.test(target)) return malformed(key, `spec.externalName: "${target}" is not a DNS name`)
    return ok(key, { ...base, kind: 'ExternalName', clusterIPs: [], externalName: target.replace(/\.$/, '').toLowerCase() })
  }
  const clusterIP = spec?.clusterIP ?? ''
  if (clusterIP === 'None') return ok(key, { ...base, kind: 'Headless', clusterIPs: [], externalName: '' })
  if (clusterIP === '') return ignored(key, 'no clusterIP allocated yet')
  const clusterIPs = spec?.clusterIPs?.length ? spec.clusterIPs : [clusterIP]
  const bad = clusterIPs.findIndex((ip) => !ipFamily(ip))
  if (bad >= 0) return malformed(key, `spec.clusterIPs[${bad}]: "${clusterIPs[bad]}" is not an IP address`)
  return ok(key, { ...base, kind: 'ClusterIP', clusterIPs, externalName: '' })
}

export function normalizeDnsEndpointSlice(obj: unknown): Normalized<DnsEndpointSlice> {
  const parsed = (sliceParser ??= z.compile(endpointSliceSchema())).safeParse(obj)
  if (!parsed.success) return malformed(rawObjectKey(obj), describeZodError(parsed.error))
  const es = parsed.data
  const key = objectKey(es.metadata.namespace, es.metadata.name)
  const serviceName = es.metadata.labels?.[SERVICE_NAME_LABEL]
  if (!serviceName) return ignored(key, `no ${SERVICE_NAME_LABEL} label`)
  if (es.addressType !== 'IPv4' && es.addressType !== 'IPv6') return ignored(key, `addressType ${es.addressType} has no address records`)
  const family = es.addressType
  const endpoints: DnsEndpoint[] = []
  for (const [i, ep] of (es.endpoints ?? []).entries()) {
    const badAddr = ep.addresses.findIndex((a) => ipFamily(a) !== family)
    if (badAddr >= 0) return malformed(key, `endpoints[${i}].addresses[${badAddr}]: "${ep.addresses[badAddr]}" is not an ${family} address`)
    const hostname = ep.hostname ?? null
    if (hostname !== null && !LABEL_RE.test(hostname)) return malformed(key, `endpoints[${i}].hostname: "${hostname}" is not a DNS label`)
    endpoints.push({ addresses: ep.addresses, ready: ep.conditions?.ready ?? true, hostname })
  }
  const ports: DnsPort[] = (es.ports ?? []).flatMap((p) => (p.port ? [{ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }] : []))
  return ok(key, { namespace: es.metadata.namespace, name: es.metadata.name, serviceName, addressType: family, endpoints, ports })
}
