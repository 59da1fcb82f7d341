// Pure: the ADD result from the plan, the links as created, and any prevResult.
import type { CniResult } from '../types.ts'
import type { AttachmentPlan } from './plan.ts'

export function buildResult(
  plan: AttachmentPlan,
  macs: { bridge: string; host: string; pod: string },
  ipam: CniResult,
  dns: CniResult['dns'] | undefined,
  prev?: CniResult,
): CniResult {
  const base = prev?.interfaces?.length ?? 0
  const result: CniResult = {
    cniVersion: '1.1.0',
    interfaces: [
      ...(prev?.interfaces ?? []),
      { name: plan.bridge.name, mac: macs.bridge },
      { name: plan.hostVeth.name, mac: macs.host },
      { name: plan.pod.ifName, mac: macs.pod, sandbox: plan.pod.netns },
    ],
    ips: [
      ...(prev?.ips ?? []),
      ...(ipam.ips ?? []).map((ip) => ({ ...ip, interface: base + 2 })),
    ],
    routes: [...(prev?.routes ?? []), ...plan.pod.routes],
  }
  if (plan.pod.mtu !== undefined) result.interfaces![base + 2]!.mtu = plan.pod.mtu
  const d = dns && Object.keys(dns).length ? dns : ipam.dns ?? prev?.dns
  if (d && Object.keys(d).length) result.dns = d
  return result
}
