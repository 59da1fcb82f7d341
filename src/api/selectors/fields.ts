// Field selectors: `a=b`, `a==b`, `a!=b`, comma-joined. As in kube-apiserver, each
// kind supports a fixed set of fields; anything else is a 400 naming the field.
import { badRequest } from '../errors.ts'
import type { KObject } from '../types.ts'

export interface FieldRequirement {
  field: string
  op: 'eq' | 'neq'
  value: string
}
export type FieldSelector = FieldRequirement[]

const COMMON = ['metadata.name', 'metadata.namespace']
const BY_KIND: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Namespace: ['status.phase'],
  Service: ['spec.clusterIP', 'spec.type'],
  Endpoints: [],
  EndpointSlice: ['addressType'],
  // what `kubectl describe` and `kubectl get events --field-selector` use
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion',
    'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
}

export function parseFieldSelector(sel: string | undefined, kind: string): FieldSelector {
  if (!sel || !sel.trim()) return []
  const allowed = [...COMMON, ...(BY_KIND[kind] ?? [])]
  return sel.split(',').map((raw) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw)
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${raw}'`, 'ESELECTOR')
    const field = m[1]!
    if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`, 'ESELECTOR')
    return { field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3]! }
  })
}

function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return ''
    cur = (cur as Record<string, unknown>)[part]
  }
  if (cur === undefined || cur === null) return ''
  return String(cur)
}

export function matchFields(sel: FieldSelector, obj: KObject): boolean {
  for (const r of sel) {
    const v = fieldValue(obj, r.field)
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false
  }
  return true
}
