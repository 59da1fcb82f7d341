// Pod validation: the parts a dataplane relies on (names, container ports, IPs).
import { isObject, type KObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dns1123Label, ianaSvcName } from './names.ts'
import { portNumber, protocol } from './ports.ts'
import { stringMap } from './meta.ts'
import { dualStack, ipField, ipList } from './addresses.ts'

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']

export function validatePod(obj: KObject, e: Errs): void {
  const spec = obj.spec
  if (!isObject(spec)) return e.required('spec')
  const containers = spec.containers
  if (!Array.isArray(containers) || containers.length === 0) e.required('spec.containers')
  const names = new Set<string>()
  ;(Array.isArray(containers) ? containers : []).forEach((c: unknown, i: number) => {
    const f = `spec.containers[${i}]`
    if (!isObject(c)) return e.invalid(f, c, 'must be an object')
    if (!isStr(c.name) || !c.name) e.required(`${f}.name`)
    else {
      e.name(`${f}.name`, c.name, dns1123Label)
      if (names.has(c.name)) e.duplicate(`${f}.name`, c.name)
      names.add(c.name)
    }
    if (!isStr(c.image) || !c.image.trim()) e.required(`${f}.image`)
    if (c.ports !== undefined && !Array.isArray(c.ports)) e.invalid(`${f}.ports`, c.ports, 'must be a list')
    ;(Array.isArray(c.ports) ? c.ports : []).forEach((p: unknown, j: number) => {
      const pf = `${f}.ports[${j}]`
      if (!isObject(p)) return e.invalid(pf, p, 'must be an object')
      portNumber(e, `${pf}.containerPort`, p.containerPort)
      protocol(e, `${pf}.protocol`, p.protocol)
      if (p.name !== undefined) isStr(p.name) ? e.name(`${pf}.name`, p.name, ianaSvcName) : e.invalid(`${pf}.name`, p.name, 'must be a string')
    })
  })
  if (spec.nodeName !== undefined && (!isStr(spec.nodeName) || (spec.nodeName && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.nodeName))))
    e.invalid('spec.nodeName', spec.nodeName, 'must be a valid node name')
  if (spec.nodeSelector !== undefined) stringMap(e, 'spec.nodeSelector', spec.nodeSelector, true)

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
