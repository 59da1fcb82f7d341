// One new client of a proxy socket through route.ts, the rules every mode
// shares: which endpoints it may use, or whether it is refused. The proxy
// socket cannot see which frontend a redirected packet hit, so each intent has
// one socket per traffic class (clusterIP; NodePort/externalIP/LB), and the
// client's own address (REDIRECT keeps it) tells pods from the outside.
import { contains, parseCidr, tryParseIp } from '../../net/address.ts'
import type { FamilyGlobals, PortIntent } from '../plan/intent.ts'
import { routePacket } from '../plan/route.ts'
import type { Decision } from './portal.ts'

export type TrafficKind = 'internal' | 'external'

const LOOPBACK = [parseCidr('127.0.0.0/8'), parseCidr('::1/128')]

export function decide(intent: PortIntent, kind: TrafficKind, fg: FamilyGlobals, masqueradeAll: boolean, clientIP: string): Decision {
  const addr = tryParseIp(clientIP)
  const inCluster = addr !== undefined && fg.clusterCIDRs.some((c) => contains(parseCidr(c), addr))
  // REDIRECT from OUTPUT: the node's own traffic arrives from loopback
  const fromNode = addr !== undefined && LOOPBACK.some((c) => c.addr.family === addr.family && contains(c, addr))
  const route = routePacket(intent, kind === 'internal' ? 'cluster-ip' : 'node-port', { inCluster, fromNode, inSourceRanges: true }, {
    masqueradeAll,
    hasLocalDetection: fg.clusterCIDRs.length > 0,
  })
  if (route.verdict !== 'endpoints') return { verdict: route.verdict, reason: route.reason }
  return { verdict: 'endpoints', endpoints: route.endpoints, affinityTimeoutSeconds: route.affinityTimeoutSeconds }
}
