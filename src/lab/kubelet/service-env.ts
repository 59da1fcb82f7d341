// Pure: the environment variables kubelet injects for Services (pkg/kubelet/envvars):
// for every Service with a cluster IP in the pod's namespace (when the pod keeps
// enableServiceLinks) and, always, the `kubernetes` Service of the default
// namespace. Simple form <NAME>_SERVICE_HOST / _SERVICE_PORT / _SERVICE_PORT_<PORTNAME>,
// and the docker-links form <NAME>_PORT, <NAME>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}.

export interface ServicePortLike {
  name?: string
  port: number
  protocol?: string
}

export interface ServiceLike {
  namespace: string
  name: string
  clusterIP?: string
  ports: readonly ServicePortLike[]
}

export interface EnvPair {
  name: string
  value: string
}

/** Where the `kubernetes` Service lives (kubelet's masterServiceNamespace). */
export const MASTER_NAMESPACE = 'default'
const MASTER_SERVICES = new Set(['kubernetes'])

/** kubelet: upper case, "-" becomes "_". */
export function envName(s: string): string {
  return s.replace(/-/g, '_').toUpperCase()
}

function hasClusterIP(s: ServiceLike): boolean {
  return s.clusterIP !== undefined && s.clusterIP !== '' && s.clusterIP !== 'None'
}

/** host:port as Go's net.JoinHostPort writes it: IPv6 in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * The Services whose variables a pod in `namespace` gets, by name. A Service of
 * the pod's own namespace wins over the default namespace's `kubernetes`, as in
 * kubelet; sorted by name so the environment is the same at every start.
 */
export function servicesForPod(services: Iterable<ServiceLike>, namespace: string, enableServiceLinks: boolean): ServiceLike[] {
  const byName = new Map<string, ServiceLike>()
  for (const s of services) {
    if (!hasClusterIP(s) || s.ports.length === 0) continue
    if (s.namespace === namespace && enableServiceLinks) byName.set(s.name, s)
    else if (s.namespace === MASTER_NAMESPACE && MASTER_SERVICES.has(s.name) && !byName.has(s.name)) byName.set(s.name, s)
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** The variables of one Service, in kubelet's order. */
export function serviceVariables(s: ServiceLike): EnvPair[] {
  const prefix = envName(s.name)
  const ip = s.clusterIP ?? ''
  const out: EnvPair[] = [
    { name: `${prefix}_SERVICE_HOST`, value: ip },
    { name: `${prefix}_SERVICE_PORT`, value: String(s.ports[0]!.port) },
  ]
  for (const p of s.ports) {
    if (p.name) out.push({ name: `${prefix}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) })
  }
  s.ports.forEach((p, i) => {
    const proto = (p.protocol || 'TCP').toUpperCase()
    const url = `${proto.toLowerCase()}://${joinHostPort(ip, p.port)}`
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url })
    const pp = `${prefix}_PORT_${p.port}_${proto}`
    out.push(
      { name: pp, value: url },
      { name: `${pp}_PROTO`, value: proto.toLowerCase() },
      { name: `${pp}_PORT`, value: String(p.port) },
      { name: `${pp}_ADDR`, value: ip },
    )
  })
  return out
}

export function serviceEnv(services: Iterable<ServiceLike>, namespace: string, enableServiceLinks: boolean): EnvPair[] {
  return servicesForPod(services, namespace, enableServiceLinks).flatMap(serviceVariables)
}

/** A Service object from the API, read defensively; undefined when it has no usable shape. */
export function serviceFromObject(o: unknown): ServiceLike | undefined {
  if (typeof o !== 'object' || o === null) return undefined
  const obj = o as { metadata?: { namespace?: unknown; name?: unknown }; spec?: { clusterIP?: unknown; ports?: unknown } }
  const ns = obj.metadata?.namespace
  const name = obj.metadata?.name
  if (typeof ns !== 'string' || typeof name !== 'string') return undefined
  const ports: ServicePortLike[] = []
  for (const p of Array.isArray(obj.spec?.ports) ? obj.spec.ports : []) {
    const port = (p as { port?: unknown })?.port
    if (typeof port !== 'number') continue
    const pn = (p as { name?: unknown }).name
    const proto = (p as { protocol?: unknown }).protocol
    ports.push({ port, ...(typeof pn === 'string' ? { name: pn } : {}), ...(typeof proto === 'string' ? { protocol: proto } : {}) })
  }
  const ip = obj.spec?.clusterIP
  return { namespace: ns, name, ...(typeof ip === 'string' ? { clusterIP: ip } : {}), ports }
}
