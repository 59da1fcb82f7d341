// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for
// (Accept: ...;as=Table;...), with the columns kube-apiserver prints for these
// kinds. Columns with priority 1 appear only with `-o wide`.
import { selectorString } from './selectors/label-selector.ts'
import { isObject, type KObject } from './types.ts'

interface Column {
  name: string
  type: 'string' | 'integer' | 'date'
  format?: string
  priority?: number
  cell(o: KObject): string | number
}

type Rec = Record<string, unknown>
const objs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isObject) : [])
const str = (v: unknown, dflt = '<none>') => (typeof v === 'string' && v !== '' ? v : dflt)

/** kubectl's short durations: 45s, 12m, 5h, 3d, 2y (duration.HumanDuration, simplified). */
export function humanAge(created: string | undefined, now = Date.now()): string {
  if (!created) return '<unknown>'
  const s = Math.max(0, Math.floor((now - Date.parse(created)) / 1000))
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  if (d < 365 * 2) return `${d}d`
  return `${Math.floor(d / 365)}y`
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name ?? '' }
const AGE: Column = { name: 'Age', type: 'string', cell: (o) => humanAge(o.metadata.creationTimestamp) }

const servicePorts = (o: KObject) =>
  objs(o.spec?.ports).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'

const externalIP = (o: KObject) => {
  const spec = o.spec ?? {}
  if (spec.type === 'ExternalName') return str(spec.externalName)
  const ing = objs(isObject(o.status?.loadBalancer) ? (o.status.loadBalancer as Rec).ingress : undefined).map((i) => i.ip ?? i.hostname)
  const ext = [...(Array.isArray(spec.externalIPs) ? spec.externalIPs : []), ...ing]
  if (ext.length) return ext.join(',')
  return spec.type === 'LoadBalancer' ? '<pending>' : '<none>'
}

const podReady = (o: KObject) => {
  const total = objs(o.spec?.containers).length
  const ready = objs(o.status?.containerStatuses).filter((c) => c.ready === true).length
  return `${ready}/${total}`
}

const nodeReady = (o: KObject) => {
  const c = objs(o.status?.conditions).find((x) => x.type === 'Ready')
  const s = c?.status === 'True' ? 'Ready' : c?.status === 'False' ? 'NotReady' : 'Unknown'
  return o.spec?.unschedulable ? `${s},SchedulingDisabled` : s
}

const nodeAddr = (o: KObject, type: string) => str(objs(o.status?.addresses).find((a) => a.type === type)?.address)

const sliceEndpoints = (o: KObject) => {
  const addrs = objs(o.endpoints).flatMap((e) => (Array.isArray(e.addresses) ? e.addresses : []))
  if (addrs.length === 0) return '<unset>'
  return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',')
}

const endpointsList = (o: KObject) => {
  const out: string[] = []
  for (const s of objs(o.subsets)) {
    const ports = objs(s.ports).map((p) => p.port)
    for (const a of objs(s.addresses)) for (const p of ports.length ? ports : ['']) out.push(p === '' ? String(a.ip) : `${a.ip}:${p}`)
  }
  if (out.length === 0) return '<none>'
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',')
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0)
const templateContainers = (o: KObject) => {
  const t = isObject(o.spec?.template) ? (o.spec.template as Rec) : {}
  return objs(isObject(t.spec) ? (t.spec as Rec).containers : undefined)
}
const selectorText = (o: KObject) => selectorString(o.spec?.selector) || '<none>'
const REPLICATED_WIDE: Column[] = [
  { name: 'Containers', type: 'string', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.name ?? '')).join(',') },
  { name: 'Images', type: 'string', priority: 1, cell: (o) => templateContainers(o).map((c) => String(c.image ?? '')).join(',') },
  { name: 'Selector', type: 'string', priority: 1, cell: selectorText },
]

