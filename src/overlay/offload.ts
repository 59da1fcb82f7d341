// VXLAN tx checksum offload, and when it may stay on. The "63 s delay" flannel
// users met (flannel-io/flannel PR 1282, issue 2152 still on 6.x kernels): a
// VXLAN packet whose outer UDP header is then SNATed leaves with a wrong
// checksum, the receiver drops it, and TCP gets through only after its SYN
// retries. The outer packet is SNATed only when the inner packet's masquerade
// mark survives into the encapsulation (the skb keeps its mark within one
// namespace) and a masquerade rule matches it a second time. Every pontoon proxy
// mode clears the mark as it masquerades (as kube-proxy does since 1.19; the
// userspace mode sets none), and the egress rule matches pod sources only, so with
// pontoon's own proxy the condition cannot arise and offload stays on: it is most
// of the tunnel's bulk throughput (segmentation offload through the device).
// test/integration/overlay-offload.test.ts proves it on the triggering path.
// With --proxy-mode none someone else's rules decide, so it is off, as flannel
// sets it; --[no-]vxlan-tx-checksum-offload overrides either way.
//
// ethtool runs through src/sys/run.ts (an argument array, no shell), not execa:
// importing execa costs the agent's cold path ~100 ms before the first entry.
import type { Logger } from 'pino'
import { run } from '../sys/run.ts'

/** The flag's value when given; otherwise on exactly when pontoon's own proxy owns the masquerade rules. */
export function txOffloadWanted(flag: boolean | undefined, proxyMode: string): boolean {
  return flag ?? proxyMode !== 'none'
}

/** In the namespace at nsPath when given (an in-process caller), else in our own. */
export function setTxOffload(device: string, on: boolean, nsPath: string | undefined, log: Logger): boolean {
  const args = ['-K', device, 'tx', on ? 'on' : 'off']
  let r
  try {
    r = nsPath ? run('nsenter', [`--net=${nsPath}`, '--', 'ethtool', ...args]) : run('ethtool', args)
  } catch (e) {
    log.warn({ device, err: (e as Error).message }, `could not run ethtool: VXLAN tx checksum offload stays as it is, not ${on ? 'on' : 'off'} (install ethtool)`)
    return false
  }
  if (r.status === 0) return true
  // Not fatal: the overlay works where the bug does not bite; say why it is on.
  log.warn({ device, err: r.stderr.trim() }, `ethtool could not turn VXLAN tx checksum offload ${on ? 'on' : 'off'}`)
  return false
}
