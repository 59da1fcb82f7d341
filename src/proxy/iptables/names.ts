// Chain names exactly as kube-proxy's iptables mode derives them, so that
// someone who knows `iptables-save` on a kube-proxy node can read ours: the
// first 16 base32 characters of sha256(servicePortName + protocol [+ endpoint]).
import { createHash } from 'node:crypto'
import type { EndpointTarget, PortIntent } from '../plan/intent.ts'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 of the first 10 bytes (80 bits = 16 characters, no padding reached). */
function base32Head16(bytes: Buffer): string {
  let out = ''
  let acc = 0
  let nbits = 0
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | bytes[i]!
    nbits += 8
    while (nbits >= 5) {
      nbits -= 5
      out += BASE32[(acc >> nbits) & 31]
    }
    acc &= (1 << nbits) - 1
  }
  return out
}

function hash16(text: string): string {
  return base32Head16(createHash('sha256').update(text).digest())
}

/** kube-proxy's ServicePortName.String(): "ns/name", plus ":port" when the port is named. */
export function servicePortName(intent: Pick<PortIntent, 'service' | 'portName'>): string {
  return intent.portName === '' ? intent.service : `${intent.service}:${intent.portName}`
}

/** "ip:port", IPv6 in brackets, as kube-proxy's endpoint String() and DNAT --to-destination spell it. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

export interface IntentChains {
  /** cluster traffic policy: KUBE-SVC- */
  svc: string
  /** local traffic policy: KUBE-SVL- */
  svl: string
  /** external destinations: KUBE-EXT- */
  ext: string
  /** loadBalancerSourceRanges: KUBE-FW- */
  fw: string
}

export function intentChains(intent: Pick<PortIntent, 'service' | 'portName' | 'protocol'>): IntentChains {
  const h = hash16(servicePortName(intent) + intent.protocol)
  return { svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}`, fw: `KUBE-FW-${h}` }
}

export function endpointChain(intent: Pick<PortIntent, 'service' | 'portName' | 'protocol'>, ep: Pick<EndpointTarget, 'ip' | 'port'>): string {
  return `KUBE-SEP-${hash16(servicePortName(intent) + intent.protocol + hostPort(ep.ip, ep.port))}`
}

/** The chains every sync owns whatever the Services are, per table. */
export const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-PROXY-CANARY'] as const
export const FILTER_CHAINS = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-PROXY-FIREWALL', 'KUBE-PROXY-CANARY'] as const
export const MANGLE_CHAINS = ['KUBE-PROXY-CANARY'] as const

const PER_SERVICE = /^KUBE-(SVC|SVL|EXT|FW|SEP)-[A-Z2-7]{16}$/
const FIXED = new Set<string>([...NAT_CHAINS, ...FILTER_CHAINS, ...MANGLE_CHAINS])

/** A chain name this backend writes (kube-proxy's namespace of names). */
export function isOurChainName(name: string): boolean {
  return FIXED.has(name) || PER_SERVICE.test(name)
}

/** A per-Service chain (SVC/SVL/EXT/FW/SEP), as opposed to the fixed ones. */
export function isServiceChainName(name: string): boolean {
  return PER_SERVICE.test(name)
}

/** ipset names: ours, with the family as a suffix (ipset has no per-family namespace for names). */
export function setName(base: 'CLUSTER-IPS' | 'LB-SRC' | 'CLUSTER-CIDRS', family: 4 | 6): string {
  return `PONTOON-${base}-${family}`
}
