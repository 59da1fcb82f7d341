// What a proxy mode needs from the kernel, checked before `lab up` builds anything: IPVS
// mode needs ip_vs (its generic netlink family), which some kernels lack (this machine's
// among them). Asking for the family changes nothing; modprobe loads it where it exists.
// The kernel modes need br_netfilter too (src/proxy/bridge-netfilter.ts says why).
import { existsSync, writeFileSync } from 'node:fs'
import { Ipvs, IpvsUnavailableError } from '../netlink/ipvs.ts'
import { run } from '../sys/run.ts'
import { LabUpError } from './wait.ts'

async function ipvsPresent(): Promise<boolean> {
  try {
    (await Ipvs.open(undefined, { timeoutMs: 2000 })).close()
    return true
  } catch (e) {
    if (e instanceof IpvsUnavailableError) return false
    throw e
  }
}

/** Throws ENOIPVS, pointing at --vm, when mode is ipvs and the kernel has no IPVS (also after modprobe). */
export async function requireProxyKernel(mode: string): Promise<void> {
  if (mode !== 'ipvs' || await ipvsPresent()) return
  let why: string
  try {
    const r = run('modprobe', ['ip_vs'])
    why = r.status === 0 ? 'modprobe ip_vs succeeded, yet the kernel has no IPVS family' : `modprobe ip_vs: ${r.stderr.trim().split('\n').pop()}`
  } catch (e) {
    why = (e as Error).message
  }
  if (await ipvsPresent()) return
  throw new LabUpError('ENOIPVS', `--proxy-mode ipvs needs the kernel's IPVS (ip_vs), and this kernel has none (${why}); ` +
    "run the lab inside a guest with Debian's kernel instead: pontoon lab up --vm --proxy-mode ipvs")
}

const BRIDGE_SYSCTLS = '/proc/sys/net/bridge'

/**
 * Loads br_netfilter where a kernel proxy mode needs it and it is a module not yet
 * loaded (a bare Debian 12). Loading it would start filtering the host's own bridges
 * (its switches default bridge-nf-call-* to 1 in every namespace, the host's too), so
 * the host's are set back to 0, as they behaved before; the lab's namespaces set
 * theirs to 1 (netns-build.ts). Returns what it did, for the lab's log.
 */
export function ensureBridgeNetfilter(mode: string): string | undefined {
  if (mode === 'userspace' || existsSync(BRIDGE_SYSCTLS)) return undefined
  let why: string
  try {
    const r = run('modprobe', ['br_netfilter'])
    why = r.status === 0 ? 'loaded, yet no bridge sysctls' : r.stderr.trim().split('\n').pop() || `modprobe exited ${r.status}`
  } catch (e) {
    why = (e as Error).message
  }
  if (!existsSync(BRIDGE_SYSCTLS)) {
    return `br_netfilter could not be loaded (${why}): ` +
      'a pod reaching a Service whose endpoint is on its own node will get no answer; pontoon lab up --vm runs a kernel that has it'
  }
  for (const k of ['bridge-nf-call-iptables', 'bridge-nf-call-ip6tables', 'bridge-nf-call-arptables']) {
    writeFileSync(`${BRIDGE_SYSCTLS}/${k}`, '0')
  }
  return "loaded br_netfilter for the lab's bridges; the host's own bridges keep skipping netfilter, as before"
}
