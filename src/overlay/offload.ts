// VXLAN tx checksum offload off, as flannel does since 2020 (flannel-io/flannel
// PR 1282): on some kernels a VXLAN packet that is then SNATed (the service
// proxy masquerades node -> NodePort/ClusterIP traffic with --random-fully)
// leaves with a wrong UDP checksum, the receiver drops it, and TCP gets through
// only after its SYN retries: the "63 s delay". Users still report it on 6.x
// kernels (flannel-io/flannel issue 2152, 2025), so no kernel version rules it
// out here, and off stays the default. It costs most of the overlay's bulk
// throughput (no segmentation offload through the tunnel): the throughput bench
// shows how much, and `--vxlan-tx-checksum-offload` turns it back on for
// operators whose setup never SNATs tunnel packets.
//
// ethtool runs through src/sys/run.ts (an argument array, no shell), not execa:
// importing execa costs the agent's cold path ~100 ms before the first entry.
import type { Logger } from 'pino'
import { run } from '../sys/run.ts'

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
