// ClusterIP and nodePort bookkeeping for Services on create, update and delete.
// Each call either takes everything it needs or, on failure, gives back what
// it took and returns the field errors: nothing half-allocated is left behind.
import type { FieldError } from '../errors.ts'
import { isObject, type KObject } from '../types.ts'
import { IpAllocator } from './ip-allocator.ts'
import { PortAllocator } from './port-allocator.ts'

type Port = Record<string, unknown>

const needsNodePorts = (svc: KObject) => svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer'
const hasClusterIP = (svc: KObject) => svc.spec?.type !== 'ExternalName' && svc.spec?.clusterIP !== 'None'
const portsOf = (svc: KObject): Port[] => (Array.isArray(svc.spec?.ports) ? (svc.spec.ports as unknown[]).filter(isObject) : [])
const portKey = (p: Port) => `${p.port}/${p.protocol ?? 'TCP'}`

export class ServiceAllocations {
  constructor(
    readonly ips: IpAllocator,
    readonly ports: PortAllocator,
  ) {}

  /** Mark what a stored Service holds (at start). */
  restore(svc: KObject): void {
    const ip = svc.spec?.clusterIP
    if (typeof ip === 'string' && hasClusterIP(svc) && ip) this.ips.allocate(ip)
    for (const p of portsOf(svc)) if (typeof p.nodePort === 'number') this.ports.allocate(p.nodePort)
  }

  create(svc: KObject): FieldError[] {
    return this.assign(svc, undefined)
  }

  update(svc: KObject, old: KObject): FieldError[] {
    return this.assign(svc, old)
  }

  delete(old: KObject): void {
    const ip = old.spec?.clusterIP
    if (typeof ip === 'string' && hasClusterIP(old) && ip) this.ips.release(ip)
    for (const p of portsOf(old)) if (typeof p.nodePort === 'number') this.ports.release(p.nodePort)
  }

  private assign(svc: KObject, old: KObject | undefined): FieldError[] {
    const spec = svc.spec as Record<string, unknown>
    const errs: FieldError[] = []
    const takenIps: string[] = []
    const takenPorts: number[] = []
    const oldIP = old && hasClusterIP(old) && typeof old.spec?.clusterIP === 'string' ? old.spec.clusterIP : ''
    const oldNodePorts = new Map<string, number>()
    if (old) for (const p of portsOf(old)) if (typeof p.nodePort === 'number') oldNodePorts.set(portKey(p), p.nodePort)
    const oldPortSet = new Set(oldNodePorts.values())

    // clusterIP
    if (!hasClusterIP(svc)) {
      if (spec.type === 'ExternalName') {
        delete spec.clusterIP
        delete spec.clusterIPs
      } else spec.clusterIPs = ['None']
    } else {
      const want = typeof spec.clusterIP === 'string' ? spec.clusterIP : ''
      if (want && want === oldIP) {
        // unchanged
      } else if (want) {
        const why = this.ips.allocate(want)
        if (why) errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIP', value: want, detail: why })
        else takenIps.push(want)
      } else {
        const ip = this.ips.next()
        if (!ip) errs.push({ type: 'FieldValueInvalid', field: 'spec.clusterIP', value: '', detail: `failed to allocate a serviceIP: range ${this.ips.range.cidr} is full` })
        else {
          takenIps.push(ip)
          spec.clusterIP = ip
        }
      }
      if (typeof spec.clusterIP === 'string' && spec.clusterIP) {
        spec.clusterIPs = [spec.clusterIP]
        spec.ipFamilies = [this.ips.range.family]
        spec.ipFamilyPolicy ??= 'SingleStack'
      }
    }

    // nodePorts
    const kept = new Set<number>()
    if (needsNodePorts(svc)) {
      portsOf(svc).forEach((p, i) => {
        const given = typeof p.nodePort === 'number' && p.nodePort !== 0 ? p.nodePort : undefined
        if (given !== undefined && oldPortSet.has(given)) {
          kept.add(given)
          return
        }
        if (given !== undefined) {
          if (takenPorts.includes(given)) return // the same nodePort for another protocol of the same Service
          const why = this.ports.allocate(given)
          if (why) errs.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, value: given, detail: why })
          else takenPorts.push(given)
          return
        }
        const reuse = oldNodePorts.get(portKey(p))
        if (reuse !== undefined && !kept.has(reuse)) {
          kept.add(reuse)
          p.nodePort = reuse
          return
        }
        const np = this.ports.next()
        if (np === undefined) errs.push({ type: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, value: 0, detail: 'failed to allocate a nodePort: range is full' })
        else {
          takenPorts.push(np)
          p.nodePort = np
        }
      })
    } else for (const p of portsOf(svc)) delete p.nodePort

    if (errs.length) {
      for (const ip of takenIps) this.ips.release(ip)
      for (const p of takenPorts) this.ports.release(p)
      return errs
    }
    // what the old object held and the new one does not is given back
    if (oldIP && oldIP !== spec.clusterIP) this.ips.release(oldIP)
    for (const p of oldPortSet) if (!kept.has(p)) this.ports.release(p)
    return []
  }
}
