// Pure: the lab's names and addresses from its prefix and node count, as the
// issue 9 contracts fix them. Everything the lab builds, sweeps or reports is
// derived from this one plan, so `up`, `down` and a crash sweep agree on names.
//
//   <prefix>-wire     bridge br0 172.18.0.1/24; the API listens at 172.18.0.1:6443
//   <prefix>-node-N   eth0 172.18.0.(10+N)/24, a veth whose peer vnN sits on br0
//   <prefix>-outside  eth0 172.18.0.200/24, peer vout on br0
import { formatIp, offset, parseCidr, networkOf } from '../net/address.ts'

export class LabConfigError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'LabConfigError'
    this.code = code
  }
}

export const WIRE_CIDR = '172.18.0.0/24'
export const CLUSTER_CIDR = '10.244.0.0/16'
export const SERVICE_CIDR = '10.96.0.0/16'
export const API_PORT = 6443
export const AGENT_HEALTHZ_PORT = 10256
export const AGENT_METRICS_PORT = 10249
export const KUBELET_HEALTHZ_PORT = 10248
/** cluster DNS: kube-dns's ClusterIP and domain (kind's), the server on the first node, its metrics on that node's loopback */
export const DNS_SERVICE_IP = '10.96.0.10'
export const CLUSTER_DOMAIN = 'cluster.local'
export const DNS_PORT = 53
export const DNS_METRICS_PORT = 9153
/** node addresses are .11 .. .(10+MAX_NODES); .200 is the outside client */
export const MAX_NODES = 100
const OUTSIDE_HOST = 200n
const NODE_BASE = 10n

export interface NodePlan {
  /** the Node's name in the API */
  name: string
  index: number
  netns: string
  ip: string
  /** the veth end on the wire bridge (inside the wire namespace, so it need not be unique on the host) */
  wirePeer: string
  /** pod namespaces of this node are named <podNetnsPrefix>-p<hash> (kubelet --netns-prefix) */
  podNetnsPrefix: string
}

export interface LabTopology {
  prefix: string
  wire: { netns: string; bridge: 'br0'; ip: string; prefixLen: number }
  nodes: NodePlan[]
  outside: { netns: string; ip: string; wirePeer: string }
  api: { host: string; port: number }
}

// A network namespace name is a file name in /run/netns; interface names inside
// stay short and fixed. The prefix must leave room for "-outside" and pod names.
const PREFIX_RE = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/

export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) {
    throw new LabConfigError('EPREFIX', `--prefix "${prefix}" must be 1-32 characters of a-z, 0-9 and "-", starting and ending with a letter or digit`)
  }
  return prefix
}

export function checkNodeCount(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_NODES) throw new LabConfigError('ENODES', `--nodes must be an integer from 1 to ${MAX_NODES} (got ${n})`)
  return n
}

export function nodeName(i: number): string {
  return `node-${i}`
}

export function labTopology(prefix: string, nodes: number): LabTopology {
  checkPrefix(prefix)
  checkNodeCount(nodes)
  const wire = parseCidr(WIRE_CIDR)
  const base = networkOf(wire)
  const host = (n: bigint) => formatIp(offset(base, n))
  return {
    prefix,
    wire: { netns: `${prefix}-wire`, bridge: 'br0', ip: host(1n), prefixLen: wire.prefix },
    nodes: Array.from({ length: nodes }, (_, k) => {
      const index = k + 1
      return {
        name: nodeName(index),
        index,
        netns: `${prefix}-node-${index}`,
        ip: host(NODE_BASE + BigInt(index)),
        wirePeer: `vn${index}`,
        podNetnsPrefix: `${prefix}-n${index}`,
      }
    }),
    outside: { netns: `${prefix}-outside`, ip: host(OUTSIDE_HOST), wirePeer: 'vout' },
    api: { host: host(1n), port: API_PORT },
  }
}

/**
 * The namespaces a lab with this prefix makes, and only those: its wire, outside
 * and node namespaces, and the pod namespaces its kubelets make. A lab "plab"
 * must not sweep the namespaces of a lab "plab-2".
 */
export function isLabNetns(prefix: string, name: string): boolean {
  if (!name.startsWith(`${prefix}-`)) return false
  return /^(wire|outside|node-[1-9][0-9]*|n[1-9][0-9]*-p[0-9a-f]{8})$/.test(name.slice(prefix.length + 1))
}

export function netnsPath(name: string): string {
  return `/run/netns/${name}`
}
