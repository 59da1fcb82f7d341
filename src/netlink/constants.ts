// The rtnetlink numbers we use, from <linux/netlink.h>, <linux/rtnetlink.h>,
// <linux/if_link.h>, <linux/if_addr.h>, <linux/neighbour.h>. Kernel ABI: these never change.

export const NETLINK_ROUTE = 0
export const NETLINK_NETFILTER = 12
export const NETLINK_GENERIC = 16

export const NLMSG_ERROR = 2
export const NLMSG_DONE = 3

export const NLM_F_REQUEST = 0x1
export const NLM_F_MULTI = 0x2
export const NLM_F_ACK = 0x4
export const NLM_F_ECHO = 0x8
/** set on a dump's messages when the table changed while it was being dumped */
export const NLM_F_DUMP_INTR = 0x10
export const NLM_F_DUMP = 0x300
export const NLM_F_REPLACE = 0x100
export const NLM_F_EXCL = 0x200
export const NLM_F_CREATE = 0x400
export const NLM_F_APPEND = 0x800

export const RTM_NEWLINK = 16
export const RTM_DELLINK = 17
export const RTM_GETLINK = 18
export const RTM_SETLINK = 19
export const RTM_NEWADDR = 20
export const RTM_DELADDR = 21
export const RTM_GETADDR = 22
export const RTM_NEWROUTE = 24
export const RTM_DELROUTE = 25
export const RTM_GETROUTE = 26
export const RTM_NEWNEIGH = 28
export const RTM_DELNEIGH = 29
export const RTM_GETNEIGH = 30

export const AF_UNSPEC = 0
export const AF_INET = 2
export const AF_BRIDGE = 7
export const AF_INET6 = 10

export const IFF_UP = 0x1
export const IFF_PROMISC = 0x100

export const IFLA_ADDRESS = 1
export const IFLA_IFNAME = 3
export const IFLA_MTU = 4
export const IFLA_LINK = 5
export const IFLA_MASTER = 10
export const IFLA_PROTINFO = 12
export const IFLA_LINKINFO = 18
export const IFLA_IFALIAS = 20
export const IFLA_NET_NS_FD = 28
export const IFLA_LINK_NETNSID = 37

export const IFLA_INFO_KIND = 1
export const IFLA_INFO_DATA = 2
export const VETH_INFO_PEER = 1
export const IFLA_BRPORT_MODE = 4 // hairpin

export const IFLA_VXLAN_ID = 1
export const IFLA_VXLAN_LINK = 3
export const IFLA_VXLAN_LOCAL = 4
export const IFLA_VXLAN_LEARNING = 7
export const IFLA_VXLAN_PORT = 15
export const IFLA_VXLAN_LOCAL6 = 17

export const IFA_ADDRESS = 1
export const IFA_LOCAL = 2
export const IFA_FLAGS = 8
export const IFA_F_NODAD = 0x02

export const RTA_DST = 1
export const RTA_OIF = 4
export const RTA_GATEWAY = 5
export const RTA_PRIORITY = 6
export const RTA_TABLE = 15
export const RTN_UNICAST = 1
export const RTNH_F_ONLINK = 0x4
export const RTM_F_CLONED = 0x200
export const RT_TABLE_MAIN = 254
export const RT_SCOPE_UNIVERSE = 0
export const RT_SCOPE_LINK = 253
export const RT_SCOPE_NOWHERE = 255
export const RTPROT_BOOT = 3

export const NDA_DST = 1
export const NDA_LLADDR = 2
export const NDA_MASTER = 9
export const NUD_PERMANENT = 0x80
export const NUD_NOARP = 0x40
export const NTF_SELF = 0x02
