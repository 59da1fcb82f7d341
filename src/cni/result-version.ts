// Converts results between the shapes of CNI versions. Internally everything is
// 1.1.0-shaped; 0.3.x and 0.4.0 add a per-IP "version" field, and 1.0.0 dropped it.
import { CniError, ErrCode } from './errors.ts'
import { atLeast, checkSupported } from './version.ts'
import type { CniResult, CniIpConfig } from './types.ts'
import { AddressError, parseCidr, parseIp } from '../net/address.ts'

function ipFamily(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4'
}

/** Shape an internal result for the version the runtime asked for. */
export function resultForVersion(result: CniResult, version: string): Record<string, unknown> {
  checkSupported(version)
  const out: Record<string, unknown> = { cniVersion: version }
  if (result.interfaces) out.interfaces = result.interfaces
  const ips = result.ips ?? []
  out.ips = atLeast(version, '1.0.0') ? ips : ips.map((ip) => ({ version: ipFamily(ip.address), ...ip }))
  if (result.routes?.length) out.routes = result.routes
  if (result.dns && Object.keys(result.dns).length) out.dns = result.dns
  return out
}

/**
 * Read a result that another plugin produced (a delegated IPAM, or prevResult),
 * in whatever supported version it carries, into the internal shape.
 */
export function parseResult(raw: unknown, field = 'prevResult'): CniResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrCode.DecodeFailure, `${field}: expected a JSON object`)
  }
  const r = raw as Record<string, unknown>
  const version = typeof r.cniVersion === 'string' ? r.cniVersion : undefined
  if (version) checkSupported(version, `${field}.cniVersion`)
  const arr = (k: string): unknown[] => {
    const v = r[k]
    if (v === undefined || v === null) return []
    if (!Array.isArray(v)) throw new CniError(ErrCode.DecodeFailure, `${field}.${k}: expected an array`)
    return v
  }
  const ips: CniIpConfig[] = arr('ips').map((x, i) => {
    const ip = x as Record<string, unknown>
    if (typeof ip?.address !== 'string') throw new CniError(ErrCode.DecodeFailure, `${field}.ips[${i}].address: expected a CIDR string`)
    // Addresses go to the kernel and into nft rules: read them strictly, as everything else is read.
    checkAddress(`${field}.ips[${i}].address`, ip.address, () => parseCidr(ip.address, { hostBits: 'keep' }))
    const out: CniIpConfig = { address: ip.address }
    if (typeof ip.gateway === 'string') {
      checkAddress(`${field}.ips[${i}].gateway`, ip.gateway, () => parseIp(ip.gateway))
      out.gateway = ip.gateway
    }
    if (typeof ip.interface === 'number') out.interface = ip.interface
    return out
  })
  const result: CniResult = {
    cniVersion: version ?? '1.1.0',
    interfaces: arr('interfaces') as CniResult['interfaces'],
    ips,
    routes: arr('routes') as CniResult['routes'],
  }
  if (r.dns && typeof r.dns === 'object') result.dns = r.dns as CniResult['dns']
  return result
}

function checkAddress(field: string, value: string, parse: () => unknown): void {
  try {
    parse()
  } catch (e) {
    if (e instanceof AddressError) throw new CniError(ErrCode.DecodeFailure, `${field}: ${JSON.stringify(value)} ${e.reason}`)
    throw e
  }
}
