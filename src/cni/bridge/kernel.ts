// The thin kernel side of the bridge plugin: make the node and pod namespaces
// hold what an AttachmentPlan says, pushing each change's inverse on the undo stack.
import { contains, tryParseCidr } from '../../net/address.ts'
import { Rtnl, type Link } from '../../netlink/index.ts'
import { readSysctl, writeSysctl } from '../../netns/index.ts'
import { CniError, ErrCode } from '../errors.ts'
import type { Undo } from '../undo.ts'
import type { AttachmentPlan } from './plan.ts'

export async function ensureBridge(host: Rtnl, plan: AttachmentPlan['bridge']): Promise<Link> {
  const existing = await host.linkByName(plan.name)
  if (existing && existing.kind !== 'bridge') {
    throw new CniError(ErrCode.InvalidConfig, `bridge: ${JSON.stringify(plan.name)} exists and is a ${existing.kind ?? 'non-bridge'} device, not a bridge`)
  }
  let br = existing
  if (!br) {
    br = await host.addBridge(plan.name, plan.mtu !== undefined ? { mtu: plan.mtu } : {})
    // Pinned at creation: an unpinned bridge takes the lowest MAC among its ports,
    // so it changes as pods come and go and every pod's ARP entry for the gateway goes stale.
    await host.setMac(br.index, br.mac)
  }
  if (!br.up) await host.setUp(br.index)
  if (plan.promisc) await host.setPromisc(br.index, true)
  return br
}

/** An address the kernel holds in a form we never write (e.g. IPv4-mapped) is in no subnet of ours. */
function sameSubnet(a: string, b: string): boolean {
  const ac = tryParseCidr(a, { hostBits: 'keep' })
  const bc = tryParseCidr(b, { hostBits: 'keep' })
  return !!ac && !!bc && contains(ac, bc.addr)
}

/** Give the bridge its gateway addresses; a different address in the same subnet is an error unless forceAddress. */
export async function ensureGateways(host: Rtnl, br: Link, plan: AttachmentPlan['bridge']): Promise<void> {
  if (plan.gateways.length === 0) return
  const have = await host.addrs(br.index)
  for (const gw of plan.gateways) {
    if (have.some((a) => a.cidr === gw)) continue
    const clash = have.filter((a) => sameSubnet(a.cidr, gw))
    for (const old of clash) {
      if (!plan.forceAddress) {
        throw new CniError(ErrCode.InvalidConfig, `bridge: ${plan.name} already has ${old.cidr} in the gateway's subnet; set forceAddress to replace it with ${gw}`)
      }
      await host.delAddr(br.index, old.cidr)
    }
    await host.addAddr(br.index, gw, { noDad: true })
  }
}

export function ensureForwarding(plan: AttachmentPlan['ipForward']): void {
  if (plan.v4 && readSysctl(undefined, 'net/ipv4/ip_forward').trim() !== '1') writeSysctl(undefined, 'net/ipv4/ip_forward', '1')
  if (plan.v6 && readSysctl(undefined, 'net/ipv6/conf/all/forwarding').trim() !== '1') writeSysctl(undefined, 'net/ipv6/conf/all/forwarding', '1')
}

/** Create the veth with its pod end directly in the pod netns, and wire both ends. */
export async function plumbVeth(host: Rtnl, pod: Rtnl, podNsFd: number, br: Link, plan: AttachmentPlan, undo: Undo): Promise<{ hostLink: Link; podLink: Link }> {
  if (await pod.linkByName(plan.pod.ifName)) {
    throw new CniError(ErrCode.InterfaceExists, `CNI_IFNAME: ${plan.pod.ifName} already exists in ${plan.pod.netns}`)
  }
  // A host end with our name and our alias is debris of a killed ADD for this very
  // attachment; with any other alias it is someone else's, and stays.
  const stale = await host.linkByName(plan.hostVeth.name)
  if (stale) {
    if (stale.alias !== plan.hostVeth.alias) {
      throw new CniError(ErrCode.InterfaceExists, `host veth ${plan.hostVeth.name} exists and is not this attachment's (alias ${JSON.stringify(stale.alias ?? '')}, expected ${JSON.stringify(plan.hostVeth.alias)}); not deleting it`)
    }
    await host.deleteLink(stale.index)
  }
  const opts: { peerNsFd: number; mtu?: number } = { peerNsFd: podNsFd }
  if (plan.pod.mtu !== undefined) opts.mtu = plan.pod.mtu
  await host.addVeth(plan.hostVeth.name, plan.pod.ifName, opts)
  undo.push(`delete veth ${plan.hostVeth.name}`, () => host.deleteLink(plan.hostVeth.name))

  const hostLink = await host.linkByName(plan.hostVeth.name)
  const podLink = await pod.linkByName(plan.pod.ifName)
  if (!hostLink || !podLink) throw new CniError(ErrCode.Netlink, `veth ${plan.hostVeth.name}/${plan.pod.ifName} vanished right after creation`)
  // The kernel ignores IFLA_IFALIAS on RTM_NEWLINK create, hence two more requests.
  await host.setAlias(hostLink.index, plan.hostVeth.alias)
  await pod.setAlias(podLink.index, plan.hostVeth.alias)
  await host.setMaster(hostLink.index, br.index)
  if (plan.hostVeth.hairpin) await host.setHairpin(hostLink.index, true)
  await host.setUp(hostLink.index)
  return { hostLink, podLink }
}

export async function configurePod(pod: Rtnl, podLink: Link, plan: AttachmentPlan['pod']): Promise<void> {
  if (plan.addrs.some((a) => a.includes(':'))) {
    writeSysctl(plan.netns, `net/ipv6/conf/${plan.ifName}/disable_ipv6`, '0')
  }
  // A gratuitous ARP when the link comes up or its address changes, so neighbours
  // holding an earlier owner's entry for a reused IP learn the new MAC at once.
  writeSysctl(plan.netns, `net/ipv4/conf/${plan.ifName}/arp_notify`, '1')
  for (const a of plan.addrs) await pod.addAddr(podLink.index, a, { noDad: true })
  await pod.setUp(podLink.index)
  const lo = await pod.linkByName('lo')
  if (lo && !lo.up) await pod.setUp(lo.index)
  for (const r of plan.routes) {
    const route: { dst: string; gw?: string; index: number; metric?: number } = { dst: r.dst, index: podLink.index }
    if (r.gw) route.gw = r.gw
    if (r.priority !== undefined) route.metric = r.priority
    await pod.addRoute(route)
  }
}
