// The lab's cluster DNS: `pontoon dns` on the first node (recorded like every
// lab process, so down and restart find it by pid), kube-system/kube-dns
// pointing at it, and a wait until it answers over TCP from that node.
import * as packet from 'dns-packet'
import type { LabApi } from './api-client.ts'
import { dnsArgs, inNode, type LabPaths } from './commands.ts'
import { kubeDnsEndpointSlice, kubeDnsService } from './dns-objects.ts'
import { connectInNetns } from './ns-probe.ts'
import type { ProcRecord } from './procs.ts'
import { CLUSTER_DOMAIN, DNS_PORT, netnsPath, type LabTopology, type NodePlan } from './topology.ts'
import { waitUntil } from './wait.ts'

type Start = (role: string, cmd: string, args: string[], node?: string) => ProcRecord

export async function startClusterDns(api: LabApi, topo: LabTopology, paths: LabPaths, pontoon: string, start: Start): Promise<ProcRecord> {
  const n = topo.nodes[0]!
  const c = inNode(n, pontoon, dnsArgs(n, paths))
  const proc = start('dns', c.cmd, c.args, n.name)
  await api.ensure('/api/v1/namespaces/kube-system/services', kubeDnsService())
  await api.ensure('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', kubeDnsEndpointSlice(n))
  await waitUntil(`cluster DNS on ${n.name} to answer`, () => dnsAnswers(n), proc, 60_000)
  return proc
}

/** One TCP query for dns-version.<domain> from the node's namespace: true once a NOERROR answer comes back. */
export function dnsAnswers(n: NodePlan, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const q = packet.streamEncode({ id: 1, type: 'query', questions: [{ name: `dns-version.${CLUSTER_DOMAIN}`, type: 'TXT' }] })
    let buf = Buffer.alloc(0)
    let sock: ReturnType<typeof connectInNetns>
    const done = (ok: boolean) => { clearTimeout(timer); sock?.destroy(); resolve(ok) }
    const timer = setTimeout(() => done(false), timeoutMs)
    try {
      sock = connectInNetns(netnsPath(n.netns), n.ip, DNS_PORT)
    } catch {
      return done(false)
    }
    sock.on('error', () => done(false))
    sock.on('connect', () => sock.write(q))
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length > 4096) return done(false)
      if (buf.length < 2 || buf.length < buf.readUInt16BE(0) + 2) return
      try {
        done((packet.streamDecode(buf) as { rcode?: string }).rcode === 'NOERROR')
      } catch {
        done(false)
      }
    })
  })
}
