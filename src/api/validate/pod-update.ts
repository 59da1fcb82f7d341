// What a Pod update may change in the spec, as kube-apiserver's ValidatePodUpdate:
// container images, activeDeadlineSeconds (set or shortened, never raised or
// unset), and tolerations (added, or an existing one's tolerationSeconds).
// Anything else is refused with one Forbidden on "spec" that lists what changed.
import { isDeepStrictEqual } from 'node:util'
import { isObject, type KObject } from '../types.ts'
import { Errs, isInt } from './errs.ts'

export const UPDATABLE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)'
const MAX_LISTED = 10

type Obj = Record<string, unknown>
const clone = <T>(v: T): T => structuredClone(v)

export function validatePodUpdate(obj: KObject, old: KObject, e: Errs): void {
  const next = obj.spec
  const prev = old.spec
  if (!isObject(next) || !isObject(prev)) return
  if (!deadlineOk(next.activeDeadlineSeconds, prev.activeDeadlineSeconds, e)) return
  if (!tolerationsOk(next.tolerations, prev.tolerations, e)) return
  // Take the allowed changes back out of a copy; what is left must equal the old spec.
  const masked = clone(next)
  for (const list of ['containers', 'initContainers'] as const) {
    const a = masked[list]
    const b = prev[list]
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length)
      a.forEach((c: unknown, i: number) => {
        if (isObject(c) && isObject(b[i])) {
          if ((b[i] as Obj).image === undefined) delete c.image
          else c.image = (b[i] as Obj).image
        }
      })
  }
  for (const f of ['activeDeadlineSeconds', 'tolerations'] as const) {
    if (prev[f] === undefined) delete masked[f]
    else masked[f] = clone(prev[f])
  }
  const changed: string[] = []
  diffPaths(masked, prev, 'spec', changed)
  if (changed.length === 0) return
  const list = changed.length > MAX_LISTED ? [...changed.slice(0, MAX_LISTED), `and ${changed.length - MAX_LISTED} more`] : changed
  e.forbidden('spec', `${UPDATABLE}\n  changed: ${list.join(', ')}`)
}

/** activeDeadlineSeconds may be set or decreased, but not raised or unset. */
function deadlineOk(next: unknown, prev: unknown, e: Errs): boolean {
  const f = 'spec.activeDeadlineSeconds'
  if (next === undefined || next === null) {
    if (prev === undefined || prev === null) return true
    e.invalid(f, null, 'must not update from a positive integer to nil value')
    return false
  }
  if (isInt(next) && isInt(prev) && next > prev) {
    e.invalid(f, next, 'must be less than or equal to previous value')
    return false
  }
  return true
}

/** Every toleration the pod had must still be there; only its tolerationSeconds may differ. */
function tolerationsOk(next: unknown, prev: unknown, e: Errs): boolean {
  const olds = Array.isArray(prev) ? prev : []
  const news = Array.isArray(next) ? next : []
  const same = (a: unknown, b: unknown) => {
    if (!isObject(a) || !isObject(b)) return isDeepStrictEqual(a, b)
    const { tolerationSeconds: _a, ...ra } = a
    const { tolerationSeconds: _b, ...rb } = b
    return isDeepStrictEqual(ra, rb)
  }
  if (olds.every((o) => news.some((n) => same(o, n)))) return true
  e.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds')
  return false
}

/** The paths under which `a` and `b` differ, down to the first differing key or index. */
export function diffPaths(a: unknown, b: unknown, path: string, out: string[]): void {
  if (isDeepStrictEqual(a, b)) return
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffPaths(a[k], b[k], `${path}.${k}`, out)
    return
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((v, i) => diffPaths(v, b[i], `${path}[${i}]`, out))
    return
  }
  out.push(path)
}
