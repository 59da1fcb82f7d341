// Pure: which interface carries the overlay, and from which address. Chosen by
// name, name pattern, CIDR or address, never by a fixed name: every Vagrant VM
// has eth0 = 10.0.2.15 (the NAT), so the default is the interface holding the
// Node's InternalIP. --public-ip is what other nodes are told to send to; the
// interface's own address stays the tunnel's source.
import { contains, formatIp, parseCidr, parseIp, type Addr as IpAddr } from '../net/address.ts'
import type { Addr, Link } from '../netlink/index.ts'
import type { UnderlayFacts } from './plan.ts'

export type IfaceFlag = { name: string } | { pattern: RegExp }

export interface UnderlayFlags {
  iface?: IfaceFlag
  ifaceCidr?: string
  publicIP?: string
}

export interface Underlay extends UnderlayFacts {
  index: number
  name: string
}

export class UnderlayError extends Error {
  readonly code = 'EUNDERLAY'
}

const LINK_LOCAL6 = parseCidr('fe80::/10')

interface Candidate { link: Link; addr: Addr; ip: IpAddr }

/** Usable addresses, in interface order then kernel order: no loopback, no IPv6 link-local, not the overlay's own device. */
function candidates(links: readonly Link[], addrs: readonly Addr[], exclude: readonly string[]): Candidate[] {
  const byIndex = new Map(links.map((l) => [l.index, l]))
  const out: Candidate[] = []
  for (const a of addrs) {
    const link = byIndex.get(a.index)
    if (!link || link.name === 'lo' || exclude.includes(link.name)) continue
    const ip = parseCidr(a.cidr, { hostBits: 'keep' }).addr
    if (ip.family === 6 && contains(LINK_LOCAL6, ip)) continue
    out.push({ link, addr: a, ip })
  }
  return out.sort((x, y) => x.link.index - y.link.index)
}

function facts(c: Candidate, publicIP: string | undefined): Underlay {
  const local = formatIp(c.ip)
  if (publicIP !== undefined && parseIp(publicIP).family !== c.ip.family) {
    throw new UnderlayError(`--public-ip ${publicIP} is not of the family of the underlay address ${local} on ${c.link.name}`)
  }
  return { index: c.link.index, name: c.link.name, mtu: c.link.mtu, localIP: local, publicIP: publicIP ?? local, subnet: c.addr.cidr }
}

/** The address on one interface: the public IP's or the Node's InternalIP if it holds one, else IPv4 first. */
function pick(on: Candidate[], prefer: readonly string[]): Candidate | undefined {
  for (const p of prefer) {
    const hit = on.find((c) => formatIp(c.ip) === p)
    if (hit) return hit
  }
  return on.find((c) => c.ip.family === 4) ?? on[0]
}

export function selectUnderlay(flags: UnderlayFlags, links: readonly Link[], addrs: readonly Addr[], internalIPs: readonly string[], exclude: readonly string[] = []): Underlay {
  const all = candidates(links, addrs, exclude)
  const canon = (s: string) => { try { return formatIp(parseIp(s)) } catch { return s } }
  const prefer = [...(flags.publicIP ? [canon(flags.publicIP)] : []), ...internalIPs.map(canon)]
  if (flags.iface) {
    const f = flags.iface
    if ('name' in f) {
      if (!links.some((l) => l.name === f.name)) throw new UnderlayError(`--iface ${f.name}: no such interface`)
      const hit = pick(all.filter((c) => c.link.name === f.name), prefer)
      if (!hit) throw new UnderlayError(`--iface ${f.name}: the interface has no usable address`)
      return facts(hit, flags.publicIP)
    }
    for (const link of links.filter((l) => f.pattern.test(l.name)).sort((a, b) => a.index - b.index)) {
      const hit = pick(all.filter((c) => c.link.index === link.index), prefer)
      if (hit) return facts(hit, flags.publicIP)
    }
    throw new UnderlayError(`--iface /${f.pattern.source}/: no interface whose name matches has a usable address`)
  }
  if (flags.ifaceCidr) {
    const cidr = parseCidr(flags.ifaceCidr)
    const hit = all.find((c) => contains(cidr, c.ip))
    if (!hit) throw new UnderlayError(`--iface-cidr ${flags.ifaceCidr}: no interface has an address in it`)
    return facts(hit, flags.publicIP)
  }
  for (const p of prefer) {
    const hit = all.find((c) => formatIp(c.ip) === p)
    if (hit) return facts(hit, flags.publicIP)
  }
  if (internalIPs.length === 0 && !flags.publicIP) throw new UnderlayError('the Node has no InternalIP to find the underlay by; use --iface, --iface-cidr or --public-ip')
  throw new UnderlayError(`no interface holds ${prefer.join(' or ')} (the Node's InternalIP${flags.publicIP ? ' or --public-ip' : ''}); use --iface or --iface-cidr`)
}
