// EndpointSlice and legacy Endpoints validation.
import { isObject, type KObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dns1123Label, dns1123Subdomain } from './names.ts'
import { portNumber, protocol } from './ports.ts'
import { ipField } from './addresses.ts'
import { AddressError, parseIp } from '../../net/address.ts'

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN']

/** An EndpointSlice address of the slice's addressType; why not, or undefined when it is. */
function notOfFamily(v: unknown, family: 'IPv4' | 'IPv6'): string | undefined {
  try {
    return parseIp(v).family === (family === 'IPv4' ? 4 : 6) ? undefined : `must be a valid ${family} address`
  } catch (err) {
    if (!(err instanceof AddressError)) throw err
    return `must be a valid ${family} address: ${err.reason}`
  }
}

export function validateEndpointSlice(obj: KObject, e: Errs): void {
  const at = obj.addressType
  if (at === undefined) e.required('addressType')
  else if (!ADDRESS_TYPES.includes(at as string)) e.notSupported('addressType', at, ADDRESS_TYPES)
  const eps = obj.endpoints ?? []
  if (!Array.isArray(eps)) return e.invalid('endpoints', eps, 'must be a list')
  if (eps.length > 1000) e.tooMany('endpoints', 'must have at most 1000 items')
  eps.forEach((ep: unknown, i: number) => {
    const f = `endpoints[${i}]`
    if (!isObject(ep)) return e.invalid(f, ep, 'must be an object')
    const addrs = ep.addresses
    if (!Array.isArray(addrs) || addrs.length === 0) return e.required(`${f}.addresses`, 'must contain at least 1 address')
    if (addrs.length > 100) e.tooMany(`${f}.addresses`, 'must have at most 100 items')
    addrs.forEach((a: unknown, j: number) => {
      const af = `${f}.addresses[${j}]`
      if (at === 'FQDN') isStr(a) ? e.name(af, a, dns1123Subdomain) : e.invalid(af, a, 'must be a string')
      else if (at === 'IPv4' || at === 'IPv6') {
        const why = notOfFamily(a, at)
        if (why) e.invalid(af, a, why)
      }
    })
    if (ep.conditions !== undefined && !isObject(ep.conditions)) e.invalid(`${f}.conditions`, ep.conditions, 'must be an object')
    if (ep.nodeName !== undefined && (!isStr(ep.nodeName) || ep.nodeName === '')) e.invalid(`${f}.nodeName`, ep.nodeName, 'must be a valid node name')
  })
  const ports = obj.ports ?? []
  if (!Array.isArray(ports)) return e.invalid('ports', ports, 'must be a list')
  if (ports.length > 100) e.tooMany('ports', 'must have at most 100 items')
  const names = new Set<string>()
  ports.forEach((p: unknown, i: number) => {
    const f = `ports[${i}]`
    if (!isObject(p)) return e.invalid(f, p, 'must be an object')
    if (p.port !== undefined && p.port !== null) portNumber(e, `${f}.port`, p.port, true)
    protocol(e, `${f}.protocol`, p.protocol)
    const name = p.name ?? ''
    if (!isStr(name)) e.invalid(`${f}.name`, name, 'must be a string')
    else {
      if (name) e.name(`${f}.name`, name, dns1123Label)
      if (names.has(name)) e.duplicate(`${f}.name`, name)
      names.add(name)
    }
  })
}

export function validateEndpoints(obj: KObject, e: Errs): void {
  const subsets = obj.subsets ?? []
  if (!Array.isArray(subsets)) return e.invalid('subsets', subsets, 'must be a list')
  subsets.forEach((s: unknown, i: number) => {
    const f = `subsets[${i}]`
    if (!isObject(s)) return e.invalid(f, s, 'must be an object')
    for (const key of ['addresses', 'notReadyAddresses'] as const) {
      const list = s[key] ?? []
      if (!Array.isArray(list)) { e.invalid(`${f}.${key}`, list, 'must be a list'); continue }
      list.forEach((a: unknown, j: number) => {
        const ip = isObject(a) ? a.ip : undefined
        ipField(e, `${f}.${key}[${j}].ip`, ip)
      })
    }
    const ports = s.ports ?? []
    if (!Array.isArray(ports)) return e.invalid(`${f}.ports`, ports, 'must be a list')
    ports.forEach((p: unknown, j: number) => {
      if (!isObject(p)) return e.invalid(`${f}.ports[${j}]`, p, 'must be an object')
      portNumber(e, `${f}.ports[${j}].port`, p.port)
      protocol(e, `${f}.ports[${j}].protocol`, p.protocol)
    })
  })
}
