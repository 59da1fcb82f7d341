// Which CNI versions we speak, and how they compare.
import { CniError, ErrCode } from './errors.ts'

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const
export const LATEST_VERSION = '1.1.0'

function parts(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v)
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined
}

/** -1, 0 or 1, as a < b, a == b, a > b. Both must be well-formed. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a), pb = parts(b)
  if (!pa || !pb) throw new CniError(ErrCode.IncompatibleVersion, `malformed version ${JSON.stringify(pa ? b : a)}`)
  for (let i = 0; i < 3; i++) {
    if (pa[i]! !== pb[i]!) return pa[i]! < pb[i]! ? -1 : 1
  }
  return 0
}

export function atLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0
}

/** The config's cniVersion must be one we speak. */
export function checkSupported(v: unknown, field = 'cniVersion'): string {
  if (typeof v !== 'string' || v === '') {
    throw new CniError(ErrCode.InvalidConfig, `${field}: missing; expected one of ${SUPPORTED_VERSIONS.join(', ')}`)
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new CniError(ErrCode.IncompatibleVersion, `${field}: version ${JSON.stringify(v)} is not supported; this plugin speaks ${SUPPORTED_VERSIONS.join(', ')}`)
  }
  return v
}
