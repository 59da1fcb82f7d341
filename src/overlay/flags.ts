// The overlay's agent flags, checked before anything starts: a typo exits 2 with
// the flag's name instead of a half-started agent.
import { AddressError, formatCidr, formatIp, parseCidr, parseIp } from '../net/address.ts'
import type { OverlayMode } from './plan.ts'
import type { IfaceFlag, UnderlayFlags } from './underlay.ts'

export class OverlayFlagError extends Error {
  readonly code = 'BAD_OVERLAY_FLAG'
}

export const OVERLAY_MODES = ['vxlan', 'host-gw', 'none'] as const

export function parseOverlayMode(s: string): OverlayMode | 'none' {
  if ((OVERLAY_MODES as readonly string[]).includes(s)) return s as OverlayMode | 'none'
  throw new OverlayFlagError(`--overlay: "${s}" is not one of ${OVERLAY_MODES.join(', ')}`)
}

const MAX_PATTERN = 256

/** --iface NAME, or --iface /REGEX/ (matched against interface names). */
export function parseIface(s: string): IfaceFlag {
  if (s.length >= 2 && s.startsWith('/') && s.endsWith('/')) {
    const source = s.slice(1, -1)
    if (source.length === 0 || source.length > MAX_PATTERN) throw new OverlayFlagError(`--iface ${s}: a pattern of 1..${MAX_PATTERN} characters is needed between the slashes`)
    try {
      return { pattern: new RegExp(source) }
    } catch (e) {
      throw new OverlayFlagError(`--iface ${s}: not a regular expression: ${(e as Error).message}`, { cause: e })
    }
  }
  // The kernel's dev_valid_name().
  if (s.length === 0 || Buffer.byteLength(s) > 15 || s === '.' || s === '..' || /[/:\s]/.test(s)) {
    throw new OverlayFlagError(`--iface "${s}": not an interface name (1-15 bytes, no / : or spaces) nor a /pattern/`)
  }
  return { name: s }
}

export interface RawUnderlayFlags {
  iface?: string | undefined
  ifaceCidr?: string | undefined
  publicIP?: string | undefined
}

export function parseUnderlayFlags(raw: RawUnderlayFlags): UnderlayFlags {
  const out: UnderlayFlags = {}
  if (raw.iface !== undefined && raw.ifaceCidr !== undefined) throw new OverlayFlagError('--iface and --iface-cidr: give one of them')
  if (raw.iface !== undefined) out.iface = parseIface(raw.iface)
  if (raw.ifaceCidr !== undefined) out.ifaceCidr = formatCidr(address('--iface-cidr', () => parseCidr(raw.ifaceCidr)))
  if (raw.publicIP !== undefined) out.publicIP = formatIp(address('--public-ip', () => parseIp(raw.publicIP)))
  return out
}

function address<T>(flag: string, parse: () => T): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof AddressError) throw new OverlayFlagError(`${flag} ${JSON.stringify(e.input)}: ${e.reason}`, { cause: e })
    throw e
  }
}
