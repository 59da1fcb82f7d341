// Pure: `pontoon dns` flag values -> checked options, each error naming its flag.
import { FlagError, parseBindAddress, type BindAddress } from '../agent/bind-address.ts'
import type { Upstream } from './upstream.ts'

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/
export const MAX_TTL = 2147483647

export function parseClusterDomain(value: string): string {
  const d = value.trim().toLowerCase().replace(/\.$/, '')
  if (!DOMAIN_RE.test(d)) throw new FlagError('--cluster-domain', `"${value}" is not a DNS name`)
  return d
}

export function parseTtl(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_TTL) throw new FlagError('--ttl', `${value} is not a whole number of seconds in 0..${MAX_TTL}`)
  return value
}

/** "IP" or "IP:port" / "[IPv6]:port", port 53 by default. */
export function parseUpstreams(values: readonly string[]): Upstream[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '').map((v) => {
    const a: BindAddress = parseBindAddress('--upstream', v, 53)
    if (a.port === 0) throw new FlagError('--upstream', `"${v}": port 0`)
    return a
  })
}
