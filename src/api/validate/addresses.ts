// IP and CIDR fields, checked by the one address module so the API refuses
// exactly what the agent would refuse. As kube-apiserver with strict IP/CIDR
// validation (KEP-4858): no leading zeros, no IPv4-mapped IPv6, no zone, and
// subnet-valued fields (podCIDRs, loadBalancerSourceRanges) without host bits.
import { AddressError, parseCidr, parseIp, type Family } from '../../net/address.ts'
import type { Errs } from './errs.ts'

function check(e: Errs, field: string, value: unknown, parse: () => { family: Family }): Family | undefined {
  try {
    return parse().family
  } catch (err) {
    if (!(err instanceof AddressError)) throw err
    e.invalid(field, value, err.reason)
    return undefined
  }
}

/** An IP-valued field; its family when valid. */
export function ipField(e: Errs, field: string, value: unknown): Family | undefined {
  return check(e, field, value, () => parseIp(value))
}

/** A subnet-valued field (no bits after the prefix); its family when valid. */
export function subnetField(e: Errs, field: string, value: unknown): Family | undefined {
  return check(e, field, value, () => parseCidr(value).addr)
}

/** A list of IPs; each element is named by its index under `field`. */
export function ipList(e: Errs, field: string, list: unknown, item: (v: unknown) => unknown = (v) => v, sub = ''): Family[] {
  if (list === undefined) return []
  if (!Array.isArray(list)) {
    e.invalid(field, list, 'must be a list')
    return []
  }
  return list.flatMap((v, i) => ipField(e, `${field}[${i}]${sub}`, item(v)) ?? [])
}

/** A dual-stack pair: at most two values, one of each family (clusterIPs, podIPs, podCIDRs, hostIPs). */
export function dualStack(e: Errs, field: string, families: Family[], count: number, what = 'IP'): void {
  if (count > 2 || (families.length === 2 && families[0] === families[1])) e.invalid(field, undefined, `may specify no more than one ${what} for each IP family`)
}
