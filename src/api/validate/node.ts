// Node validation: podCIDR(s) and addresses, which the overlay reads.
import { isObject, type KObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dualStack, ipField, subnetField } from './addresses.ts'

const ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']

export function validateNode(obj: KObject, e: Errs): void {
  const spec = obj.spec ?? {}
  if (!isObject(spec)) return e.invalid('spec', spec, 'must be an object')
  if (spec.podCIDR !== undefined && spec.podCIDR !== '') subnetField(e, 'spec.podCIDR', spec.podCIDR)
  if (spec.podCIDRs !== undefined) {
    if (!Array.isArray(spec.podCIDRs)) e.invalid('spec.podCIDRs', spec.podCIDRs, 'must be a list')
    else {
      const fams = spec.podCIDRs.flatMap((c: unknown, i: number) => subnetField(e, `spec.podCIDRs[${i}]`, c) ?? [])
      dualStack(e, 'spec.podCIDRs', fams, spec.podCIDRs.length, 'CIDR')
    }
  }
  const addrs = isObject(obj.status) ? obj.status.addresses : undefined
  if (addrs !== undefined) {
    if (!Array.isArray(addrs)) return e.invalid('status.addresses', addrs, 'must be a list')
    addrs.forEach((a: unknown, i: number) => {
      if (!isObject(a)) return e.invalid(`status.addresses[${i}]`, a, 'must be an object')
      if (!ADDRESS_TYPES.includes(a.type as string)) e.notSupported(`status.addresses[${i}].type`, a.type, ADDRESS_TYPES)
      if (!isStr(a.address) || !a.address) e.required(`status.addresses[${i}].address`)
      else if (a.type === 'InternalIP' || a.type === 'ExternalIP') ipField(e, `status.addresses[${i}].address`, a.address)
    })
  }
}
