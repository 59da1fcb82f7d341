// What a proxy mode needs from the kernel, checked before `lab up` builds anything: IPVS
// mode needs ip_vs (its generic netlink family), which some kernels lack (this machine's
// among them). Asking for the family changes nothing; modprobe loads it where it exists.
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
