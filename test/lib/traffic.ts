// Real TCP through real namespaces: a server that answers each connection with
// the peer address it saw, and a client that returns that answer.
import type { ChildProcess } from 'node:child_process'
import { canonicalIp } from '../../src/net/address.ts'
import type { Netns } from './netns.ts'
import { waitFor } from './wait.ts'

/** Start a TCP server in `ns` on `port` that writes "<peer-ip>\n" to each client. Resolves once it listens. */
export async function servePeer(ns: Netns, port: number, bind = '0.0.0.0'): Promise<ChildProcess> {
  const listen = bind.includes(':') ? `TCP6-LISTEN:${port},reuseaddr,fork${bind === '::' ? '' : `,bind=[${bind}]`}` : `TCP-LISTEN:${port},bind=${bind},reuseaddr,fork`
  const child = ns.spawn('socat', [listen, 'SYSTEM:echo $SOCAT_PEERADDR'])
  const listening = () => ns.try('ss', ['-Hltn', `sport = :${port}`]).stdout.includes(`:${port}`)
  await waitFor(`the server on :${port} in ${ns.name} to listen`, listening, { timeoutMs: 10_000, everyMs: 20, abandon: () => child.exitCode !== null })
  return child
}

/** Connect from `ns` to host:port; returns the server's answer (the peer IP it saw), or undefined if it failed. */
export function tcpAsk(ns: Netns, host: string, port: number, timeoutS = 2): string | undefined {
  const v6 = host.includes(':')
  const target = v6 ? `TCP6:[${host.replace(/^\[|\]$/g, '')}]:${port}` : `TCP:${host}:${port}`
  const r = ns.try('socat', ['-T', String(timeoutS), '-', `${target},connect-timeout=${timeoutS}`], { input: '' })
  if (r.status !== 0 || !r.stdout.trim()) return undefined
  // socat reports IPv6 peers bracketed and fully expanded; callers compare canonical bare addresses
  const peer = r.stdout.trim().replace(/^\[|\]$/g, '')
  return (peer.includes(':') && canonicalIp(peer)) || peer
}

export function ping(ns: Netns, host: string): boolean {
  return ns.try('busybox', ['ping', '-c', '1', '-W', '1', host]).status === 0
}
