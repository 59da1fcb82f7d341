// What every patch type shares to stay within plain data: reads see only own
// properties (so "constructor" or "toString" in a patch are field names like
// any other, never Object's methods), and a "__proto__" key is refused, since
// assigning it would swap an object's prototype instead of storing a field.
import { ApiError } from '../errors.ts'

export const PROTO_KEY = '__proto__'

export const patchRefused = (message: string) => new ApiError('EPATCHKEY', 422, 'Invalid', message)

/** `o[k]` when `o` itself holds `k`; undefined for inherited names. */
export function own(o: Record<string, unknown>, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined
}

/** Throws when `k` is "__proto__"; `where` names the patch type for the message. */
export function refuseProtoKey(k: string, where: string): void {
  if (k === PROTO_KEY) throw patchRefused(`${where}: the key "${PROTO_KEY}" is not allowed`)
}
