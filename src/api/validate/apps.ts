// apps/v1 Deployment and ReplicaSet validation, after kube-apiserver's
// ValidateDeploymentSpec / ValidateReplicaSetSpec, with its messages. The pod
// template is checked by the Pod validator itself, its field paths moved
// under spec.template.
import type { FieldError } from '../errors.ts'
import { MAX_REPLICAS } from '../limits.ts'
import { isEmptySelector, OPERATORS, selects } from '../selectors/label-selector.ts'
import { isObject, type KObject } from '../types.ts'
import { isPercent, rawValue } from '../controllers/int-or-percent.ts'
import { Errs, isInt, isStr } from './errs.ts'
import { stringMap } from './meta.ts'
import { qualifiedName } from './names.ts'
import { validatePod } from './pod.ts'
import { canonical } from '../canonical-json.ts'

export const STRATEGY_TYPES = ['Recreate', 'RollingUpdate'] as const

function nonNegative(e: Errs, field: string, v: unknown): void {
  if (v === undefined) return
  if (!isInt(v)) e.invalid(field, v, 'must be an integer')
  else if (v < 0) e.invalid(field, v, 'must be greater than or equal to 0')
}

export function validateLabelSelector(e: Errs, field: string, sel: unknown): void {
  if (!isObject(sel)) return e.invalid(field, sel, 'must be an object')
  stringMap(e, `${field}.matchLabels`, sel.matchLabels, true)
  const exprs = sel.matchExpressions
  if (exprs === undefined) return
  if (!Array.isArray(exprs)) return e.invalid(`${field}.matchExpressions`, exprs, 'must be a list')
  exprs.forEach((x: unknown, i: number) => {
    const f = `${field}.matchExpressions[${i}]`
    if (!isObject(x)) return e.invalid(f, x, 'must be an object')
    if (!isStr(x.key) || !x.key) e.required(`${f}.key`)
    else e.name(`${f}.key`, x.key, qualifiedName)
    const values = x.values
    if (values !== undefined && (!Array.isArray(values) || values.some((v) => !isStr(v)))) e.invalid(`${f}.values`, values, 'must be a list of strings')
    const n = Array.isArray(values) ? values.length : 0
    if (x.operator === 'In' || x.operator === 'NotIn') {
      if (n === 0) e.required(`${f}.values`, "must be specified when `operator` is 'In' or 'NotIn'")
    } else if (x.operator === 'Exists' || x.operator === 'DoesNotExist') {
      if (n > 0) e.forbidden(`${f}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
    } else e.invalid(`${f}.operator`, x.operator, `not a valid selector operator (one of ${OPERATORS.join(', ')})`)
  })
}

function positiveIntOrPercent(e: Errs, field: string, v: unknown): void {
  if (typeof v === 'string') {
    if (!isPercent(v)) e.invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")
  } else if (isInt(v)) nonNegative(e, field, v)
  else e.invalid(field, v, 'must be an integer or a percent string')
}

function validateStrategy(e: Errs, s: unknown): void {
  const f = 'spec.strategy'
  if (!isObject(s)) return e.required(f)
  if (s.type === 'Recreate') {
    if (s.rollingUpdate !== undefined && s.rollingUpdate !== null) e.forbidden(`${f}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'")
    return
  }
  if (s.type !== 'RollingUpdate') return e.notSupported(`${f}.type`, s.type, STRATEGY_TYPES)
  const ru = s.rollingUpdate
  if (!isObject(ru)) return e.required(`${f}.rollingUpdate`, 'this should be defaulted and never be nil')
  positiveIntOrPercent(e, `${f}.rollingUpdate.maxUnavailable`, ru.maxUnavailable)
  positiveIntOrPercent(e, `${f}.rollingUpdate.maxSurge`, ru.maxSurge)
  if (rawValue(ru.maxUnavailable) === 0 && rawValue(ru.maxSurge) === 0) e.invalid(`${f}.rollingUpdate.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0')
  if (isPercent(ru.maxUnavailable) && rawValue(ru.maxUnavailable)! > 100) e.invalid(`${f}.rollingUpdate.maxUnavailable`, ru.maxUnavailable, 'must not be greater than 100%')
}

/** The template as a Pod, validated by the Pod rules; each error's field moved under spec.template. */
function validateTemplate(e: Errs, template: unknown, selector: unknown): void {
  const f = 'spec.template'
  if (!isObject(template)) return e.required(f)
  const md = isObject(template.metadata) ? template.metadata : {}
  const labels = isObject(md.labels) ? (md.labels as Record<string, string>) : undefined
  if (isObject(selector) && !isEmptySelector(selector) && !selects(selector, labels)) e.invalid(`${f}.metadata.labels`, md.labels, '`selector` does not match template `labels`')
  stringMap(e, `${f}.metadata.labels`, md.labels, true)
  stringMap(e, `${f}.metadata.annotations`, md.annotations, false)
  const pod = new Errs()
  validatePod({ metadata: { ...md }, spec: template.spec as Record<string, unknown> | undefined }, pod)
  for (const err of pod.list) e.list.push({ ...err, field: err.field.startsWith('metadata') || err.field.startsWith('spec') ? `${f}.${err.field}` : err.field } as FieldError)
  const spec = isObject(template.spec) ? template.spec : {}
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') e.notSupported(`${f}.spec.restartPolicy`, spec.restartPolicy, ['Always'])
  if (spec.activeDeadlineSeconds !== undefined) e.forbidden(`${f}.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in ReplicaSet is not Supported')
}

function validateReplicas(e: Errs, v: unknown): void {
  nonNegative(e, 'spec.replicas', v)
  if (isInt(v) && v > MAX_REPLICAS) e.invalid('spec.replicas', v, `must be no more than ${MAX_REPLICAS} (pontoon api bounds the Pods one controller makes)`)
}

function validateSelectorAndTemplate(e: Errs, spec: Record<string, unknown>): void {
  const sel = spec.selector
  const before = e.list.length
  if (sel === undefined || sel === null) e.required('spec.selector')
  else {
    validateLabelSelector(e, 'spec.selector', sel)
    if (isObject(sel) && isEmptySelector(sel)) e.invalid('spec.selector', sel, 'empty selector is invalid for deployment')
  }
  // A selector that is itself wrong is not compared with the labels (kube-apiserver cannot build it either).
  validateTemplate(e, spec.template, e.list.length === before ? sel : undefined)
}

export function validateReplicaSet(obj: KObject, e: Errs): void {
  const spec = obj.spec
  if (!isObject(spec)) return e.required('spec')
  validateReplicas(e, spec.replicas)
  nonNegative(e, 'spec.minReadySeconds', spec.minReadySeconds)
  validateSelectorAndTemplate(e, spec)
}

export function validateDeployment(obj: KObject, e: Errs): void {
  const spec = obj.spec
  if (!isObject(spec)) return e.required('spec')
  validateReplicas(e, spec.replicas)
  nonNegative(e, 'spec.minReadySeconds', spec.minReadySeconds)
  nonNegative(e, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit)
  nonNegative(e, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds)
  if (isInt(spec.progressDeadlineSeconds) && spec.progressDeadlineSeconds <= (isInt(spec.minReadySeconds) ? spec.minReadySeconds : 0))
    e.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds')
  if (spec.paused !== undefined && typeof spec.paused !== 'boolean') e.invalid('spec.paused', spec.paused, 'must be a boolean')
  validateStrategy(e, spec.strategy)
  validateSelectorAndTemplate(e, spec)
}

/** apps/v1 selectors are immutable. */
export function validateSelectorUpdate(obj: KObject, old: KObject, e: Errs): void {
  if (canonical(obj.spec?.selector) !== canonical(old.spec?.selector)) e.invalid('spec.selector', obj.spec?.selector, 'field is immutable')
}

