// Pure: a container's argv and environment, as kubelet builds them: the lab's
// base (PATH with the pontoon launcher first, HOSTNAME, POD_NAME, POD_NAMESPACE,
// POD_IP), then the Service variables, then the container's own env (values with
// $(VAR) references expanded, valueFrom.fieldRef resolved), which wins over both.
// command and args get the same $(VAR) expansion. There are no images here: a
// container without a command cannot run, and says so.
import type { EnvPair } from './service-env.ts'

export class ContainerConfigError extends Error {
  constructor(readonly code: 'ENOCOMMAND' | 'EENV_SOURCE' | 'EFIELD_PATH', readonly reason: 'CreateContainerError' | 'CreateContainerConfigError', message: string) {
    super(message)
    this.name = 'ContainerConfigError'
  }
}

export interface PodFacts {
  name: string
  namespace: string
  uid: string
  nodeName: string
  serviceAccountName?: string
  labels: Record<string, string>
  annotations: Record<string, string>
  podIP: string
  podIPs: string[]
  hostIP: string
}

export interface ContainerSpecLike {
  name: string
  command?: unknown
  args?: unknown
  env?: unknown
}

export interface LaunchSpec {
  argv: string[]
  env: Record<string, string>
}

export const NO_COMMAND_MESSAGE = 'the lab runs no images; give the container a command'
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/**
 * Kubernetes' $(VAR) expansion: a defined name is replaced, an unknown one is
 * left as written, "$$" is a literal "$" (so "$$(X)" stays "$(X)").
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = ''
  for (let i = 0; i < input.length; i++) {
    const c = input[i]
    if (c !== '$' || i + 1 >= input.length) {
      out += c
      continue
    }
    const next = input[i + 1]
    if (next === '$') {
      out += '$'
      i++
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2)
      if (close < 0) {
        out += input.slice(i)
        break
      }
      const name = input.slice(i + 2, close)
      const v = name ? lookup(name) : undefined
      out += v ?? `$(${name})`
      i = close
    } else {
      out += c
    }
  }
  return out
}

const LABEL_PATH = /^metadata\.(labels|annotations)\['([^']*)'\]$/

/** The fieldRef paths kubelet supports for env (the downward API). */
export function fieldValue(pod: PodFacts, path: string): string {
  switch (path) {
    case 'metadata.name': return pod.name
    case 'metadata.namespace': return pod.namespace
    case 'metadata.uid': return pod.uid
    case 'spec.nodeName': return pod.nodeName
    case 'spec.serviceAccountName': return pod.serviceAccountName ?? 'default'
    case 'status.podIP': return pod.podIP
    case 'status.podIPs': return pod.podIPs.join(',')
    case 'status.hostIP': return pod.hostIP
  }
  const m = LABEL_PATH.exec(path)
  if (m) return (m[1] === 'labels' ? pod.labels : pod.annotations)[m[2]!] ?? ''
  throw new ContainerConfigError('EFIELD_PATH', 'CreateContainerConfigError', `fieldRef ${JSON.stringify(path)} is not supported`)
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ContainerConfigError('ENOCOMMAND', 'CreateContainerError', `${what} must be a list of strings`)
  return v as string[]
}

function envValue(pod: PodFacts, e: Record<string, unknown>, lookup: (n: string) => string | undefined): string {
  const from = e.valueFrom as Record<string, unknown> | undefined
  if (from && typeof from === 'object') {
    const ref = from.fieldRef as { fieldPath?: unknown } | undefined
    if (ref && typeof ref.fieldPath === 'string') return fieldValue(pod, ref.fieldPath)
    const kind = Object.keys(from)[0] ?? 'valueFrom'
    throw new ContainerConfigError('EENV_SOURCE', 'CreateContainerConfigError', `env ${String(e.name)}: ${kind} is not supported by the lab kubelet (only fieldRef)`)
  }
  return typeof e.value === 'string' ? expand(e.value, lookup) : ''
}

/** Everything a container process is started with; throws ContainerConfigError with the waiting reason. */
export function launchSpec(pod: PodFacts, c: ContainerSpecLike, services: readonly EnvPair[], launcherDir: string): LaunchSpec {
  const command = stringList(c.command, 'command')
  const args = stringList(c.args, 'args')
  if (command.length === 0) throw new ContainerConfigError('ENOCOMMAND', 'CreateContainerError', NO_COMMAND_MESSAGE)
  const env: Record<string, string> = {
    PATH: launcherDir ? `${launcherDir}:${SYSTEM_PATH}` : SYSTEM_PATH,
    HOSTNAME: pod.name,
    POD_NAME: pod.name,
    POD_NAMESPACE: pod.namespace,
    POD_IP: pod.podIP,
  }
  // kubelet: $(VAR) in env sees the container's earlier vars, then the Service vars
  const own = new Map<string, string>()
  const svc = new Map(services.map((s) => [s.name, s.value]))
  const lookup = (n: string) => own.get(n) ?? svc.get(n)
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (typeof e !== 'object' || e === null || typeof (e as { name?: unknown }).name !== 'string') continue
    const rec = e as Record<string, unknown>
    own.set(rec.name as string, envValue(pod, rec, lookup))
  }
  for (const s of services) env[s.name] = s.value
  for (const [k, v] of own) env[k] = v
  const finalLookup = (n: string) => own.get(n) ?? svc.get(n)
  return { argv: [...command, ...args].map((a) => expand(a, finalLookup)), env }
}
