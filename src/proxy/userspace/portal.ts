// What a proxy socket asks about each new client: where may it go. The backend
// answers from the intent as it is now (route.ts's rules, the same ones every
// renderer encodes), so an endpoint change takes effect at the next
// connection or flow without touching the listening socket.
import type { Family } from '../../net/address.ts'
import type { EndpointTarget } from '../plan/intent.ts'

export type Decision =
  | { verdict: 'endpoints'; endpoints: readonly EndpointTarget[]; affinityTimeoutSeconds: number }
  | { verdict: 'reject' | 'drop'; reason: string }

export type Decide = (clientIP: string) => Decision

export interface PortalLimits {
  /** endpoints tried per TCP connection before the client is reset */
  maxAttempts: number
  /** per connect attempt */
  connectTimeoutMs: number
  /** a TCP connection silent both ways this long is closed */
  tcpIdleMs: number
  /** concurrent TCP connections per proxy socket */
  maxConnections: number
  /** a UDP flow (client address:port -> endpoint) silent this long is forgotten */
  udpIdleMs: number
  /** UDP flows per proxy socket; the least recently used goes first */
  maxFlows: number
  /** bytes queued for sending on one UDP socket; datagrams beyond are dropped, as a full NIC queue would */
  maxUdpQueueBytes: number
  /** clients remembered for ClientIP affinity, per proxy socket */
  maxAffinityEntries: number
}

export const DEFAULT_LIMITS: PortalLimits = {
  maxAttempts: 4,
  connectTimeoutMs: 2000,
  tcpIdleMs: 15 * 60_000,
  maxConnections: 4096,
  udpIdleMs: 30_000,
  maxFlows: 4096,
  maxUdpQueueBytes: 4 << 20,
  maxAffinityEntries: 16_384,
}

/** One open proxy socket. */
export interface Portal {
  readonly family: Family
  /** the local port iptables redirects to */
  readonly port: number
  /** endpoints changed: drop what points at endpoints that are gone (affinity, UDP flows) */
  retain(endpoints: readonly EndpointTarget[]): void
  close(): void
}

/** The wildcard address a proxy socket listens on: REDIRECT rewrites to an address of the node. */
export const ANY: Record<Family, string> = { 4: '0.0.0.0', 6: '::' }

/** "::ffff:10.0.0.1" as Node may report a v4 peer on a v6 socket: the v4 text. */
export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}
