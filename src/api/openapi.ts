// A minimal OpenAPI v3 index. kubectl (1.27+) validates before apply/create by
// asking whether the server does field validation itself: it looks in
// /openapi/v3 for the PATCH operation of the kind, tagged with
// x-kubernetes-group-version-kind, and for a `fieldValidation` query parameter.
// Finding it, kubectl leaves validation to us (our 422s) instead of
// downloading schemas we do not serve. No schemas are published, so kubectl's
// strategic merge patch falls back to its built-in Go types.
import { RESOURCES, apiVersionOf, groupVersions } from './resources.ts'

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`)

export function openapiV3Root(): Record<string, unknown> {
  const paths: Record<string, unknown> = {}
  for (const g of groupVersions()) {
    const p = gvPath(g.group, g.version)
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=pontoon1` }
  }
  return { paths }
}

export function openapiV3GroupVersion(path: string): Record<string, unknown> | undefined {
  const gv = groupVersions().find((g) => gvPath(g.group, g.version) === path)
  if (!gv) return undefined
  const paths: Record<string, unknown> = {}
  for (const r of RESOURCES.filter((x) => x.group === gv.group && x.version === gv.version)) {
    const base = `/${gvPath(r.group, r.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.name}/{name}`
    const gvk = { group: r.group, version: r.version, kind: r.kind }
    const op = (verb: string) => ({
      operationId: `${verb}${r.kind}`,
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
      parameters: [
        { name: 'dryRun', in: 'query', schema: { type: 'string' } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
        { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
      ],
      responses: { '200': { description: 'OK' } },
    })
    paths[base] = { patch: op('patch'), put: op('put') }
    paths[base.replace('/{name}', '')] = { post: op('post') }
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: `${apiVersionOf(RESOURCES.find((r) => r.group === gv.group)!)}` },
    paths,
    components: { schemas: {} },
  }
}
