// kube-proxy's own nftables layout (pkg/proxy/nftables/proxier.go, table
// `ip kube-proxy`), generated for N ClusterIP/TCP Services of M endpoints: the
// anchor the proxy bench loads with `nft -f` beside pontoon's layout. One
// chain per Service port (masquerade check + numgen vmap of its endpoints) and
// one chain per endpoint (hairpin mark + dnat), reached through the shared
// `service-ips` verdict map; the fixed chains are kube-proxy's, reduced to what
// ClusterIP traffic passes through. Pure: text in, text out.
import { createHash } from 'node:crypto'

export interface AnchorService {
  namespace: string
  name: string
  clusterIP: string
  port: number
  endpoints: readonly { ip: string; port: number }[]
}

export const TABLE = 'ip kube-proxy'

// kube-proxy: a short base32 hash of the full name keeps chain names unique
// while the readable suffix says what they are.
function hash(s: string): string {
  const b32 = 'abcdefghijklmnopqrstuvwxyz234567'
  const h = createHash('sha256').update(s).digest()
  let out = ''
  for (let i = 0; i < 8; i++) out += b32[h[i]! & 31]
  return out.toUpperCase()
}

export function serviceChain(s: AnchorService): string {
  const id = `${s.namespace}/${s.name}/tcp/${s.port}`
  return `service-${hash(id)}-${id}`
}

export function endpointChain(s: AnchorService, ep: { ip: string; port: number }): string {
  const id = `${s.namespace}/${s.name}/tcp/${s.port}__${ep.ip}/${ep.port}`
  return `endpoint-${hash(id)}-${id}`
}

/** The fixed part: hooks, the shared maps, masquerading, reject for Services without endpoints. */
export function skeleton(): string {
  const t = TABLE
  return [
    `add table ${t} { comment "rules for kube-proxy" ; }`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${t} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${t} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${t} filter-forward { type filter hook forward priority -110 ; }`,
    `add chain ${t} filter-output { type filter hook output priority -110 ; }`,
    `add chain ${t} services`,
    `add chain ${t} service-endpoints-check`,
    `add chain ${t} masquerading`,
    `add chain ${t} mark-for-masquerade`,
    `add chain ${t} reject-chain`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `flush chain ${t} nat-prerouting`,
    `add rule ${t} nat-prerouting jump services`,
    `flush chain ${t} nat-output`,
    `add rule ${t} nat-output jump services`,
    `flush chain ${t} nat-postrouting`,
    `add rule ${t} nat-postrouting jump masquerading`,
    `flush chain ${t} filter-forward`,
    `add rule ${t} filter-forward ct state new jump service-endpoints-check`,
    `flush chain ${t} filter-output`,
    `add rule ${t} filter-output ct state new jump service-endpoints-check`,
    `flush chain ${t} services`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `flush chain ${t} service-endpoints-check`,
    `add rule ${t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    `flush chain ${t} masquerading`,
    `add rule ${t} masquerading meta mark & 0x4000 == 0 return`,
    `add rule ${t} masquerading meta mark set meta mark ^ 0x4000`,
    `add rule ${t} masquerading masquerade fully-random`,
    `flush chain ${t} mark-for-masquerade`,
    `add rule ${t} mark-for-masquerade meta mark set meta mark | 0x4000`,
    `flush chain ${t} reject-chain`,
    `add rule ${t} reject-chain reject`,
    `flush map ${t} service-ips`,
    `flush map ${t} no-endpoint-services`,
  ].join('\n')
}

/** One Service port's chains and map element, as kube-proxy writes them in a full sync. */
export function serviceRules(s: AnchorService, clusterCidr: string): string {
  const t = TABLE
  const svc = serviceChain(s)
  const lines: string[] = []
  if (s.endpoints.length === 0) {
    lines.push(`add element ${t} no-endpoint-services { ${s.clusterIP} . tcp . ${s.port} comment "${s.namespace}/${s.name}" : goto reject-chain }`)
    return lines.join('\n')
  }
  for (const ep of s.endpoints) {
    const c = endpointChain(s, ep)
    lines.push(`add chain ${t} ${c}`, `flush chain ${t} ${c}`,
      `add rule ${t} ${c} ip saddr ${ep.ip} jump mark-for-masquerade`,
      `add rule ${t} ${c} meta l4proto tcp dnat to ${ep.ip}:${ep.port}`)
  }
  lines.push(`add chain ${t} ${svc}`, `flush chain ${t} ${svc}`,
    `add rule ${t} ${svc} ip daddr ${s.clusterIP} tcp dport ${s.port} ip saddr != ${clusterCidr} jump mark-for-masquerade`,
    `add rule ${t} ${svc} numgen random mod ${s.endpoints.length} vmap { ${s.endpoints.map((ep, i) => `${i} : goto ${endpointChain(s, ep)}`).join(' , ')} }`,
    `add element ${t} service-ips { ${s.clusterIP} . tcp . ${s.port} comment "${s.namespace}/${s.name}" : goto ${svc} }`)
  return lines.join('\n')
}

/** The whole ruleset for `nft -f`: what kube-proxy's first full sync sends. */
export function fullRuleset(services: readonly AnchorService[], clusterCidr: string): string {
  return `${skeleton()}\n${services.map((s) => serviceRules(s, clusterCidr)).join('\n')}\n`
}

/**
 * One endpoint replaced in one Service, as kube-proxy's partial sync writes it:
 * the new endpoint's chain, the Service chain rewritten (its vmap names the
 * endpoint chains), then the old endpoint's chain deleted.
 */
export function endpointChange(before: AnchorService, after: AnchorService, clusterCidr: string): string {
  const t = TABLE
  const gone = before.endpoints.filter((e) => !after.endpoints.some((a) => a.ip === e.ip && a.port === e.port))
  const added = after.endpoints.filter((e) => !before.endpoints.some((b) => b.ip === e.ip && b.port === e.port))
  const lines: string[] = []
  for (const ep of added) {
    const c = endpointChain(after, ep)
    lines.push(`add chain ${t} ${c}`, `flush chain ${t} ${c}`,
      `add rule ${t} ${c} ip saddr ${ep.ip} jump mark-for-masquerade`,
      `add rule ${t} ${c} meta l4proto tcp dnat to ${ep.ip}:${ep.port}`)
  }
  const svc = serviceChain(after)
  lines.push(`flush chain ${t} ${svc}`,
    `add rule ${t} ${svc} ip daddr ${after.clusterIP} tcp dport ${after.port} ip saddr != ${clusterCidr} jump mark-for-masquerade`,
    `add rule ${t} ${svc} numgen random mod ${after.endpoints.length} vmap { ${after.endpoints.map((ep, i) => `${i} : goto ${endpointChain(after, ep)}`).join(' , ')} }`)
  for (const ep of gone) lines.push(`delete chain ${t} ${endpointChain(before, ep)}`)
  return `${lines.join('\n')}\n`
}
