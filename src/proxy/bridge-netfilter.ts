// Whether bridged traffic in this namespace passes through netfilter. A pod's reply
// to a pod on the same bridge is switched, not routed: unless br_netfilter hands it
// to conntrack, a ClusterIP connection DNATed to a same-node pod is never un-NATed
// and the client sees a stranger answer. kube-proxy warns about the same thing; the
// agent warns rather than loads the module, because loading it changes how every
// bridge on the host is filtered.
import { readFileSync } from 'node:fs'

const SYSCTL = '/proc/sys/net/bridge/bridge-nf-call-iptables'

/** why Services may break between pods on one bridge, or undefined when they will not */
export function bridgeNetfilterProblem(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  let value: string
  try {
    value = read(SYSCTL).trim()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') return `cannot read ${SYSCTL}: ${(e as Error).message}`
    return 'the br_netfilter module is not loaded: traffic from a pod to a Service whose endpoint is a pod on the same bridge ' +
      'gets no answer (run modprobe br_netfilter)'
  }
  if (value === '1') return undefined
  return `${SYSCTL} is ${value}: traffic from a pod to a Service whose endpoint is a pod on the same bridge gets no answer (set it to 1)`
}
