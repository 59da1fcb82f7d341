// The shapes callers see. Nothing of node-netlink leaks through these.

export interface VxlanInfo { vni: number; port: number; learning: boolean; local?: string; linkIndex?: number }

export interface Link {
  index: number
  name: string
  /** IFLA_INFO_KIND: 'bridge', 'veth', 'vxlan', 'dummy'...; absent for plain devices such as lo */
  kind?: string
  mac: string
  mtu: number
  /** IFLA_IFALIAS: free text up to 255 bytes; pontoon records a link's owner here */
  alias?: string
  up: boolean
  /** promiscuous mode set by a user (IFF_PROMISC as the kernel reports it) */
  promisc: boolean
  masterIndex?: number
  /** IFLA_LINK: a veth's peer index, a vxlan's lower device */
  linkIndex?: number
  /** set when linkIndex lives in another namespace (the id is this namespace's name for it) */
  linkNetnsId?: number
  /** for a bridge port: hairpin mode (IFLA_BRPORT_MODE) */
  hairpin?: boolean
  vxlan?: VxlanInfo
}

export interface Addr {
  index: number
  /** address with its prefix length, e.g. 10.244.1.1/24 */
  cidr: string
  family: 4 | 6
  /** IPv6 duplicate address detection has not finished */
  tentative: boolean
}

export interface Route {
  /** CIDR; '0.0.0.0/0' or '::/0' for default */
  dst: string
  gw?: string
  /** output interface */
  index?: number
  /** default: main (254) */
  table?: number
  /** default on add: link without a gateway, universe with one */
  scope?: number
  /** default on add: boot (3), like `ip route add` */
  protocol?: number
  metric?: number
  onlink?: boolean
}

export interface Neigh {
  index: number
  ip: string
  mac?: string
  state: number
  permanent: boolean
}

export interface FdbEntry {
  index: number
  mac: string
  /** remote VTEP address for a vxlan FDB entry */
  dst?: string
  permanent: boolean
  /** bridge the entry belongs to, when it is on a bridge port */
  masterIndex?: number
  /** entry lives in the device itself (NTF_SELF), as vxlan remote entries do */
  self: boolean
}

export interface VxlanOptions {
  vni: number
  /** UDP destination port; default 8472 (the Linux/flannel port) */
  port?: number
  /** source address for the outer header */
  local?: string
  /** underlay device index */
  dev?: number
  /** default false: the overlay programs FDB entries itself */
  learning?: boolean
  mtu?: number
  mac?: string
}
