// The proxy's own agent flags that need more than yargs' types: checked before
// anything starts, so a typo exits 2 with the flag's name instead of a half-started agent.
import { parseCidr } from '../net/address.ts'

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
