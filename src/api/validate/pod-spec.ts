// A pod spec, as kube-apiserver's ValidatePodSpec checks the fields a lab uses.
// Exported for every kind that carries one: Pods (path "spec") and the pod
// templates of ReplicaSets and Deployments (path "spec.template.spec").
import type { FieldError } from '../errors.ts'
import { isObject } from '../types.ts'
import { Errs, isInt, isStr } from './errs.ts'
import { dns1123Label, dns1123Subdomain, labelValue, qualifiedName } from './names.ts'
import { stringMap } from './meta.ts'
import { validateContainer, type ContainerContext } from './container.ts'

export interface PodSpecOptions {
  /** a pod template's spec: its images may keep blanks around them, as kube-apiserver allows */
  template?: boolean
}

export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never']
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']
const OPERATORS = ['Equal', 'Exists']
const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute']
const MAX_INT32 = 2147483647

/** Validate `spec` found at `path`, recording every problem in `e`. */
export function validatePodSpec(spec: unknown, path: string, e: Errs, opts: PodSpecOptions = {}): void {
  if (spec === undefined || spec === null) return e.required(path)
  if (!isObject(spec)) return e.invalid(path, spec, 'must be an object')
  const ctx: Omit<ContainerContext, 'init'> = { template: opts.template === true, names: new Set(), hostPorts: new Set() }
  const initContainers = spec.initContainers
  if (initContainers !== undefined && initContainers !== null) {
    if (!Array.isArray(initContainers)) e.invalid(`${path}.initContainers`, initContainers, 'must be a list')
    else initContainers.forEach((c: unknown, i: number) => validateContainer(c, `${path}.initContainers[${i}]`, e, { ...ctx, init: true }))
  }
  const containers = spec.containers
  if (containers !== undefined && containers !== null && !Array.isArray(containers)) e.invalid(`${path}.containers`, containers, 'must be a list')
  else if (!Array.isArray(containers) || containers.length === 0) e.required(`${path}.containers`)
  else containers.forEach((c: unknown, i: number) => validateContainer(c, `${path}.containers[${i}]`, e, { ...ctx, init: false }))

  const rp = spec.restartPolicy
  if (rp === '') e.required(`${path}.restartPolicy`)
  else if (rp !== undefined && !RESTART_POLICIES.includes(rp as string)) e.notSupported(`${path}.restartPolicy`, rp, RESTART_POLICIES)
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy as string)) e.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES)
  const tg = spec.terminationGracePeriodSeconds
  if (tg !== undefined && tg !== null) {
    if (!isInt(tg)) e.invalid(`${path}.terminationGracePeriodSeconds`, tg, 'must be an integer')
    else if (tg < 0) e.invalid(`${path}.terminationGracePeriodSeconds`, tg, 'must be greater than or equal to 0')
  }
  const ad = spec.activeDeadlineSeconds
  if (ad !== undefined && ad !== null && (!isInt(ad) || ad < 1 || ad > MAX_INT32))
    e.invalid(`${path}.activeDeadlineSeconds`, ad, `must be between 1 and ${MAX_INT32}, inclusive`)
  if (spec.nodeSelector !== undefined) stringMap(e, `${path}.nodeSelector`, spec.nodeSelector, true)
  subdomainField(e, `${path}.nodeName`, spec.nodeName)
  subdomainField(e, `${path}.serviceAccountName`, spec.serviceAccountName)
  subdomainField(e, `${path}.schedulerName`, spec.schedulerName)
  for (const f of ['hostname', 'subdomain'] as const) {
    const v = spec[f]
    if (v === undefined || v === '') continue
    if (!isStr(v)) e.invalid(`${path}.${f}`, v, 'must be a string')
    else e.name(`${path}.${f}`, v, dns1123Label)
  }
  validateTolerations(spec.tolerations, `${path}.tolerations`, e)
}

/** The same check, for callers that want the list rather than a collector. */
export function podSpecErrors(spec: unknown, path: string, opts: PodSpecOptions = {}): FieldError[] {
  const e = new Errs()
  validatePodSpec(spec, path, e, opts)
  return e.list
}

/**
 * A pod template (`{metadata, spec}`) at `path`, e.g. "spec.template": its
 * labels and annotations, and its spec as a template's.
 */
export function validatePodTemplateSpec(tpl: unknown, path: string, e: Errs): void {
  if (tpl === undefined || tpl === null) return e.required(path)
  if (!isObject(tpl)) return e.invalid(path, tpl, 'must be an object')
  const md = tpl.metadata
  if (md !== undefined && md !== null) {
    if (!isObject(md)) e.invalid(`${path}.metadata`, md, 'must be an object')
    else {
      stringMap(e, `${path}.metadata.labels`, md.labels, true)
      stringMap(e, `${path}.metadata.annotations`, md.annotations, false)
    }
  }
  validatePodSpec(tpl.spec, `${path}.spec`, e, { template: true })
}

function subdomainField(e: Errs, field: string, v: unknown): void {
  if (v === undefined || v === null || v === '') return
  if (!isStr(v)) return e.invalid(field, v, 'must be a string')
  e.name(field, v, dns1123Subdomain)
}

export function validateTolerations(list: unknown, path: string, e: Errs): void {
  if (list === undefined || list === null) return
  if (!Array.isArray(list)) return e.invalid(path, list, 'must be a list')
  list.forEach((t: unknown, i: number) => {
    const f = `${path}[${i}]`
    if (!isObject(t)) return e.invalid(f, t, 'must be an object')
    const key = t.key ?? ''
    const op = t.operator ?? 'Equal'
    const value = t.value ?? ''
    if (!isStr(key)) e.invalid(`${f}.key`, key, 'must be a string')
    else if (key !== '') for (const m of qualifiedName(key)) e.invalid(`${f}.key`, key, m)
    else if (op !== 'Exists') e.invalid(`${f}.operator`, op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"')
    if (!OPERATORS.includes(op as string)) e.notSupported(`${f}.operator`, op, OPERATORS)
    else if (!isStr(value)) e.invalid(`${f}.value`, value, 'must be a string')
    else if (op === 'Exists' && value !== '') e.invalid(`${f}.value`, value, 'value must be empty when `operator` is \'Exists\'')
    else if (op === 'Equal') for (const m of labelValue(value)) e.invalid(`${f}.value`, value, m)
    const effect = t.effect ?? ''
    if (effect !== '' && !EFFECTS.includes(effect as string)) e.notSupported(`${f}.effect`, effect, EFFECTS)
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null) {
      if (effect !== 'NoExecute') e.invalid(`${f}.effect`, effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
      if (!isInt(t.tolerationSeconds)) e.invalid(`${f}.tolerationSeconds`, t.tolerationSeconds, 'must be an integer')
    }
  })
}
