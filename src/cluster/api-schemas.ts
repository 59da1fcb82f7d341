// zod schemas for the parts of API objects that pontoon reads. Unknown fields are
// stripped; missing optional fields get kube-apiserver's defaults in normalize-*.ts.
// Built on first use, not at module load: constructing them is ~50 ms of CPU,
// which an agent on an empty cluster (which parses no Service or slice) need not
// pay before it is healthy (issue 7).
import { z } from 'zod'

function build() {
  const name = z.string().min(1, 'must be a non-empty string')
  const labels = z.record(z.string(), z.string()).nullish()

  const metadataSchema = z.object({
    name,
    namespace: z.string().nullish(),
    labels,
    annotations: labels,
  })

  const port = z.number().int().min(1, 'must be in 1..65535').max(65535, 'must be in 1..65535')
  const protocol = z.enum(['TCP', 'UDP', 'SCTP']).nullish()

  const serviceSchema = z.object({
    metadata: metadataSchema.extend({ namespace: name }),
    spec: z.object({
      type: z.string().nullish(),
      clusterIP: z.string().nullish(),
      clusterIPs: z.array(z.string()).nullish(),
      externalName: z.string().nullish(),
      ports: z.array(z.object({
        name: z.string().nullish(),
        protocol,
        port,
        nodePort: z.number().int().min(0).max(65535).nullish(),
        targetPort: z.union([z.number().int().min(0).max(65535), z.string()]).nullish(),
      })).nullish(),
      sessionAffinity: z.enum(['None', 'ClientIP']).nullish(),
      sessionAffinityConfig: z.object({
        clientIP: z.object({ timeoutSeconds: z.number().int().min(1).max(86400).nullish() }).nullish(),
      }).nullish(),
      externalTrafficPolicy: z.enum(['Cluster', 'Local', 'Global']).nullish(),
      internalTrafficPolicy: z.enum(['Cluster', 'Local']).nullish(),
      healthCheckNodePort: z.number().int().min(0).max(65535).nullish(),
      externalIPs: z.array(z.string()).nullish(),
      loadBalancerSourceRanges: z.array(z.string()).nullish(),
    }).nullish(),
    status: z.object({
      loadBalancer: z.object({
        ingress: z.array(z.object({ ip: z.string().nullish() })).nullish(),
      }).nullish(),
    }).nullish(),
  })

  const endpointSliceSchema = z.object({
    metadata: metadataSchema.extend({ namespace: name }),
    addressType: z.string(),
    endpoints: z.array(z.object({
      addresses: z.array(z.string()).min(1, 'must list at least one address'),
      conditions: z.object({
        ready: z.boolean().nullish(),
        serving: z.boolean().nullish(),
        terminating: z.boolean().nullish(),
      }).nullish(),
      nodeName: z.string().nullish(),
      hostname: z.string().nullish(),
      zone: z.string().nullish(),
      hints: z.object({
        forZones: z.array(z.object({ name: z.string() })).nullish(),
      }).nullish(),
    })).nullish(),
    ports: z.array(z.object({
      name: z.string().nullish(),
      protocol,
      port: port.nullish(),
    })).nullish(),
  })

  const nodeSchema = z.object({
    metadata: metadataSchema,
    spec: z.object({
      podCIDR: z.string().nullish(),
      podCIDRs: z.array(z.string()).nullish(),
    }).nullish(),
    status: z.object({
      addresses: z.array(z.object({ type: z.string(), address: z.string() })).nullish(),
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
    }).nullish(),
  })
  return { metadataSchema, serviceSchema, endpointSliceSchema, nodeSchema }
}

let built: ReturnType<typeof build> | undefined
const schemas = () => (built ??= build())

export const serviceSchema = () => schemas().serviceSchema
export const endpointSliceSchema = () => schemas().endpointSliceSchema
export const nodeSchema = () => schemas().nodeSchema

export type ApiService = z.infer<ReturnType<typeof serviceSchema>>
export type ApiEndpointSlice = z.infer<ReturnType<typeof endpointSliceSchema>>
export type ApiNode = z.infer<ReturnType<typeof nodeSchema>>
