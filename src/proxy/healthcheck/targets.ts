// What the service health server must answer, decided from the intents: one
// listener per healthCheckNodePort, reporting its Service's local endpoints,
// and the exact answer kube-proxy gives (pkg/proxy/healthcheck), since cloud
// load balancers are configured against that answer.
import type { PortIntent } from '../plan/intent.ts'

export interface HealthTarget {
  port: number
  namespace: string
  name: string
  /** endpoints of the Service on this node */
  localEndpoints: number
}

export interface HealthConflict {
  port: number
  /** "namespace/name" that lost the port to another Service */
  service: string
  holder: string
}

/**
 * One target per healthCheckNodePort. A Service's count is the most local
 * endpoints any of its ports has in any family: its ports and families are
 * served by the same pods, so summing would count a pod several times. Two
 * Services on one port (the API's allocator prevents it) keep the first by
 * name; the other is reported.
 */
export function healthTargets(intents: Iterable<PortIntent>): { targets: Map<number, HealthTarget>; conflicts: HealthConflict[] } {
  const byService = new Map<string, HealthTarget>()
  for (const i of intents) {
    if (i.healthCheckNodePort === null) continue
    const t = byService.get(i.service)
    if (t === undefined || t.port !== i.healthCheckNodePort) {
      if (t !== undefined && t.port < i.healthCheckNodePort) continue
      const slash = i.service.indexOf('/')
      byService.set(i.service, { port: i.healthCheckNodePort, namespace: i.service.slice(0, slash), name: i.service.slice(slash + 1), localEndpoints: i.localEndpoints.length })
    } else {
      t.localEndpoints = Math.max(t.localEndpoints, i.localEndpoints.length)
    }
  }
  const targets = new Map<number, HealthTarget>()
  const conflicts: HealthConflict[] = []
  for (const [service, t] of [...byService].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const holder = targets.get(t.port)
    if (holder === undefined) targets.set(t.port, t)
    else conflicts.push({ port: t.port, service, holder: `${holder.namespace}/${holder.name}` })
  }
  return { targets, conflicts }
}

export interface HealthAnswer {
  status: 200 | 503
  headers: Record<string, string>
  body: string
}

/** kube-proxy's answer: 200 with local endpoints and a healthy proxy, else 503; same headers, same JSON text. */
export function healthAnswer(t: HealthTarget, proxyHealthy: boolean): HealthAnswer {
  const body = [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(t.namespace)},`,
    `\t\t"name": ${JSON.stringify(t.name)}`,
    '\t},',
    `\t"localEndpoints": ${t.localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    '}',
  ].join('\n')
  return {
    status: t.localEndpoints > 0 && proxyHealthy ? 200 : 503,
    headers: {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(t.localEndpoints),
    },
    body,
  }
}
