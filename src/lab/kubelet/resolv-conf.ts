// Pure: a pod's /etc/resolv.conf as kubelet writes it, from its dnsPolicy and
// dnsConfig, the kubelet's --cluster-dns / --cluster-domain and the node's own
// resolv.conf. ClusterFirst: the cluster's nameservers, the search path
// "<ns>.svc.<domain> svc.<domain> <domain>" then the node's, ndots:5. Default:
// the node's file. None: dnsConfig alone. dnsConfig is merged into the others
// (nameservers and searches appended, options overriding by name), within
// kubelet's limits (3 nameservers, 32 search domains).
import { parseResolvConf } from '../../ipam/resolv-conf.ts'

export interface ClusterDns {
  /** --cluster-dns; empty: ClusterFirst falls back to Default, as kubelet does */
  servers: string[]
  domain: string
}

export interface PodDnsSpec {
  dnsPolicy?: unknown
  dnsConfig?: unknown
  hostNetwork?: unknown
}

export class PodDnsError extends Error {
  readonly code = 'EPODDNS'
  readonly reason = 'CreateContainerConfigError'
  constructor(message: string) {
    super(message)
    this.name = 'PodDnsError'
  }
}

const MAX_NAMESERVERS = 3
const MAX_SEARCHES = 32

interface DnsConfig { nameservers: string[]; searches: string[]; options: Array<{ name: string; value?: string }> }

/** The file's text, or null when the pod keeps the node's file unchanged (Default without dnsConfig). */
export function podResolvConf(spec: PodDnsSpec, namespace: string, cluster: ClusterDns, nodeResolvConf: string): string | null {
  const policy = spec.dnsPolicy ?? 'ClusterFirst'
  const extra = dnsConfigOf(spec.dnsConfig)
  const node = parseResolvConf(nodeResolvConf)
  const nodeConf: DnsConfig = { nameservers: node.nameservers ?? [], searches: node.search ?? (node.domain ? [node.domain] : []), options: (node.options ?? []).map(option) }
  let base: DnsConfig
  if (policy === 'None') {
    if (!extra) throw new PodDnsError('dnsPolicy None needs a dnsConfig')
    base = { nameservers: [], searches: [], options: [] }
  } else if (policy === 'Default' || ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && cluster.servers.length === 0) || (policy === 'ClusterFirst' && spec.hostNetwork === true)) {
    if (!extra) return null
    base = nodeConf
  } else if (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') {
    const d = cluster.domain
    base = { nameservers: cluster.servers, searches: [`${namespace}.svc.${d}`, `svc.${d}`, d, ...nodeConf.searches], options: [{ name: 'ndots', value: '5' }] }
  } else {
    throw new PodDnsError(`dnsPolicy "${String(policy)}" is not one of ClusterFirst, ClusterFirstWithHostNet, Default, None`)
  }
  const merged = extra ? merge(base, extra) : base
  return render(merged)
}

function merge(a: DnsConfig, b: DnsConfig): DnsConfig {
  const options = [...a.options]
  for (const o of b.options) {
    const i = options.findIndex((x) => x.name === o.name)
    if (i >= 0) options[i] = o
    else options.push(o)
  }
  return { nameservers: unique([...a.nameservers, ...b.nameservers]), searches: unique([...a.searches, ...b.searches]), options }
}

function render(c: DnsConfig): string {
  if (c.nameservers.length > MAX_NAMESERVERS) throw new PodDnsError(`${c.nameservers.length} nameservers: at most ${MAX_NAMESERVERS}`)
  if (c.searches.length > MAX_SEARCHES) throw new PodDnsError(`${c.searches.length} search domains: at most ${MAX_SEARCHES}`)
  const lines = c.nameservers.map((n) => `nameserver ${n}`)
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`)
  if (c.options.length) lines.push(`options ${c.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(' ')}`)
  return lines.join('\n') + '\n'
}

function option(text: string): { name: string; value?: string } {
  const i = text.indexOf(':')
  return i < 0 ? { name: text } : { name: text.slice(0, i), value: text.slice(i + 1) }
}

const unique = (xs: string[]) => [...new Set(xs)]
const WORD = /^[^\s#;]+$/

/** spec.dnsConfig, checked: every value becomes one word of the file, so none may hold a space or a newline. */
function dnsConfigOf(v: unknown): DnsConfig | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'object' || Array.isArray(v)) throw new PodDnsError('dnsConfig must be an object')
  const o = v as Record<string, unknown>
  const words = (field: string): string[] => {
    const xs = o[field] ?? []
    if (!Array.isArray(xs) || !xs.every((x) => typeof x === 'string' && WORD.test(x))) throw new PodDnsError(`dnsConfig.${field} must be a list of single words`)
    return xs as string[]
  }
  const opts = o.options ?? []
  if (!Array.isArray(opts)) throw new PodDnsError('dnsConfig.options must be a list')
  const options = opts.map((x, i) => {
    const e = x as { name?: unknown; value?: unknown }
    if (typeof e?.name !== 'string' || !WORD.test(e.name) || e.name.includes(':')) throw new PodDnsError(`dnsConfig.options[${i}].name must be a single word`)
    if (e.value !== undefined && e.value !== null && (typeof e.value !== 'string' || !WORD.test(e.value))) throw new PodDnsError(`dnsConfig.options[${i}].value must be a single word`)
    return typeof e.value === 'string' ? { name: e.name, value: e.value } : { name: e.name }
  })
  return { nameservers: words('nameservers'), searches: words('searches'), options }
}
