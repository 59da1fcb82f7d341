// Cluster DNS's metrics, on the registry of the client's own (watch and cache
// series). Query types are a fixed set (anything else counts as "other"): a
// label taken from the wire would let any client grow the registry.
import { Counter, Histogram, exponentialBuckets, type Registry } from 'prom-client'

export interface DnsMetrics {
  queries: Counter<'transport' | 'type' | 'rcode'>
  dropped: Counter<'transport' | 'reason'>
  duration: Histogram<'transport'>
  forwarded: Counter<'result'>
  /** queries answered from the answer cache (also counted in queries) */
  answerCacheHits: Counter
  /** UDP queries read by the batched drain (recvmmsg), not one by one through dgram */
  udpBatched: Counter
}

const TYPES = new Set(['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'SOA', 'NS', 'MX', 'ANY', 'none'])

export function queryTypeLabel(t: string): string {
  return TYPES.has(t) ? t : 'other'
}

export function createDnsMetrics(registry: Registry): DnsMetrics {
  const registers = [registry]
  return {
    queries: new Counter({ name: 'pontoon_dns_queries_total', help: 'DNS queries answered, by transport, query type and response code', labelNames: ['transport', 'type', 'rcode'], registers }),
    dropped: new Counter({ name: 'pontoon_dns_dropped_total', help: 'DNS messages dropped unanswered (too short, a response, over a bound)', labelNames: ['transport', 'reason'], registers }),
    // 100 us doubling to ~3.3 s: answers from the cache are sub-millisecond, forwarded ones are not.
    duration: new Histogram({ name: 'pontoon_dns_request_duration_seconds', help: 'Time from a query read to its answer sent', labelNames: ['transport'], buckets: exponentialBuckets(0.0001, 2, 16), registers }),
    forwarded: new Counter({ name: 'pontoon_dns_forwarded_total', help: 'Queries for names outside the cluster domain, by result', labelNames: ['result'], registers }),
    udpBatched: new Counter({ name: 'pontoon_dns_udp_batched_total', help: 'UDP queries read in batches (recvmmsg) after the first of a wakeup; their replies leave in batches (sendmmsg)', registers }),
    answerCacheHits: new Counter({ name: 'pontoon_dns_answer_cache_hits_total', help: 'Queries answered from the cache of encoded in-zone answers (emptied on every snapshot change)', registers }),
  }
}
