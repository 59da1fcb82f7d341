// API EndpointSlice -> pontoon EndpointSlice. Conditions follow the API's rules:
// a missing "ready" means ready, a missing "serving" means the same as ready,
// and a missing "terminating" means not terminating.
import { z } from 'zod'
import { endpointSliceSchema } from './api-schemas.ts'
import { ipFamily } from '../net/address.ts'
import { objectKey, type Endpoint, type EndpointPort, type EndpointSlice } from './model.ts'
import { describeZodError, ignored, malformed, ok, type Normalized } from './normalized.ts'
import { rawObjectKey } from './object-key.ts'
import { SERVICE_PROXY_NAME_LABEL } from './normalize-service.ts'
import { intern } from './intern.ts'

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name'

// zod's compiled parser gives the same output and, on invalid input, hands over
// to the runtime parser for the same issues; it parses a cold list of 10,000
// slices in a fraction of the time. Compiled at first use, not at import: an
// agent pays for it only once it has slices to read.
let schema: ReturnType<typeof endpointSliceSchema> | undefined

export function normalizeEndpointSlice(obj: unknown): Normalized<EndpointSlice> {
  const parsed = (schema ??= z.compile(endpointSliceSchema())).safeParse(obj)
  if (!parsed.success) return malformed(rawObjectKey(obj), describeZodError(parsed.error))
  const es = parsed.data
  const key = objectKey(es.metadata.namespace, es.metadata.name)
  const labels = es.metadata.labels ?? {}
  if (labels[SERVICE_PROXY_NAME_LABEL] !== undefined) return ignored(key, `labelled ${SERVICE_PROXY_NAME_LABEL}`)
  const serviceName = labels[SERVICE_NAME_LABEL]
  if (!serviceName) return ignored(key, `no ${SERVICE_NAME_LABEL} label`)
  if (es.addressType === 'FQDN') return ignored(key, 'addressType FQDN is not proxied')
  if (es.addressType !== 'IPv4' && es.addressType !== 'IPv6') {
    return malformed(key, `addressType: unsupported value "${es.addressType}"`)
  }
  const family = es.addressType
  const endpoints: Endpoint[] = []
  const eps = es.endpoints ?? []
  // Indexed loops: this runs for each of 100,000 endpoints in a cold list.
  for (let i = 0; i < eps.length; i++) {
    const ep = eps[i]!
    for (let j = 0; j < ep.addresses.length; j++) {
      const addr = ep.addresses[j]!
      if (ipFamily(addr) !== family) return malformed(key, `endpoints[${i}].addresses[${j}]: "${addr}" is not an ${family} address`)
    }
    const ready = ep.conditions?.ready ?? true
    endpoints.push({
      addresses: ep.addresses,
      ready,
      serving: ep.conditions?.serving ?? ready,
      terminating: ep.conditions?.terminating ?? false,
      nodeName: ep.nodeName ? intern(ep.nodeName) : null,
      zone: ep.zone ? intern(ep.zone) : null,
      zoneHints: ep.hints?.forZones ? [...new Set(ep.hints.forZones.map((z) => intern(z.name)))].sort() : null,
    })
  }
  // kube-proxy skips ports without a number: they cannot be programmed.
  const ports: EndpointPort[] = (es.ports ?? []).flatMap((p) =>
    p.port ? [{ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }] : [])
  return ok(key, {
    namespace: es.metadata.namespace,
    name: es.metadata.name,
    serviceName,
    addressType: family,
    endpoints,
    ports,
  })
}
