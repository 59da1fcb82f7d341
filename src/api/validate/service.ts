// Service validation, after kube-apiserver's ValidateService. Allocation of
// clusterIP and nodePort (range and uniqueness) is done by alloc/, which
// reports its failures through the same 422.
import { isObject, type KObject } from '../types.ts'
import { Errs, isInt, isStr } from './errs.ts'
import { dns1123Label, dns1123Subdomain } from './names.ts'
import { intOrName, portNumber, protocol } from './ports.ts'
import { stringMap } from './meta.ts'
import { dualStack, ipField, ipList, subnetField } from './addresses.ts'

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const

export function validateService(obj: KObject, e: Errs): void {
  const spec = obj.spec
  if (!isObject(spec)) return e.required('spec')
  const type = spec.type ?? 'ClusterIP'
  if (!SERVICE_TYPES.includes(type as (typeof SERVICE_TYPES)[number])) e.notSupported('spec.type', type, SERVICE_TYPES)
  const clusterIP = spec.clusterIP
  const headless = clusterIP === 'None'

  if (clusterIP !== undefined && clusterIP !== '' && !headless) ipField(e, 'spec.clusterIP', clusterIP)
  if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 && isStr(clusterIP) && spec.clusterIPs[0] !== clusterIP)
    e.invalid('spec.clusterIPs', spec.clusterIPs, 'element [0] must match clusterIP')
  if (spec.clusterIPs !== undefined && !(headless && Array.isArray(spec.clusterIPs) && spec.clusterIPs.length === 1 && spec.clusterIPs[0] === 'None')) {
    const fams = ipList(e, 'spec.clusterIPs', spec.clusterIPs)
    if (Array.isArray(spec.clusterIPs)) dualStack(e, 'spec.clusterIPs', fams, spec.clusterIPs.length)
  }

  if (type === 'ExternalName') {
    if (!isStr(spec.externalName) || !spec.externalName) e.required('spec.externalName')
    else e.name('spec.externalName', spec.externalName.replace(/\.$/, ''), dns1123Subdomain)
    if (isStr(clusterIP) && clusterIP !== '') e.forbidden('spec.clusterIP', 'may not be set for ExternalName services')
  }
  if (headless && type !== 'ClusterIP') e.invalid('spec.clusterIP', clusterIP, 'may not be set to \'None\' for LoadBalancer or NodePort services')

  const ports = spec.ports
  if (ports !== undefined && !Array.isArray(ports)) e.invalid('spec.ports', ports, 'must be a list')
  const list = Array.isArray(ports) ? ports : []
  if (list.length === 0 && !headless && type !== 'ExternalName') e.required('spec.ports')
  const names = new Set<string>()
  const keys = new Set<string>()
  list.forEach((p: unknown, i: number) => {
    const f = `spec.ports[${i}]`
    if (!isObject(p)) return e.invalid(f, p, 'must be an object')
    if (list.length > 1 || p.name !== undefined) {
      if (!isStr(p.name) || p.name === '') {
        if (list.length > 1) e.required(`${f}.name`)
      } else {
        e.name(`${f}.name`, p.name, dns1123Label)
        if (names.has(p.name)) e.duplicate(`${f}.name`, p.name)
        names.add(p.name)
      }
    }
    portNumber(e, `${f}.port`, p.port)
    protocol(e, `${f}.protocol`, p.protocol)
    if (p.targetPort !== undefined) intOrName(e, `${f}.targetPort`, p.targetPort)
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (!isInt(p.nodePort)) e.invalid(`${f}.nodePort`, p.nodePort, 'must be an integer')
      else if (type !== 'NodePort' && type !== 'LoadBalancer') e.forbidden(`${f}.nodePort`, 'may not be used when `type` is \'ClusterIP\'')
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`
    if (keys.has(key)) e.duplicate(f, { port: p.port, protocol: p.protocol ?? 'TCP' })
    keys.add(key)
  })

  if (spec.selector !== undefined) stringMap(e, 'spec.selector', spec.selector, true)
  if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None' && spec.sessionAffinity !== 'ClientIP')
    e.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None'])
  for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy'] as const) {
    const v = spec[f]
    if (v === undefined) continue
    if (v !== 'Cluster' && v !== 'Local') e.notSupported(`spec.${f}`, v, ['Cluster', 'Local'])
    else if (f === 'externalTrafficPolicy' && type !== 'NodePort' && type !== 'LoadBalancer')
      e.invalid(`spec.${f}`, v, 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\'')
  }
  ipList(e, 'spec.externalIPs', spec.externalIPs)
  if (spec.loadBalancerIP !== undefined && spec.loadBalancerIP !== '') ipField(e, 'spec.loadBalancerIP', spec.loadBalancerIP)
  const ranges = spec.loadBalancerSourceRanges
  if (ranges !== undefined) {
    if (!Array.isArray(ranges)) e.invalid('spec.loadBalancerSourceRanges', ranges, 'must be a list')
    // kube-apiserver trims each range before it checks it; the agent does the same.
    else ranges.forEach((r: unknown, i: number) => subnetField(e, `spec.loadBalancerSourceRanges[${i}]`, isStr(r) ? r.trim() : r))
  }
  const ingress = isObject(obj.status) && isObject(obj.status.loadBalancer) ? obj.status.loadBalancer.ingress : undefined
  if (ingress !== undefined) {
    if (!Array.isArray(ingress)) e.invalid('status.loadBalancer.ingress', ingress, 'must be a list')
    else ingress.forEach((g: unknown, i: number) => {
      const ip = isObject(g) ? g.ip : undefined
      if (ip !== undefined && ip !== '') ipField(e, `status.loadBalancer.ingress[${i}].ip`, ip)
    })
  }
}

/** What may not change on update. */
export function validateServiceUpdate(obj: KObject, old: KObject, e: Errs): void {
  const oldIP = old.spec?.clusterIP
  const newIP = obj.spec?.clusterIP
  const wasExternal = old.spec?.type === 'ExternalName'
  const isExternal = obj.spec?.type === 'ExternalName'
  if (!wasExternal && !isExternal && isStr(oldIP) && oldIP !== '' && newIP !== oldIP) e.invalid('spec.clusterIP', newIP, 'field is immutable')
}
