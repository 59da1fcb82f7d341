// Legacy discovery documents. kubectl 1.32 asks for aggregated discovery first
// and falls back to these when the answer is a plain APIVersions/APIGroupList.
import { RESOURCES, apiVersionOf, groupVersions, verbs } from './resources.ts'

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-pontoon',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  }
}

export function apiGroupList(): Record<string, unknown> {
  const groups = groupVersions()
    .filter((g) => g.group !== '')
    .map((g) => {
      const gv = { groupVersion: `${g.group}/${g.version}`, version: g.version }
      return { name: g.group, versions: [gv], preferredVersion: gv }
    })
  return { kind: 'APIGroupList', apiVersion: 'v1', groups }
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  const gvs = groupVersions().filter((g) => g.group === group)
  const first = gvs[0]
  if (!first) return undefined
  const versions = gvs.map((g) => ({ groupVersion: `${g.group}/${g.version}`, version: g.version }))
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] }
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version)
  if (rs.length === 0) return undefined
  const resources: Record<string, unknown>[] = []
  for (const r of rs) {
    resources.push({
      name: r.name,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbs(),
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories ? { categories: r.categories } : {}),
      storageVersionHash: '',
    })
    for (const sub of r.subresources) {
      // A binding is only ever created (the scheduler's POST); status is read and written.
      if (sub === 'binding') resources.push({ name: `${r.name}/${sub}`, singularName: '', namespaced: r.namespaced, kind: 'Binding', verbs: ['create'] })
      else resources.push({ name: `${r.name}/${sub}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] })
    }
  }
  const first = rs[0]!
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(first), resources }
}
