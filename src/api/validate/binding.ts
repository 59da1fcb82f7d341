// A core/v1 Binding, as kube-apiserver's ValidatePodBinding, plus the target's
// name rule (a node name), so a bound Pod always names a valid node.
import { isObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dns1123Subdomain } from './names.ts'

export function validateBinding(body: Record<string, unknown>, e: Errs): void {
  const target = body.target
  if (!isObject(target)) return e.required('target.name')
  if (target.kind !== undefined && target.kind !== '' && target.kind !== 'Node') e.notSupported('target.kind', target.kind, ['Node', '<empty>'])
  if (!isStr(target.name) || target.name === '') e.required('target.name')
  else e.name('target.name', target.name, dns1123Subdomain)
}
