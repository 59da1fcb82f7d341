// Pod validation: the spec (shared with pod templates) and the status fields a
// dataplane relies on (phase, IPs).
import { isObject, type KObject } from '../types.ts'
import type { Errs } from './errs.ts'
import { dualStack, ipField, ipList } from './addresses.ts'
import { validatePodSpec } from './pod-spec.ts'

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']

export function validatePod(obj: KObject, e: Errs): void {
  validatePodSpec(obj.spec, 'spec', e)
  const st = obj.status
  if (st === undefined) return
  if (!isObject(st)) return e.invalid('status', st, 'must be an object')
  if (st.phase !== undefined && !PHASES.includes(st.phase as string)) e.notSupported('status.phase', st.phase, PHASES)
  for (const key of ['podIP', 'hostIP'] as const) {
    if (st[key] !== undefined && st[key] !== '') ipField(e, `status.${key}`, st[key])
    const list = st[`${key}s`]
    const fams = ipList(e, `status.${key}s`, list, (p) => (isObject(p) ? p.ip : undefined), '.ip')
    if (Array.isArray(list)) dualStack(e, `status.${key}s`, fams, list.length)
  }
  if (st.conditions !== undefined && !Array.isArray(st.conditions)) e.invalid('status.conditions', st.conditions, 'must be a list')
}
