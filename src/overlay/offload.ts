// VXLAN tx checksum offload off, as flannel does since 2020 (flannel-io/flannel
// PR 1282): on some kernels a VXLAN packet that is then SNATed (the service
// proxy masquerades node -> NodePort/ClusterIP traffic with --random-fully)
// leaves with a wrong UDP checksum, the receiver drops it, and TCP gets through
// only after its SYN retries: the "63 s delay". Users still report it on 6.x
// kernels (flannel-io/flannel issue 2152, 2025), so it is not a bug that a
// kernel version rules out; the throughput bench shows what it costs.
import type { Logger } from 'pino'

export async function disableTxOffload(device: string, log: Logger): Promise<boolean> {
  const { execa } = await import('execa')
  const r = await execa('ethtool', ['-K', device, 'tx', 'off'], { reject: false, timeout: 10_000, stdin: 'ignore' })
  if (r.exitCode === 0) return true
  // Not fatal: the overlay works where the bug does not bite; say why it is on.
  log.warn({ device, err: r.stderr || r.message }, 'could not turn VXLAN tx checksum offload off (is ethtool installed?)')
  return false
}
