// Probes and their handlers, as kube-apiserver's validateProbe/validateHandler:
// exactly one handler, each handler's own fields, non-negative timings.
import { isObject } from '../types.ts'
import { Errs, isInt, isStr } from './errs.ts'
import { intOrName, portNumber } from './ports.ts'
import { stringList } from './lists.ts'

export type ProbeKind = 'liveness' | 'readiness' | 'startup'

// The order kube-apiserver checks them in: the first one present wins, every later one is refused.
const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const
const TIMINGS = ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const
const SCHEMES = ['HTTP', 'HTTPS']

/** A non-negative integer field, absent allowed (defaulting fills the timings in). */
export function nonNegative(e: Errs, field: string, v: unknown): void {
  if (v === undefined) return
  if (!isInt(v)) e.invalid(field, v, 'must be an integer')
  else if (v < 0) e.invalid(field, v, 'must be greater than or equal to 0')
}

export function validateProbe(p: unknown, path: string, kind: ProbeKind, e: Errs): void {
  if (!isObject(p)) return e.invalid(path, p, 'must be an object')
  let handlers = 0
  for (const h of HANDLERS) {
    if (p[h] === undefined || p[h] === null) continue
    if (handlers > 0) {
      e.forbidden(`${path}.${h}`, 'may not specify more than 1 handler type')
      continue
    }
    handlers++
    validateHandler(h, p[h], `${path}.${h}`, e)
  }
  if (handlers === 0) e.required(path, 'must specify a handler type')
  for (const f of TIMINGS) nonNegative(e, `${path}.${f}`, p[f])
  if (kind !== 'readiness' && p.successThreshold !== undefined && p.successThreshold !== 1 && isInt(p.successThreshold) && p.successThreshold >= 0)
    e.invalid(`${path}.successThreshold`, p.successThreshold, 'must be 1')
  const tg = p.terminationGracePeriodSeconds
  if (tg !== undefined && tg !== null) {
    if (kind === 'readiness') e.invalid(`${path}.terminationGracePeriodSeconds`, tg, 'must not be set for readinessProbes')
    else if (!isInt(tg) || tg <= 0) e.invalid(`${path}.terminationGracePeriodSeconds`, tg, 'must be greater than 0')
  }
}

function validateHandler(h: (typeof HANDLERS)[number], v: unknown, path: string, e: Errs): void {
  if (!isObject(v)) return e.invalid(path, v, 'must be an object')
  switch (h) {
    case 'exec':
      if (!Array.isArray(v.command) || v.command.length === 0) {
        if (v.command !== undefined && !Array.isArray(v.command)) e.invalid(`${path}.command`, v.command, 'must be a list of strings')
        else e.required(`${path}.command`)
      } else stringList(e, `${path}.command`, v.command)
      return
    case 'httpGet':
      if (v.path !== undefined && (!isStr(v.path) || v.path === '')) e.required(`${path}.path`)
      intOrName(e, `${path}.port`, v.port)
      if (v.scheme !== undefined && !SCHEMES.includes(v.scheme as string)) e.notSupported(`${path}.scheme`, v.scheme, SCHEMES)
      if (v.host !== undefined && !isStr(v.host)) e.invalid(`${path}.host`, v.host, 'must be a string')
      return
    case 'tcpSocket':
      intOrName(e, `${path}.port`, v.port)
      if (v.host !== undefined && !isStr(v.host)) e.invalid(`${path}.host`, v.host, 'must be a string')
      return
    case 'grpc':
      portNumber(e, `${path}.port`, v.port)
      if (v.service !== undefined && v.service !== null && !isStr(v.service)) e.invalid(`${path}.service`, v.service, 'must be a string')
      return
  }
}
