// The outcome of normalising one API object. Only "ok" objects enter the cache;
// "ignored" ones are treated as absent (kube-proxy skips them too); "malformed"
// ones are logged with the precise reason and the event is skipped.
import type { z } from 'zod'
import { fieldPath as sharedFieldPath } from '../schema/issue.ts'

export type Normalized<T> =
  | { kind: 'ok'; key: string; value: T }
  | { kind: 'ignored'; key: string; reason: string }
  | { kind: 'malformed'; key: string | null; reason: string }

export const ok = <T>(key: string, value: T): Normalized<T> => ({ kind: 'ok', key, value })
export const ignored = <T>(key: string, reason: string): Normalized<T> => ({ kind: 'ignored', key, reason })
export const malformed = <T>(key: string | null, reason: string): Normalized<T> => ({ kind: 'malformed', key, reason })

/** "spec.ports[0].port: expected number, received string" — the field first, as kube-apiserver does. */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0]
  if (!issue) return 'invalid object'
  return `${fieldPath(issue.path)}: ${issue.message}`
}

export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return sharedFieldPath('', path, '(object)')
}

/** A reason found after schema parsing, tied to the field it is about. */
export class FieldProblem extends Error {
  readonly code = 'MALFORMED_FIELD'
  constructor(readonly field: string, msg: string) {
    super(`${field}: ${msg}`)
    this.name = 'FieldProblem'
  }
}
