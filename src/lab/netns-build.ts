// Builds and removes the lab's namespaces and wiring. Every command names a
// lab namespace (`ip -n <ns>`, or `ip netns add/del <ns>`): nothing here ever
// runs against the root namespace.
import { runOk, run } from '../sys/run.ts'
import { NetnsError, writeSysctl } from '../netns/index.ts'
import { isLabNetns, netnsPath, type LabTopology } from './topology.ts'

export class LabNetError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabNetError'
    this.code = code
  }
}

function ipBatch(ns: string, lines: string[]): void {
  const r = run('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' })
  if (r.status !== 0) throw new LabNetError('EIP', `ip -n ${ns}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`)
}

/** The namespaces in /run/netns, by name. */
export function listNetns(): string[] {
  const out = run('ip', ['netns', 'list'])
  if (out.status !== 0) throw new LabNetError('EIP', `ip netns list: ${out.stderr.trim()}`)
  return out.stdout.split('\n').map((l) => l.split(' ')[0]!).filter(Boolean)
}

export function labNetnsPresent(prefix: string): string[] {
  return listNetns().filter((n) => isLabNetns(prefix, n))
}

export function deleteNetns(names: string[]): string[] {
  const failed: string[] = []
  for (const n of names) if (run('ip', ['netns', 'del', n]).status !== 0) failed.push(n)
  return failed
}

function sysctls(ns: string, kv: Record<string, string>, optional: string[] = []): void {
  for (const [k, v] of Object.entries(kv)) {
    try { writeSysctl(netnsPath(ns), k, v) } catch (e) {
      // bridge-nf-call-* exist only with br_netfilter loaded; without it bridged traffic skips netfilter anyway
      if (optional.includes(k) && (e as NetnsError).code === 'ENOENT') continue
      throw new LabNetError('ESYSCTL', (e as Error).message, { cause: e })
    }
  }
}

/**
 * The wire bridge, one namespace per node with eth0 on it, and the outside
 * client. On failure whatever was made stays named with the prefix: the caller's
 * sweep removes it. `up` builds the wire first and starts the API while it
 * builds the nodes.
 */
export function buildTopology(t: LabTopology): void {
  buildWire(t)
  buildNodes(t)
}

const cidrOf = (t: LabTopology, ip: string) => `${ip}/${t.wire.prefixLen}`

/** The wire namespace and its bridge with the API's address: enough for `pontoon api` to listen there. */
export function buildWire(t: LabTopology): void {
  runOk('ip', ['netns', 'add', t.wire.netns])
  ipBatch(t.wire.netns, [
    'link set lo up',
    `link add ${t.wire.bridge} type bridge`,
    `addr add ${cidrOf(t, t.wire.ip)} dev ${t.wire.bridge}`,
    `link set ${t.wire.bridge} up`,
  ])
}

/** The node and outside namespaces, each with eth0 on the wire bridge (buildWire first). */
export function buildNodes(t: LabTopology): void {
  for (const ns of [...t.nodes.map((n) => n.netns), t.outside.netns]) runOk('ip', ['netns', 'add', ns])
  const cidr = (ip: string) => cidrOf(t, ip)
  const peers = [...t.nodes.map((n) => ({ peer: n.wirePeer, ns: n.netns })), { peer: t.outside.wirePeer, ns: t.outside.netns }]
  ipBatch(t.wire.netns, [
    ...peers.flatMap(({ peer, ns }) => [
      `link add ${peer} type veth peer name eth0 netns ${ns}`,
      `link set ${peer} master ${t.wire.bridge}`,
      `link set ${peer} up`,
    ]),
  ])
  for (const n of t.nodes) {
    // A node forwards for its pods; bridged pod traffic must pass netfilter so Service replies are un-DNATed.
    sysctls(n.netns, { 'net.ipv4.ip_forward': '1', 'net.bridge.bridge-nf-call-iptables': '1', 'net.bridge.bridge-nf-call-ip6tables': '1' },
      ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'])
    ipBatch(n.netns, [
      'link set lo up',
      `addr add ${cidr(n.ip)} dev eth0`,
      'link set eth0 up',
      // what no lab route covers (a Service VIP from the node itself) still leaves by eth0 and meets the proxy's hooks
      `route add default via ${t.wire.ip}`,
    ])
  }
  ipBatch(t.outside.netns, ['link set lo up', `addr add ${cidr(t.outside.ip)} dev eth0`, 'link set eth0 up'])
}
