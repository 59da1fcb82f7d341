// Node validation: podCIDR(s) and addresses, which the overlay reads.
import ipaddr from 'ipaddr.js'
import { isObject, type KObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'

const ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS']

const isCidr = (v: unknown): boolean => {
  if (!isStr(v)) return false
  try {
    ipaddr.parseCIDR(v)
    return true
  } catch {
    return false
  }
}

export function validateNode(obj: KObject, e: Errs): void {
  const spec = obj.spec ?? {}
  if (!isObject(spec)) return e.invalid('spec', spec, 'must be an object')
  if (spec.podCIDR !== undefined && spec.podCIDR !== '' && !isCidr(spec.podCIDR)) e.invalid('spec.podCIDR', spec.podCIDR, 'must be a valid CIDR')
  if (spec.podCIDRs !== undefined) {
    if (!Array.isArray(spec.podCIDRs)) e.invalid('spec.podCIDRs', spec.podCIDRs, 'must be a list')
    else spec.podCIDRs.forEach((c: unknown, i: number) => { if (!isCidr(c)) e.invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR') })
  }
  const addrs = isObject(obj.status) ? obj.status.addresses : undefined
  if (addrs !== undefined) {
    if (!Array.isArray(addrs)) return e.invalid('status.addresses', addrs, 'must be a list')
    addrs.forEach((a: unknown, i: number) => {
      if (!isObject(a)) return e.invalid(`status.addresses[${i}]`, a, 'must be an object')
      if (!ADDRESS_TYPES.includes(a.type as string)) e.notSupported(`status.addresses[${i}].type`, a.type, ADDRESS_TYPES)
      if (!isStr(a.address) || !a.address) e.required(`status.addresses[${i}].address`)
      else if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && !ipaddr.isValid(a.address)) e.invalid(`status.addresses[${i}].address`, a.address, 'must be a valid IP address')
    })
  }
}
