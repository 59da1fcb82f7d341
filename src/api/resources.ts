// The kinds this server serves, and the facts about each that routing,
// discovery and storage need.

export interface Resource {
  /** plural, as in the URL */
  name: string
  singular: string
  kind: string
  group: string
  version: string
  namespaced: boolean
  shortNames: string[]
  /** subresources served beside the main resource */
  subresources: string[]
  /** DNS-1035 label, DNS-1123 label, or DNS-1123 subdomain: what kube-apiserver requires of metadata.name */
  nameRule: 'dns1035' | 'dns1123label' | 'dns1123subdomain'
  /** discovery categories (`kubectl get all`) */
  categories?: string[]
}

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']

export const RESOURCES: readonly Resource[] = [
  { name: 'namespaces', singular: 'namespace', kind: 'Namespace', group: '', version: 'v1', namespaced: false, shortNames: ['ns'], subresources: ['status'], nameRule: 'dns1123label' },
  { name: 'nodes', singular: 'node', kind: 'Node', group: '', version: 'v1', namespaced: false, shortNames: ['no'], subresources: ['status'], nameRule: 'dns1123subdomain' },
  { name: 'pods', singular: 'pod', kind: 'Pod', group: '', version: 'v1', namespaced: true, shortNames: ['po'], subresources: ['status', 'binding'], nameRule: 'dns1123subdomain', categories: ['all'] },
  { name: 'services', singular: 'service', kind: 'Service', group: '', version: 'v1', namespaced: true, shortNames: ['svc'], subresources: ['status'], nameRule: 'dns1035', categories: ['all'] },
  { name: 'endpoints', singular: 'endpoints', kind: 'Endpoints', group: '', version: 'v1', namespaced: true, shortNames: ['ep'], subresources: [], nameRule: 'dns1123subdomain' },
  { name: 'events', singular: 'event', kind: 'Event', group: '', version: 'v1', namespaced: true, shortNames: ['ev'], subresources: [], nameRule: 'dns1123subdomain' },
  { name: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', namespaced: true, shortNames: [], subresources: [], nameRule: 'dns1123subdomain' },
]

export const verbs = (): string[] => [...VERBS]

export const apiVersionOf = (r: Resource): string => (r.group ? `${r.group}/${r.version}` : r.version)

export function findResource(group: string, version: string, name: string): Resource | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.name === name)
}

export function byName(name: string): Resource {
  const r = RESOURCES.find((x) => x.name === name)
  if (!r) throw new Error(`unknown resource ${name}`)
  return r
}

/** Group versions in the order discovery lists them. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>()
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version })
  return [...seen.values()]
}
