// Turn a request path into the resource it names, as kube-apiserver's
// RequestInfo does: /api/v1/... and /apis/<group>/<version>/..., cluster-scoped
// or under namespaces/<ns>/, with an optional name and subresource.
import { findResource, type Resource } from '../resources.ts'

export interface ResourceRoute {
  resource: Resource
  namespace?: string
  name?: string
  subresource?: string
  /** the legacy /watch/ path prefix */
  watchPath: boolean
}

export function parseResourcePath(path: string): ResourceRoute | undefined {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  let group: string
  let version: string
  let rest: string[]
  if (parts[0] === 'api' && parts.length >= 3) {
    group = ''
    version = parts[1]!
    rest = parts.slice(2)
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!
    version = parts[2]!
    rest = parts.slice(3)
  } else return undefined
  let watchPath = false
  if (rest[0] === 'watch') {
    watchPath = true
    rest = rest.slice(1)
  }
  // namespaces/<ns>/<resource>/... is namespaced unless the third part is a subresource of the namespace itself
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    const resource = findResource(group, version, rest[2]!)
    if (!resource || !resource.namespaced || rest.length > 5) return undefined
    if (rest[4] && !resource.subresources.includes(rest[4])) return undefined
    return { resource, namespace: rest[1], name: rest[3], subresource: rest[4], watchPath }
  }
  const resource = findResource(group, version, rest[0] ?? '')
  if (!resource || rest.length > 3) return undefined
  const route: ResourceRoute = { resource, name: rest[1], subresource: rest[2], watchPath }
  if (route.subresource && !resource.subresources.includes(route.subresource)) return undefined
  return route
}
