// metadata checks shared by every kind.
import type { Resource } from '../resources.ts'
import { isObject, type KObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dns1035Label, dns1123Label, dns1123Subdomain, labelValue, qualifiedName } from './names.ts'

const RULES = { dns1035: dns1035Label, dns1123label: dns1123Label, dns1123subdomain: dns1123Subdomain }

export function validateMeta(r: Resource, obj: KObject, e: Errs): void {
  const m = obj.metadata
  if (!isStr(m.name) || m.name === '') e.required('metadata.name', 'name or generateName is required')
  else e.name('metadata.name', m.name, RULES[r.nameRule])
  if (r.namespaced) {
    if (!isStr(m.namespace) || !m.namespace) e.required('metadata.namespace')
  } else if (m.namespace) e.forbidden('metadata.namespace', 'not allowed on this type')
  stringMap(e, 'metadata.labels', m.labels, true)
  stringMap(e, 'metadata.annotations', m.annotations, false)
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) e.invalid('metadata.finalizers', m.finalizers, 'must be a list of strings')
    else m.finalizers.forEach((f, i) => isStr(f) ? e.name(`metadata.finalizers[${i}]`, f, qualifiedName) : e.invalid(`metadata.finalizers[${i}]`, f, 'must be a string'))
  }
}

export function stringMap(e: Errs, field: string, v: unknown, labels: boolean): void {
  if (v === undefined || v === null) return
  if (!isObject(v)) return e.invalid(field, v, 'must be a map of string keys to string values')
  for (const [k, val] of Object.entries(v)) {
    for (const msg of qualifiedName(k)) e.invalid(field, k, msg)
    if (!isStr(val)) e.invalid(`${field}[${k}]`, val, 'must be a string')
    else if (labels) for (const msg of labelValue(val)) e.invalid(`${field}`, val, msg)
  }
}