const COLUMNS: Record<string, Column[]> = {
  Deployment: [
    NAME,
    { name: 'Ready', type: 'string', cell: (o) => `${num(o.status?.readyReplicas)}/${num(o.spec?.replicas)}` },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(o.status?.updatedReplicas) },
    { name: 'Available', type: 'integer', cell: (o) => num(o.status?.availableReplicas) },
    AGE,
    ...REPLICATED_WIDE,
  ],
  ReplicaSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(o.spec?.replicas) },
    { name: 'Current', type: 'integer', cell: (o) => num(o.status?.replicas) },
    { name: 'Ready', type: 'integer', cell: (o) => num(o.status?.readyReplicas) },
    AGE,
    ...REPLICATED_WIDE,
  ],
  Namespace: [NAME, { name: 'Status', type: 'string', cell: (o) => str(o.status?.phase, 'Active') }, AGE],
  Node: [
    NAME,
    { name: 'Status', type: 'string', cell: nodeReady },
    { name: 'Roles', type: 'string', cell: (o) => Object.keys(o.metadata.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice(24)).join(',') || '<none>' },
    AGE,
    { name: 'Version', type: 'string', cell: (o) => str(isObject(o.status?.nodeInfo) ? (o.status.nodeInfo as Rec).kubeletVersion : undefined, '') },
    { name: 'Internal-IP', type: 'string', priority: 1, cell: (o) => nodeAddr(o, 'InternalIP') },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddr(o, 'ExternalIP') },
    { name: 'Pod-CIDR', type: 'string', priority: 1, cell: (o) => str(o.spec?.podCIDR) },
  ],
  Pod: [
    NAME,
    { name: 'Ready', type: 'string', cell: podReady },
    { name: 'Status', type: 'string', cell: (o) => (o.metadata.deletionTimestamp ? 'Terminating' : str(o.status?.phase, 'Pending')) },
    { name: 'Restarts', type: 'string', cell: (o) => String(objs(o.status?.containerStatuses).reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0)) },
    AGE,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => str(o.status?.podIP) },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => str(o.spec?.nodeName) },
    { name: 'Nominated Node', type: 'string', priority: 1, cell: (o) => str(o.status?.nominatedNodeName) },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: () => '<none>' },
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => str(o.spec?.type, 'ClusterIP') },
    { name: 'Cluster-IP', type: 'string', cell: (o) => str(o.spec?.clusterIP) },
    { name: 'External-IP', type: 'string', cell: externalIP },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
    { name: 'Selector', type: 'string', priority: 1, cell: (o) => (isObject(o.spec?.selector) ? Object.entries(o.spec.selector).map(([k, v]) => `${k}=${v}`).join(',') : '') || '<none>' },
  ],
  Endpoints: [NAME, { name: 'Endpoints', type: 'string', cell: endpointsList }, AGE],
  Event: [
    { name: 'Last Seen', type: 'string', cell: (o) => humanAge(str(o.lastTimestamp, '') || str(o.eventTime, '') || o.metadata.creationTimestamp) },
    { name: 'Type', type: 'string', cell: (o) => str(o.type, 'Normal') },
    { name: 'Reason', type: 'string', cell: (o) => str(o.reason, '') },
    { name: 'Object', type: 'string', cell: (o) => { const io = isObject(o.involvedObject) ? o.involvedObject : {}; return `${String(io.kind ?? '').toLowerCase()}/${str(io.name, '')}` } },
    { name: 'Message', type: 'string', cell: (o) => str(o.message, '') },
  ],
  EndpointSlice: [
    NAME,
    { name: 'AddressType', type: 'string', cell: (o) => str(o.addressType) },
    { name: 'Ports', type: 'string', cell: (o) => objs(o.ports).map((p) => String(p.port ?? '')).join(',') || '<unset>' },
    { name: 'Endpoints', type: 'string', cell: sliceEndpoints },
    AGE,
  ],
}

/** Whether the Accept header asks for a Table. */
export const wantsTable = (accept: string | undefined): boolean => !!accept && /as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept)

export type IncludeObject = 'None' | 'Metadata' | 'Object'

function rowOf(kind: string, o: KObject, include: IncludeObject): Record<string, unknown> {
  const cols = COLUMNS[kind] ?? [NAME, AGE]
  const row: Record<string, unknown> = { cells: cols.map((c) => c.cell(o)) }
  if (include === 'Object') row.object = o
  else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata }
  return row
}

export function table(kind: string, objects: KObject[], rv: string, include: IncludeObject): Record<string, unknown> {
  const cols = COLUMNS[kind] ?? [NAME, AGE]
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rv },
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: '', priority: c.priority ?? 0 })),
    rows: objects.map((o) => rowOf(kind, o, include)),
  }
}

export function includeObjectParam(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject')
  return v === 'None' || v === 'Object' ? v : 'Metadata'
}
