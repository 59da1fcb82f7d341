// The overlay's planner, pure: (Nodes, own node, mode, underlay facts) -> the
// kernel state this node should have. flannel's vxlan layout: one device whose
// address is the node's pod subnet network address (/32, /128), and per remote
// node a permanent neighbour (its subnet address -> its VTEP MAC), an FDB entry
// (that MAC -> its public IP) and an onlink route (its subnet via that address).
// host-gw: a plain route to each remote subnet via the remote's address on the
// shared segment. Families are not special-cased: every podCIDR goes through the
// same steps, whichever family it is.
import type { Node } from '../cluster/model.ts'
import { contains, formatIp, networkOf, parseCidr, parseIp, type Cidr, type Family } from '../net/address.ts'
import { SubnetClaims } from './subnet-claims.ts'

export type OverlayMode = 'vxlan' | 'host-gw'

export const VXLAN_VNI = 1
export const VXLAN_PORT = 8472
/** the outer IPv4 + UDP + VXLAN + inner Ethernet headers; IPv6 outer headers are 20 bytes longer */
export const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const

export const ANNOTATION_BACKEND = 'pontoon.io/backend-type'
export const ANNOTATION_PUBLIC_IP = 'pontoon.io/public-ip'
export const ANNOTATION_VTEP_MAC = 'pontoon.io/vtep-mac'

/** What underlay selection found on this node (see underlay.ts). */
export interface UnderlayFacts {
  /** the interface's own address: the tunnel's source */
  localIP: string
  /** what remote nodes send to (the annotation); differs from localIP behind NAT */
  publicIP: string
  /** the interface address with its prefix, e.g. 172.18.0.11/24: host-gw reaches only this segment */
  subnet: string
  mtu: number
}

export interface OverlayInput {
  mode: OverlayMode
  nodeName: string
  nodes: Iterable<Node>
  underlay: UnderlayFacts
  /** this node's VTEP MAC (vxlan only) */
  vtepMac?: string
}

export interface DevicePlan {
  vni: number
  port: number
  mtu: number
  mac: string
  local: string
  /** the device's own addresses, e.g. 10.244.1.0/32 */
  addresses: string[]
}

export interface NeighEntry { ip: string; mac: string }
export interface FdbEntry { mac: string; dst: string }
/** dev: the overlay device (vxlan) or the underlay interface (host-gw) */
export interface RouteEntry { dst: string; gw: string; dev: 'overlay' | 'underlay'; onlink: boolean }

export interface RemotePlan {
  node: string
  neighs: NeighEntry[]
  fdb: FdbEntry[]
  routes: RouteEntry[]
}

export interface OverlayPlan {
  mode: OverlayMode
  /** null in host-gw mode */
  device: DevicePlan | null
  /** by node name, in name order */
  remotes: Map<string, RemotePlan>
  /** remote nodes left out, and why (logged once per reason by the consumer) */
  skipped: Array<{ node: string; reason: string }>
}

export type PlanResult = { kind: 'waiting'; reason: string } | { kind: 'ready'; plan: OverlayPlan }

