// The proxy's own agent flags that need more than yargs' types: checked before
// anything starts, so a typo exits 2 with the flag's name instead of a half-started agent.
import { parseCidr } from '../net/address.ts'
import { SCHEDULERS, type IpvsScheduler } from './ipvs/desired.ts'

export class ProxyFlagError extends Error {
  readonly code = 'BAD_PROXY_FLAG'
}

/** --cluster-cidr: comma-separated subnets, at most one list per family, host bits refused. */
export function parseClusterCIDRs(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return []
  return text.split(',').map((part, i) => {
    try {
      parseCidr(part.trim())
      return part.trim()
    } catch (e) {
      throw new ProxyFlagError(`--cluster-cidr: item ${i + 1} "${part}": ${(e as Error).message}`, { cause: e })
    }
  })
}

export interface IpvsFlags {
  scheduler: IpvsScheduler
  strictARP: boolean
  /** seconds; 0 leaves the kernel's value */
  timeouts: { tcp: number; tcpFin: number; udp: number }
}

/** --ipvs-scheduler, --ipvs-strict-arp, --ipvs-tcp-timeout/--ipvs-tcpfin-timeout/--ipvs-udp-timeout (seconds, or 0 for the kernel's). */
export function parseIpvsFlags(a: { scheduler: string; strictARP: boolean; tcp: number; tcpFin: number; udp: number }): IpvsFlags {
  if (!(SCHEDULERS as readonly string[]).includes(a.scheduler)) {
    throw new ProxyFlagError(`--ipvs-scheduler: "${a.scheduler}" is not one of ${SCHEDULERS.join(', ')}`)
  }
  const secs = (flag: string, v: number) => {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ProxyFlagError(`--${flag}: ${v} is not a whole number of seconds >= 0`)
    return v
  }
  return {
    scheduler: a.scheduler as IpvsScheduler,
    strictARP: a.strictARP,
    timeouts: { tcp: secs('ipvs-tcp-timeout', a.tcp), tcpFin: secs('ipvs-tcpfin-timeout', a.tcpFin), udp: secs('ipvs-udp-timeout', a.udp) },
  }
}
