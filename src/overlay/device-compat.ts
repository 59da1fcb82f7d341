// Pure: can the vxlan device already on the node be kept? flannel's
// isVXLANCompatible, with the answer spelled out: what it has that cannot be
// changed in place (the device is recreated), and what can (set in place).
import type { Link } from '../netlink/index.ts'
import type { DevicePlan } from './plan.ts'

export type DeviceVerdict =
  | { action: 'create' }
  | { action: 'recreate'; reasons: string[] }
  | { action: 'adopt'; setMtu?: number; setMac?: string; setUp: boolean }

export function judgeDevice(have: Link | undefined, want: DevicePlan, underlayIndex: number): DeviceVerdict {
  if (!have) return { action: 'create' }
  if (have.kind !== 'vxlan' || !have.vxlan) return { action: 'recreate', reasons: [`it is ${have.kind ? `a ${have.kind} device` : 'not a vxlan device'}`] }
  const v = have.vxlan
  const reasons: string[] = []
  if (v.vni !== want.vni) reasons.push(`VNI ${v.vni}, want ${want.vni}`)
  if (v.port !== want.port) reasons.push(`port ${v.port}, want ${want.port}`)
  if (v.learning) reasons.push('learning on, want off')
  if (v.local !== want.local) reasons.push(`local ${v.local ?? 'unset'}, want ${want.local}`)
  if (v.linkIndex !== underlayIndex) reasons.push(`underlay device #${v.linkIndex ?? 'unset'}, want #${underlayIndex}`)
  if (reasons.length > 0) return { action: 'recreate', reasons }
  const out: DeviceVerdict = { action: 'adopt', setUp: !have.up }
  if (have.mtu !== want.mtu) out.setMtu = want.mtu
  if (have.mac !== want.mac) out.setMac = want.mac
  return out
}
