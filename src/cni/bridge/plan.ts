// Pure: from the config, the request and the IPAM result, decide the kernel
// state one attachment needs. No I/O; kernel.ts makes it so.
import { formatCidr, formatIp, networkOf, offset, parseCidr } from '../../net/address.ts'
import { CniError, ErrCode } from '../errors.ts'
import type { CniResult, CniRoute } from '../types.ts'
import type { BridgeConfig } from './config.ts'
import { hostVethName, masqTag, vethAlias } from './names.ts'

export interface MasqRule {
  family: 4 | 6
  /** the pod address, without prefix */
  src: string
  /** the pod's subnet: traffic to it is not masqueraded */
  exclude: string
}

export interface AttachmentPlan {
  bridge: { name: string; mtu?: number; promisc: boolean; gateways: string[]; forceAddress: boolean }
  /** alias: the owner, written on both veth ends; DEL and GC delete only links that carry it */
  hostVeth: { name: string; alias: string; hairpin: boolean }
  pod: { ifName: string; netns: string; mtu?: number; addrs: string[]; routes: CniRoute[] }
  masq?: { tag: string; rules: MasqRule[] }
  ipForward: { v4: boolean; v6: boolean }
}

function family(addr: string): 4 | 6 {
  return addr.includes(':') ? 6 : 4
}

/** The first host address of the subnet: what host-local and the reference bridge pick as gateway. */
export function defaultGateway(cidr: string): string {
  return formatIp(offset(networkOf(parseCidr(cidr, { hostBits: 'keep' })), 1n))
}

export function subnetOf(cidr: string): string {
  const c = parseCidr(cidr, { hostBits: 'keep' })
  return formatCidr({ addr: networkOf(c), prefix: c.prefix })
}

export function planAttachment(
  conf: BridgeConfig,
  req: { containerId: string; ifName: string; netns: string },
  ipam: CniResult,
): AttachmentPlan {
  const ips = ipam.ips ?? []
  if (ips.length === 0) throw new CniError(ErrCode.Delegate, `ipam (${conf.ipamType}): returned no IP addresses`)

  const gateways: string[] = []
  const routes: CniRoute[] = []
  const seen = new Set<string>()
  const addRoute = (r: CniRoute) => {
    const key = `${r.dst}|${r.gw ?? ''}`
    if (!seen.has(key)) { seen.add(key); routes.push(r) }
  }
  const gwByFamily = new Map<4 | 6, string>()
  for (const ip of ips) {
    const len = parseCidr(ip.address, { hostBits: 'keep' }).prefix
    const gw = ip.gateway ?? (conf.isGateway ? defaultGateway(ip.address) : undefined)
    if (gw && conf.isGateway) {
      gateways.push(`${gw}/${len}`)
      if (!gwByFamily.has(family(gw))) gwByFamily.set(family(gw), gw)
    } else if (gw && !gwByFamily.has(family(gw))) {
      gwByFamily.set(family(gw), gw)
    }
  }
  if (conf.isDefaultGateway) {
    for (const [fam, gw] of gwByFamily) addRoute({ dst: fam === 4 ? '0.0.0.0/0' : '::/0', gw })
  }
  for (const r of ipam.routes ?? []) {
    const gw = r.gw ?? gwByFamily.get(family(r.dst))
    if (conf.isDefaultGateway && (r.dst === '0.0.0.0/0' || r.dst === '::/0')) continue
    addRoute(gw ? { ...r, gw } : r)
  }

  const plan: AttachmentPlan = {
    bridge: { name: conf.bridge, promisc: conf.promiscMode, gateways, forceAddress: conf.forceAddress },
    hostVeth: { name: hostVethName(req.containerId, req.ifName), alias: vethAlias(req.containerId, req.ifName), hairpin: conf.hairpinMode },
    pod: { ifName: req.ifName, netns: req.netns, addrs: ips.map((i) => i.address), routes },
    ipForward: { v4: false, v6: false },
  }
  if (conf.mtu !== undefined) { plan.bridge.mtu = conf.mtu; plan.pod.mtu = conf.mtu }
  if (conf.isGateway) {
    plan.ipForward.v4 = gateways.some((g) => family(g) === 4)
    plan.ipForward.v6 = gateways.some((g) => family(g) === 6)
  }
  if (conf.ipMasq) {
    plan.masq = {
      tag: masqTag(conf.name, req.containerId, req.ifName),
      rules: ips.map((i) => ({ family: family(i.address), src: i.address.split('/')[0]!, exclude: subnetOf(i.address) })),
    }
  }
  return plan
}
