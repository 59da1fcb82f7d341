// Pure: a question (name, type) -> the cluster domain's answer, computed from
// the cache snapshot on demand as CoreDNS's kubernetes plugin does (no zone
// file to rebuild on a change). Follows the Kubernetes DNS-based service
// discovery specification 1.1.0:
//   <svc>.<ns>.svc.<zone>                A/AAAA ClusterIPs; headless: ready endpoints; ExternalName: CNAME
//   <ep>.<svc>.<ns>.svc.<zone>           headless: the endpoint named by its hostname (or dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc...   SRV for named ports
//   <reversed IP>.in-addr.arpa / ip6.arpa PTR for ClusterIPs and headless endpoints
//   <a-b-c-d>.<ns>.pod.<zone>            A/AAAA from the name itself (kube-dns's "pods insecure")
//   dns-version.<zone>                   TXT "1.1.0"
// Anything else in the zone is NXDOMAIN (or NODATA where the name exists),
// with the zone's SOA; names outside it are the caller's to forward.
import type { ClusterSnapshot } from '../cluster/snapshot.ts'
import { canonicalIp, ipFamily, ipToBytes, parseIp } from '../net/address.ts'
import type { DnsEndpointSlice, DnsService } from './model.ts'

export type DnsSnapshot = ClusterSnapshot<DnsService, DnsEndpointSlice>

export interface ZoneConfig {
  /** the cluster domain, lower case, no trailing dot ("cluster.local") */
  domain: string
  /** seconds, for every record and for negative answers (the SOA's minimum) */
  ttl: number
  /** the SOA serial: the server's start (unix seconds) */
  serial: number
}

/** The records dns-packet encodes, in its own shape. */
export type DnsRecord =
  | { name: string; type: 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'NS'; class: 'IN'; ttl: number; data: string }
  | { name: string; type: 'SRV'; class: 'IN'; ttl: number; data: { priority: number; weight: number; port: number; target: string } }
  | { name: string; type: 'TXT'; class: 'IN'; ttl: number; data: string[] }
  | { name: string; type: 'SOA'; class: 'IN'; ttl: number; data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number } }

export type Lookup =
  | { kind: 'outside' }
  | { kind: 'zone'; rcode: 'NOERROR' | 'NXDOMAIN'; answers: DnsRecord[]; authority: DnsRecord[]; additionals: DnsRecord[] }

export const SCHEMA_VERSION = '1.1.0'
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp'])

