// The scale subresource of Deployments and ReplicaSets: an autoscaling/v1
// Scale view of the object, and writes to it (PUT, or any patch applied to
// that view) that land on the object's spec.replicas, validated as the object.
import { badRequest, conflict } from './errors.ts'
import type { Api, WriteOptions } from './core.ts'
import type { Resource } from './resources.ts'
import { selectorString } from './selectors/label-selector.ts'
import { isObject, type KObject } from './types.ts'

export function scaleOf(obj: KObject): KObject {
  const md = obj.metadata
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: md.name, namespace: md.namespace, uid: md.uid, resourceVersion: md.resourceVersion, creationTimestamp: md.creationTimestamp },
    spec: { replicas: typeof obj.spec?.replicas === 'number' ? obj.spec.replicas : 0 },
    status: { replicas: typeof obj.status?.replicas === 'number' ? obj.status.replicas : 0, selector: selectorString(obj.spec?.selector) },
  }
}

/**
 * Read the Scale (no `change`), or write one: `change` gets the current Scale
 * and returns the wanted one (a PUT body, or the current one patched).
 */
export function scale(api: Api, r: Resource, ns: string | undefined, name: string, change: ((current: KObject) => unknown) | undefined, opts: WriteOptions = {}): KObject {
  if (!change) return scaleOf(api.get(r, ns, name).obj)
  let target: KObject | undefined
  const out = api.patch(
    r,
    ns,
    name,
    (cur) => {
      const obj = cur as KObject
      const want = change(scaleOf(obj))
      if (!isObject(want)) throw badRequest('the Scale must be a JSON object', 'ESCALE')
      if (want.kind !== undefined && want.kind !== 'Scale') throw badRequest(`the kind of the provided object (${String(want.kind)}) does not match the resource (Scale)`, 'EKIND')
      const md = isObject(want.metadata) ? want.metadata : {}
      if (md.name !== undefined && md.name !== name) throw badRequest(`the name of the object (${String(md.name)}) does not match the name on the URL (${name})`, 'ENAME')
      const rv = md.resourceVersion
      if (typeof rv === 'string' && rv !== '' && rv !== obj.metadata.resourceVersion)
        throw conflict(api.target(r, name), 'the object has been modified; please apply your changes to the latest version and try again')
      const replicas = isObject(want.spec) ? want.spec.replicas : undefined
      target = { ...obj, spec: { ...(obj.spec ?? {}), replicas: replicas ?? 0 } }
      return target
    },
    opts,
  )
  return scaleOf(out)
}
