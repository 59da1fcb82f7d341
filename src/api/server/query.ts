// The list/watch query parameters, parsed once.
import { badRequest } from '../errors.ts'
import type { Resource } from '../resources.ts'
import { matchFields, parseFieldSelector, type FieldSelector } from '../selectors/fields.ts'
import { matchLabels, parseLabelSelector, type LabelSelector } from '../selectors/labels.ts'
import type { KObject } from '../types.ts'

export interface Filter {
  namespace?: string
  labels: LabelSelector
  fields: FieldSelector
}

export function filterOf(r: Resource, q: URLSearchParams, namespace: string | undefined): Filter {
  return {
    namespace,
    labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
    fields: parseFieldSelector(q.get('fieldSelector') ?? undefined, r.kind),
  }
}

export function matches(f: Filter, o: KObject): boolean {
  if (f.namespace && o.metadata.namespace !== f.namespace) return false
  if (f.labels.length && !matchLabels(f.labels, o.metadata.labels)) return false
  if (f.fields.length && !matchFields(f.fields, o)) return false
  return true
}

export const isSelective = (f: Filter) => f.labels.length > 0 || f.fields.length > 0

/** A resourceVersion query parameter: undefined when absent or empty. */
export function rvParam(q: URLSearchParams): number | undefined {
  const v = q.get('resourceVersion')
  if (v === null || v === '') return undefined
  if (!/^\d+$/.test(v)) throw badRequest(`invalid resource version "${v}"`, 'ERESOURCEVERSION')
  return Number(v)
}

export const boolParam = (q: URLSearchParams, k: string): boolean => q.get(k) === 'true' || q.get(k) === '1'