/** The answer to one question. qname as asked (any case, with or without the final dot). */
export function lookup(snap: DnsSnapshot, qname: string, qtype: string, cfg: ZoneConfig): Lookup {
  const asked = qname.replace(/\.$/, '')
  const name = asked.toLowerCase()
  const zone = cfg.domain
  if (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa')) return reverse(snap, asked, name, qtype, cfg)
  if (name !== zone && !name.endsWith(`.${zone}`)) return { kind: 'outside' }
  const labels = name === zone ? [] : name.slice(0, name.length - zone.length - 1).split('.')
  const q = new Answerer(asked, qtype, cfg)
  if (labels.length === 0) return q.apex()
  if (labels.length === 1 && labels[0] === 'dns-version') return q.records('TXT', [{ name: asked, type: 'TXT', class: 'IN', ttl: cfg.ttl, data: [SCHEMA_VERSION] }])
  const top = labels[labels.length - 1]
  if (top === 'svc') return serviceName(snap, labels.slice(0, -1), q)
  if (top === 'pod') return podName(labels.slice(0, -1), q)
  return q.nxdomain()
}

function serviceName(snap: DnsSnapshot, l: string[], q: Answerer): Lookup {
  // "svc.<zone>" and "<ns>.svc.<zone>" are empty non-terminals: NODATA, never NXDOMAIN (RFC 8020).
  if (l.length <= 1) return q.nodata()
  const svc = snap.services.get(`${l[l.length - 1]}/${l[l.length - 2]}`)
  if (!svc) return q.nxdomain()
  const fqdn = `${svc.name}.${svc.namespace}.svc.${q.cfg.domain}`
  if (l.length === 2) return serviceRecords(snap, svc, fqdn, q)
  const first = l[0]!
  if (first.startsWith('_')) {
    if (l.length === 3) return svc.kind === 'ExternalName' ? q.nxdomain() : q.nodata()
    if (l.length !== 4 || !l[1]!.startsWith('_')) return q.nxdomain()
    return srvName(snap, svc, fqdn, first.slice(1), l[1]!.slice(1), q)
  }
  if (l.length !== 3 || svc.kind !== 'Headless') return q.nxdomain()
  const ips = readyEndpoints(snap, svc).filter((e) => e.label === first).map((e) => e.ip)
  return ips.length === 0 ? q.nxdomain() : q.addresses(ips)
}

function serviceRecords(snap: DnsSnapshot, svc: DnsService, fqdn: string, q: Answerer): Lookup {
  if (svc.kind === 'ExternalName') {
    return q.zone('NOERROR', [{ name: q.asked, type: 'CNAME', class: 'IN', ttl: q.cfg.ttl, data: svc.externalName }])
  }
  if (q.qtype === 'SRV') {
    const srv = svc.ports.filter((p) => p.name !== '').map((p) => `_${p.name}._${p.protocol.toLowerCase()}`)
    return srvRecords(snap, svc, fqdn, srv, q)
  }
  const ips = svc.kind === 'ClusterIP' ? svc.clusterIPs : readyEndpoints(snap, svc).map((e) => e.ip)
  return q.addresses(ips)
}

function srvName(snap: DnsSnapshot, svc: DnsService, fqdn: string, port: string, proto: string, q: Answerer): Lookup {
  if (!PROTOCOLS.has(proto) || svc.kind === 'ExternalName') return q.nxdomain()
  const want = `_${port}._${proto}`
  const named = svc.kind === 'ClusterIP' ? svc.ports : (snap.endpointSlicesByService.get(`${svc.namespace}/${svc.name}`) ?? []).flatMap((s) => s.ports)
  if (!named.some((p) => p.name !== '' && p.name === port && p.protocol.toLowerCase() === proto)) return q.nxdomain()
  if (q.qtype !== 'SRV') return q.nodata()
  return srvRecords(snap, svc, fqdn, [want], q)
}

/** SRV records for the wanted "_port._proto" pairs; the targets' addresses go in the additional section. */
function srvRecords(snap: DnsSnapshot, svc: DnsService, fqdn: string, wanted: string[], q: Answerer): Lookup {
  const answers: DnsRecord[] = []
  const additionals: DnsRecord[] = []
  const ttl = q.cfg.ttl
  const srv = (port: number, target: string) => answers.push({ name: q.asked, type: 'SRV', class: 'IN', ttl, data: { priority: 0, weight: 100, port, target } })
  if (svc.kind === 'ClusterIP') {
    for (const p of svc.ports) if (wanted.includes(`_${p.name}._${p.protocol.toLowerCase()}`)) srv(p.port, fqdn)
    if (answers.length > 0) additionals.push(...addressRecords(fqdn, svc.clusterIPs, ttl))
  } else {
    const seen = new Set<string>()
    for (const slice of snap.endpointSlicesByService.get(`${svc.namespace}/${svc.name}`) ?? []) {
      const ports = slice.ports.filter((p) => wanted.includes(`_${p.name}._${p.protocol.toLowerCase()}`))
      for (const e of sliceEndpoints(slice)) {
        const target = `${e.label}.${fqdn}`
        for (const p of ports) srv(p.port, target)
        if (ports.length > 0 && !seen.has(`${target} ${e.ip}`)) {
          seen.add(`${target} ${e.ip}`)
          additionals.push(...addressRecords(target, [e.ip], ttl))
        }
      }
    }
  }
  return answers.length === 0 ? q.nodata() : q.zone('NOERROR', answers, additionals)
}

interface NamedEndpoint { label: string; ip: string }

function sliceEndpoints(slice: DnsEndpointSlice): NamedEndpoint[] {
  return slice.endpoints.filter((e) => e.ready).flatMap((e) => e.addresses.map((ip) => ({ label: e.hostname ?? dashed(ip), ip })))
}

/** A headless Service's ready endpoints, each address once, in slice order. */
function readyEndpoints(snap: DnsSnapshot, svc: DnsService): NamedEndpoint[] {
  const seen = new Set<string>()
  const out: NamedEndpoint[] = []
  for (const slice of snap.endpointSlicesByService.get(`${svc.namespace}/${svc.name}`) ?? []) {
    for (const e of sliceEndpoints(slice)) {
      if (seen.has(e.ip)) continue
      seen.add(e.ip)
      out.push(e)
    }
  }
  return out
}

/** "10.244.1.5" -> "10-244-1-5", "fd00::5" -> "fd00--5" (CoreDNS's name for an endpoint without a hostname). */
export function dashed(ip: string): string {
  return ip.replace(/[.:]/g, '-')
}

function podName(l: string[], q: Answerer): Lookup {
  if (l.length <= 1) return q.nodata()
  if (l.length !== 2) return q.nxdomain()
  const label = l[0]!
  const ip = canonicalIp(label.includes('--') || label.split('-').length > 4 ? label.replace(/-/g, ':') : label.replace(/-/g, '.'))
  return ip ? q.addresses([ip]) : q.nxdomain()
}

/** "10.96.0.10" -> "10.0.96.10.in-addr.arpa"; IPv6 by nibbles under ip6.arpa. */
export function reverseName(ip: string): string {
  const bytes = [...ipToBytes(parseIp(ip))].reverse()
  if (bytes.length === 4) return `${bytes.join('.')}.in-addr.arpa`
  return `${bytes.flatMap((b) => [(b & 15).toString(16), (b >> 4).toString(16)]).join('.')}.ip6.arpa`
}

const reverseIndexes = new WeakMap<DnsSnapshot, Map<string, string[]>>()

/** reverse name -> the names of every ClusterIP and headless endpoint at that address; built once per snapshot. */
export function reverseIndex(snap: DnsSnapshot, domain: string): Map<string, string[]> {
  let index = reverseIndexes.get(snap)
  if (index) return index
  index = new Map()
  const add = (ip: string, target: string) => {
    const key = reverseName(ip)
    const list = index!.get(key)
    if (!list) index!.set(key, [target])
    else if (!list.includes(target)) list.push(target)
  }
  for (const svc of snap.services.values()) {
    const fqdn = `${svc.name}.${svc.namespace}.svc.${domain}`
    if (svc.kind === 'ClusterIP') for (const ip of svc.clusterIPs) add(ip, fqdn)
    if (svc.kind === 'Headless') for (const e of readyEndpoints(snap, svc)) add(e.ip, `${e.label}.${fqdn}`)
  }
  reverseIndexes.set(snap, index)
  return index
}

function reverse(snap: DnsSnapshot, asked: string, name: string, qtype: string, cfg: ZoneConfig): Lookup {
  const targets = reverseIndex(snap, cfg.domain).get(name)
  if (!targets) return { kind: 'outside' }
  const q = new Answerer(asked, qtype, cfg)
  return q.records('PTR', targets.map((t) => ({ name: asked, type: 'PTR', class: 'IN', ttl: cfg.ttl, data: t })))
}

function addressRecords(name: string, ips: readonly string[], ttl: number): DnsRecord[] {
  return ips.map((ip) => ({ name, type: ipFamily(ip) === 'IPv6' ? 'AAAA' : 'A', class: 'IN', ttl, data: ip }))
}

/** Builds the answers to one question: its name as asked, its type, the zone. */
class Answerer {
  constructor(readonly asked: string, readonly qtype: string, readonly cfg: ZoneConfig) {}

  zone(rcode: 'NOERROR' | 'NXDOMAIN', answers: DnsRecord[], additionals: DnsRecord[] = []): Lookup {
    return { kind: 'zone', rcode, answers, authority: answers.length === 0 ? [this.soa()] : [], additionals }
  }

  nxdomain(): Lookup {
    return this.zone('NXDOMAIN', [])
  }

  nodata(): Lookup {
    return this.zone('NOERROR', [])
  }

  /** records of one type at an existing name: the answer when asked for that type (or ANY), else NODATA */
  records(type: string, recs: DnsRecord[]): Lookup {
    return this.qtype === type || this.qtype === 'ANY' ? this.zone('NOERROR', recs) : this.nodata()
  }

  addresses(ips: readonly string[]): Lookup {
    const recs = addressRecords(this.asked, ips, this.cfg.ttl)
    return this.zone('NOERROR', this.qtype === 'ANY' ? recs : recs.filter((r) => r.type === this.qtype))
  }

  apex(): Lookup {
    if (this.qtype === 'SOA') return this.zone('NOERROR', [this.soa()])
    if (this.qtype === 'NS') return this.zone('NOERROR', [{ name: this.asked, type: 'NS', class: 'IN', ttl: this.cfg.ttl, data: `ns.dns.${this.cfg.domain}` }])
    return this.nodata()
  }

  soa(): DnsRecord {
    const z = this.cfg.domain
    return { name: z, type: 'SOA', class: 'IN', ttl: this.cfg.ttl, data: { mname: `ns.dns.${z}`, rname: `hostmaster.${z}`, serial: this.cfg.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.cfg.ttl } }
  }
}