export class OverlayPlanError extends Error {
  readonly code = 'EOVERLAY_PLAN'
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/

/** A unicast MAC as the annotation carries it (lower case); anything else is no MAC. */
export function isUnicastMac(s: unknown): s is string {
  return typeof s === 'string' && MAC_RE.test(s) && (parseInt(s.slice(0, 2), 16) & 1) === 0 && s !== '00:00:00:00:00:00'
}

/** The subnet's network address: the address a node's VTEP holds, and the onlink gateway others use for it. */
function subnetAddress(c: Cidr): string {
  return formatIp(networkOf(c))
}

/** Where remote nodes are reached: pontoon.io/public-ip, else their first InternalIP, of the underlay's family. */
export function remoteAddress(node: Node, family: Family): string | undefined {
  const annotated = parseIpOrUndefined(node.annotations[ANNOTATION_PUBLIC_IP])
  if (annotated) return annotated.family === family ? formatIp(annotated) : undefined
  for (const ip of node.internalIPs) {
    const a = parseIpOrUndefined(ip)
    if (a?.family === family) return formatIp(a)
  }
  return undefined
}

function parseIpOrUndefined(s: string | undefined) {
  if (s === undefined) return undefined
  try { return parseIp(s) } catch { return undefined }
}

export function planOverlay(i: OverlayInput): PlanResult {
  const all = [...i.nodes] // once: the caller may hand a one-shot iterator
  const self = all.find((n) => n.name === i.nodeName)
  if (!self) return { kind: 'waiting', reason: `node ${i.nodeName} is not in the API yet` }
  if (self.podCIDRs.length === 0) return { kind: 'waiting', reason: `node ${i.nodeName} has no podCIDR yet` }
  const local = parseIp(i.underlay.localIP)
  const publicIP = parseIp(i.underlay.publicIP)
  const segment = parseCidr(i.underlay.subnet, { hostBits: 'keep' })
  if (local.family !== publicIP.family || segment.addr.family !== local.family) {
    throw new OverlayPlanError(`underlay addresses of two families: local ${i.underlay.localIP}, public ${i.underlay.publicIP}, subnet ${i.underlay.subnet}`)
  }
  const family = local.family
  const ownCIDRs = self.podCIDRs.map((c) => parseCidr(c))

  let device: DevicePlan | null = null
  if (i.mode === 'vxlan') {
    if (!isUnicastMac(i.vtepMac)) throw new OverlayPlanError(`vxlan needs this node's VTEP MAC, got ${JSON.stringify(i.vtepMac)}`)
    const mtu = i.underlay.mtu - VXLAN_OVERHEAD[family]
    if (mtu < 68) throw new OverlayPlanError(`underlay MTU ${i.underlay.mtu} leaves ${mtu} for the overlay, below 68`)
    device = {
      vni: VXLAN_VNI,
      port: VXLAN_PORT,
      mtu,
      mac: i.vtepMac,
      local: formatIp(local),
      addresses: ownCIDRs.map((c) => `${subnetAddress(c)}/${c.addr.family === 4 ? 32 : 128}`),
    }
  }

  // Claimed subnets and MACs: a second node claiming one gets no entries (the
  // kernel holds one route per subnet and one FDB destination per MAC).
  const taken = new SubnetClaims()
  if (!taken.claim(ownCIDRs)) throw new OverlayPlanError(`this node's podCIDRs ${self.podCIDRs.join(', ')} overlap each other`)
  const macs = new Set<string>(device ? [device.mac] : [])
  const remotes = new Map<string, RemotePlan>()
  const skipped: OverlayPlan['skipped'] = []
  const nodes = all.filter((n) => n.name !== i.nodeName).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const node of nodes) {
    const skip = (reason: string) => { skipped.push({ node: node.name, reason }) }
    if (node.podCIDRs.length === 0) { skip('no podCIDR yet'); continue }
    const addr = remoteAddress(node, family)
    if (!addr) { skip(`no IPv${family} address to reach it (pontoon.io/public-ip or an InternalIP)`); continue }
    if (addr === formatIp(publicIP) || addr === formatIp(local)) { skip(`its address ${addr} is this node's`); continue }
    const cidrs = node.podCIDRs.map((c) => parseCidr(c))
    let remote: RemotePlan
    if (i.mode === 'vxlan') {
      const mac = node.annotations[ANNOTATION_VTEP_MAC]
      if (!isUnicastMac(mac)) { skip(mac === undefined ? 'no pontoon.io/vtep-mac yet' : `pontoon.io/vtep-mac ${JSON.stringify(mac)} is not a unicast MAC`); continue }
      if (macs.has(mac)) { skip(`VTEP MAC ${mac} is already another node's`); continue }
      remote = {
        node: node.name,
        neighs: cidrs.map((c) => ({ ip: subnetAddress(c), mac })),
        fdb: [{ mac, dst: addr }],
        routes: cidrs.map((c) => ({ dst: `${subnetAddress(c)}/${c.prefix}`, gw: subnetAddress(c), dev: 'overlay' as const, onlink: true })),
      }
    } else {
      if (!contains(segment, parseIp(addr))) { skip(`its address ${addr} is not on this node's segment ${i.underlay.subnet} (host-gw needs one L2 segment)`); continue }
      const foreign = cidrs.find((c) => c.addr.family !== family)
      if (foreign) { skip(`host-gw routes only IPv${family} podCIDRs over an IPv${family} underlay`); continue }
      remote = { node: node.name, neighs: [], fdb: [], routes: cidrs.map((c) => ({ dst: `${subnetAddress(c)}/${c.prefix}`, gw: addr, dev: 'underlay' as const, onlink: false })) }
    }
    if (!taken.claim(cidrs)) { skip(`a podCIDR of ${node.podCIDRs.join(', ')} overlaps a subnet already routed (this node's or a node named before it)`); continue }
    for (const f of remote.fdb) macs.add(f.mac)
    remotes.set(node.name, remote)
  }
  return { kind: 'ready', plan: { mode: i.mode, device, remotes, skipped } }
}

