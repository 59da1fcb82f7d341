// One container of a pod spec, as kube-apiserver's validateContainers: name,
// image, command and args, env, ports and probes.
import { isObject } from '../types.ts'
import { Errs, isStr } from './errs.ts'
import { dns1123Label, ianaSvcName, qualifiedName } from './names.ts'
import { portNumber, protocol } from './ports.ts'
import { stringList } from './lists.ts'
import { validateProbe } from './probe.ts'

export interface ContainerContext {
  /** an init container: probes are refused */
  init: boolean
  /** part of a pod template rather than a Pod (kube-apiserver lets a template's image keep blanks around it) */
  template: boolean
  /** container names seen so far in this pod (init and regular share one namespace) */
  names: Set<string>
  /** hostIP/protocol/hostPort keys seen so far in this pod */
  hostPorts: Set<string>
}

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never']
const MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError']
const PROBES = [['livenessProbe', 'liveness'], ['readinessProbe', 'readiness'], ['startupProbe', 'startup']] as const
const VALUE_SOURCES = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'] as const
const FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs']
// RelaxedEnvironmentVariableValidation is on by default since 1.32: any printable ASCII but '='.
const ENV_NAME = /^[ -<>-~]+$/

export function validateContainer(c: unknown, path: string, e: Errs, ctx: ContainerContext): void {
  if (!isObject(c)) return e.invalid(path, c, 'must be an object')
  if (!isStr(c.name) || !c.name) e.required(`${path}.name`)
  else {
    e.name(`${path}.name`, c.name, dns1123Label)
    if (ctx.names.has(c.name)) e.duplicate(`${path}.name`, c.name)
    ctx.names.add(c.name)
  }
  if (c.image !== undefined && !isStr(c.image)) e.invalid(`${path}.image`, c.image, 'must be a string')
  else if (!isStr(c.image) || c.image === '') e.required(`${path}.image`)
  else if (!ctx.template && c.image !== c.image.trim()) e.invalid(`${path}.image`, c.image, 'must not have leading or trailing whitespace')
  stringList(e, `${path}.command`, c.command)
  stringList(e, `${path}.args`, c.args)
  if (c.workingDir !== undefined && !isStr(c.workingDir)) e.invalid(`${path}.workingDir`, c.workingDir, 'must be a string')
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy as string)) e.notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES)
  if (c.terminationMessagePolicy !== undefined && !MESSAGE_POLICIES.includes(c.terminationMessagePolicy as string))
    e.notSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, MESSAGE_POLICIES)
  validateEnv(c.env, `${path}.env`, e)
  validatePorts(c.ports, `${path}.ports`, e, ctx.hostPorts)
  for (const [field, kind] of PROBES) {
    const p = c[field]
    if (p === undefined || p === null) continue
    if (ctx.init) e.forbidden(`${path}.${field}`, 'may not be set for init containers')
    else validateProbe(p, `${path}.${field}`, kind, e)
  }
}

function validatePorts(ports: unknown, path: string, e: Errs, hostPorts: Set<string>): void {
  if (ports === undefined || ports === null) return
  if (!Array.isArray(ports)) return e.invalid(path, ports, 'must be a list')
  const names = new Set<string>()
  ports.forEach((p: unknown, j: number) => {
    const f = `${path}[${j}]`
    if (!isObject(p)) return e.invalid(f, p, 'must be an object')
    if (p.containerPort === undefined || p.containerPort === 0) e.required(`${f}.containerPort`)
    else portNumber(e, `${f}.containerPort`, p.containerPort)
    if (p.hostPort !== undefined && p.hostPort !== 0) portNumber(e, `${f}.hostPort`, p.hostPort)
    if (p.protocol === '') e.required(`${f}.protocol`)
    else protocol(e, `${f}.protocol`, p.protocol)
    if (p.name !== undefined && p.name !== '') {
      if (!isStr(p.name)) e.invalid(`${f}.name`, p.name, 'must be a string')
      else {
        e.name(`${f}.name`, p.name, ianaSvcName)
        if (names.has(p.name)) e.duplicate(`${f}.name`, p.name)
        names.add(p.name)
      }
    }
    // A host port is a node-wide resource: one owner per address and protocol in the pod.
    if (typeof p.hostPort === 'number' && p.hostPort > 0) {
      const key = `${isStr(p.hostIP) ? p.hostIP : ''}/${isStr(p.protocol) ? p.protocol : 'TCP'}/${p.hostPort}`
      if (hostPorts.has(key)) e.duplicate(`${f}.hostPort`, key)
      hostPorts.add(key)
    }
  })
}

function validateEnv(env: unknown, path: string, e: Errs): void {
  if (env === undefined || env === null) return
  if (!Array.isArray(env)) return e.invalid(path, env, 'must be a list')
  env.forEach((v: unknown, i: number) => {
    const f = `${path}[${i}]`
    if (!isObject(v)) return e.invalid(f, v, 'must be an object')
    if (!isStr(v.name) || v.name === '') e.required(`${f}.name`)
    else if (!ENV_NAME.test(v.name)) e.invalid(`${f}.name`, v.name, "a valid environment variable name must consist only of printable ASCII characters other than '='")
    if (v.value !== undefined && !isStr(v.value)) e.invalid(`${f}.value`, v.value, 'must be a string')
    if (v.valueFrom === undefined || v.valueFrom === null) return
    if (isStr(v.value) && v.value !== '') return e.invalid(`${f}.valueFrom`, '', 'may not be specified when `value` is not empty')
    validateValueFrom(v.valueFrom, `${f}.valueFrom`, e)
  })
}

function validateValueFrom(vf: unknown, path: string, e: Errs): void {
  if (!isObject(vf)) return e.invalid(path, vf, 'must be an object')
  const given = VALUE_SOURCES.filter((s) => vf[s] !== undefined && vf[s] !== null)
  if (given.length === 0) return e.invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`')
  if (given.length > 1) return e.invalid(path, '', 'may not have more than one field specified at a time')
  const src = vf[given[0]!]
  const f = `${path}.${given[0]}`
  if (!isObject(src)) return e.invalid(f, src, 'must be an object')
  switch (given[0]) {
    case 'fieldRef':
      return fieldRef(src, f, e)
    case 'resourceFieldRef':
      if (!isStr(src.resource) || !src.resource) e.required(`${f}.resource`)
      return
    default:
      if (!isStr(src.key) || !src.key) e.required(`${f}.key`)
      if (src.name !== undefined && !isStr(src.name)) e.invalid(`${f}.name`, src.name, 'must be a string')
  }
}

/** The downward API's fields an env var may name: fixed paths, or one label or annotation. */
function fieldRef(src: Record<string, unknown>, path: string, e: Errs): void {
  const fp = src.fieldPath
  if (!isStr(fp) || fp === '') return e.required(`${path}.fieldPath`)
  if (src.apiVersion !== undefined && src.apiVersion !== 'v1') e.notSupported(`${path}.apiVersion`, src.apiVersion, ['v1'])
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fp)
  if (sub) {
    for (const m of qualifiedName(sub[2]!)) e.invalid(`${path}.fieldPath`, fp, m)
    return
  }
  if (!FIELD_PATHS.includes(fp)) e.notSupported(`${path}.fieldPath`, fp, [...FIELD_PATHS, "metadata.labels['<KEY>']", "metadata.annotations['<KEY>']"])
}
