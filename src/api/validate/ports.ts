// Port numbers, protocols and named ports, shared by Services, Pods and slices.
import { Errs, isInt, isStr } from './errs.ts'
import { ianaSvcName } from './names.ts'

export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const

export function portNumber(e: Errs, field: string, v: unknown, allowZero = false): void {
  if (!isInt(v) || v < (allowZero ? 0 : 1) || v > 65535) e.invalid(field, v, `must be between ${allowZero ? 0 : 1} and 65535, inclusive`)
}

export function protocol(e: Errs, field: string, v: unknown): void {
  if (v === undefined) return
  if (!PROTOCOLS.includes(v as (typeof PROTOCOLS)[number])) e.notSupported(field, v, PROTOCOLS)
}

/** A port given as a number or an IANA name (targetPort, containerPort names). */
export function intOrName(e: Errs, field: string, v: unknown): void {
  if (isStr(v)) {
    if (/^\d+$/.test(v)) return portNumber(e, field, Number(v))
    return e.name(field, v, ianaSvcName)
  }
  portNumber(e, field, v)
}
