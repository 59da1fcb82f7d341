// Cluster DNS in the lab, with real clients inside pods: glibc's getent through
// the search path, dig (UDP and TCP) to kube-dns's ClusterIP through pontoon's
// proxy, a headless Service following its pods (one deleted with kubectl), a
// Service created with kubectl resolving within one second, the pods'
// resolv.conf per dnsPolicy in their own mount namespace (the host's file
// untouched), and lab restart/down stopping the server by its pid.
import t from 'tap'
import { readFileSync, readlinkSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import * as packet from 'dns-packet'
import { connectInNetns } from '../../src/lab/ns-probe.ts'
import { podNetnsName } from '../../src/lab/pod-netns.ts'
import { labTopology, netnsPath } from '../../src/lab/topology.ts'
import { alivePid, apply, echoPodManifest, kubectl, kubectlJson, lab, leftovers, newLab, pidsIn, podReady, readLabState } from '../lib/lab.ts'
import { waitFor } from '../lib/wait.ts'

const l = newLab('d')
const topo = labTopology(l.prefix, 2)
const hostResolvConf = readFileSync('/etc/resolv.conf', 'utf8')
t.teardown(async () => { if (readLabState(l)) await lab(l, ['down']) })

const podNs = (name: string) => { const p = kubectlJson(l, ['get', 'pod', name]); return podNetnsName(topo, p.spec.nodeName, p.metadata.uid) }
const podPid = (name: string) => { const pids = pidsIn(podNs(name)); if (!pids.length) throw new Error(`no process in pod ${name}`); return pids[0]! }
/** A command inside a pod's network and mount namespaces: what its own process sees. */
const inPod = (pod: string, cmd: string[]) => {
  const r = spawnSync('nsenter', [`--target=${podPid(pod)}`, '--net', '--mount', '--', ...cmd], { encoding: 'utf8', timeout: 20_000 })
  return { status: r.status, out: (r.stdout ?? '').trim(), err: r.stderr ?? '' }
}
const getent = (pod: string, name: string) => inPod(pod, ['getent', 'hosts', name])
const dig = (pod: string, ...args: string[]) => inPod(pod, ['dig', '+short', '+time=2', '+tries=1', ...args]).out.split('\n').filter(Boolean).sort()
const resolvConfOf = (pod: string) => readFileSync(`/proc/${podPid(pod)}/root/etc/resolv.conf`, 'utf8')

/** One A query over TCP from a pod's namespace to kube-dns's ClusterIP, in-process (a cheap probe to poll). */
function askA(nsName: string, name: string): Promise<string[]> {
  return new Promise((resolve) => {
    const sock = connectInNetns(netnsPath(nsName), '10.96.0.10', 53)
    let buf = Buffer.alloc(0)
    const done = (ips: string[]) => { clearTimeout(timer); sock.destroy(); resolve(ips) }
    const timer = setTimeout(() => done([]), 500)
    sock.on('error', () => done([]))
    sock.on('connect', () => sock.write(packet.streamEncode({ id: 9, type: 'query', questions: [{ name, type: 'A' }] })))
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 2 && buf.length >= buf.readUInt16BE(0) + 2) {
        const m = packet.streamDecode(buf)
        done((m.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data))
      }
    })
  })
}

t.test('lab up on two nodes: kube-dns, and the matrix resolves a Service by its short name', async (t) => {
  const r = await lab(l, ['up', '--nodes', '2'])
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout + r.stderr, /cluster DNS: kube-system\/kube-dns 10\.96\.0\.10/)
  t.match(r.stdout, /pod -> Service echo by its short name \(cluster DNS\).*PASS/)
  t.match(r.stdout, /^7\/7 passed$/m)
  const svc = kubectlJson(l, ['get', 'svc', '-n', 'kube-system', 'kube-dns'])
  t.equal(svc.spec.clusterIP, '10.96.0.10')
  t.same(svc.spec.ports.map((p: { protocol: string; port: number }) => `${p.port}/${p.protocol}`), ['53/UDP', '53/TCP'])
  t.equal(svc.metadata.labels['k8s-app'], 'kube-dns')
  const dns = readLabState(l)!.processes.find((p) => p.role === 'dns')
  t.ok(dns && alivePid(dns.pid), 'the server is a recorded lab process')
})

t.test("a pod's resolv.conf is kubelet's, in its own mount namespace; the host's file is untouched", async (t) => {
  t.match(resolvConfOf('client'), /^nameserver 10\.96\.0\.10\nsearch default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( \S+)*\noptions ndots:5\n$/)
  t.equal(readFileSync('/etc/resolv.conf', 'utf8'), hostResolvConf, "the host's /etc/resolv.conf")
  t.not(readlinkSync(`/proc/${podPid('client')}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'a mount namespace of its own')
})

t.test('getent and dig from a pod: short names through the search path, every record type, UDP and TCP', async (t) => {
  const echo = kubectlJson(l, ['get', 'svc', 'echo'])
  const ip = echo.spec.clusterIP as string
  const g = getent('client', 'echo')
  t.equal(g.status, 0, g.err)
  t.match(g.out, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+echo\\.default\\.svc\\.cluster\\.local`), 'getent hosts echo: the ClusterIP, found through the search path')
  t.equal(getent('client', 'echo.default').status, 0, '<svc>.<ns> resolves too')
  t.equal(getent('client', 'nosuch').status, 2, 'an unknown name: not found')
  t.same(dig('client', 'echo.default.svc.cluster.local'), [ip], 'dig A, via kube-dns\'s ClusterIP')
  t.same(dig('client', '+tcp', 'echo.default.svc.cluster.local'), [ip], 'dig +tcp through the proxy')
  t.same(dig('client', '-x', ip), ['echo.default.svc.cluster.local.'], 'PTR')
  t.same(dig('client', '_tcp._tcp.echo.default.svc.cluster.local', 'SRV'), ['0 100 80 echo.default.svc.cluster.local.'], 'SRV of the named port "tcp"')
  apply(l, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'away' }, spec: { type: 'ExternalName', externalName: 'elsewhere.example' } })
  await waitFor('the ExternalName CNAME', () => dig('client', 'away.default.svc.cluster.local', 'CNAME').join() === 'elsewhere.example.', { timeoutMs: 10_000 })
  t.same(dig('client', 'kube-dns.kube-system.svc.cluster.local', 'AAAA'), [], 'AAAA of an IPv4 Service: none')
  const client = kubectlJson(l, ['get', 'pod', 'client'])
  t.same(dig('client', `${(client.status.podIP as string).replace(/\./g, '-')}.default.pod.cluster.local`), [client.status.podIP], 'the pod A record')
})

t.test('a headless Service answers its ready pods and follows a pod deleted with kubectl', async (t) => {
  apply(l, echoPodManifest('hl-a', 'node-1', { app: 'hl' }), echoPodManifest('hl-b', 'node-2', { app: 'hl' }),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hl' }, spec: { clusterIP: 'None', selector: { app: 'hl' }, ports: [{ name: 'echo', port: 8080 }] } })
  const ips = await waitFor('both pods Ready', () => {
    const ps = ['hl-a', 'hl-b'].map((n) => kubectlJson(l, ['get', 'pod', n]))
    return ps.every(podReady) && ps.map((p) => p.status.podIP as string).sort()
  }, { timeoutMs: 90_000 })
  await waitFor('the headless A records', () => dig('client', 'hl.default.svc.cluster.local').join() === ips.join(), { timeoutMs: 10_000 })
  t.same(getent('client', 'hl').status, 0)
  t.equal(dig('client', '_echo._tcp.hl.default.svc.cluster.local', 'SRV').length, 2, 'SRV: one per pod')
  const b = kubectlJson(l, ['get', 'pod', 'hl-b']).status.podIP as string
  t.equal(kubectl(l, ['delete', 'pod', 'hl-b', '--wait=false']).status, 0)
  const left = ips.filter((ip: string) => ip !== b)
  await waitFor('the deleted pod to leave the answer', () => dig('client', 'hl.default.svc.cluster.local').join() === left.join(), { timeoutMs: 30_000 })
  t.pass(`hl answers ${left.join()} after hl-b (${b}) was deleted`)
})

t.test('a Service created with kubectl resolves within one second', async (t) => {
  const ns = podNs('client')
  t.equal(kubectl(l, ['create', 'service', 'clusterip', 'fresh', '--tcp=80:8080']).status, 0)
  const ips = await waitFor('fresh.default.svc.cluster.local to resolve', async () => { const a = await askA(ns, 'fresh.default.svc.cluster.local'); return a.length > 0 && a }, { timeoutMs: 1000, everyMs: 20 })
  t.same(ips, [kubectlJson(l, ['get', 'svc', 'fresh']).spec.clusterIP])
})

t.test('dnsPolicy Default keeps the node\'s file; None uses dnsConfig alone', async (t) => {
  const base = (name: string, dns: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: 'node-2', terminationGracePeriodSeconds: 1, ...dns, containers: [{ name: 'c', image: 'x', command: ['sleep', 'infinity'] }] } })
  apply(l, base('dns-default', { dnsPolicy: 'Default' }), base('dns-none', { dnsPolicy: 'None', dnsConfig: { nameservers: ['10.96.0.10'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }] } }))
  await waitFor('both pods running', () => ['dns-default', 'dns-none'].every((n) => kubectlJson(l, ['get', 'pod', n]).status?.phase === 'Running' && pidsIn(podNs(n)).length > 0), { timeoutMs: 60_000 })
  t.equal(resolvConfOf('dns-default'), hostResolvConf, 'Default: the node\'s resolv.conf')
  t.equal(resolvConfOf('dns-none'), 'nameserver 10.96.0.10\nsearch svc.cluster.local\noptions ndots:2\n', 'None: dnsConfig alone')
  t.match(getent('dns-none', 'echo.default').out, /^10\.96\.\d+\.\d+\s/, 'resolves through its own search list')
})

t.test('lab restart dns and lab down stop the server by its pid', async (t) => {
  const before = readLabState(l)!.processes.find((p) => p.role === 'dns')!
  const r = await lab(l, ['restart', 'dns', '--node', 'node-1'])
  t.equal(r.status, 0, r.stderr)
  const after = readLabState(l)!.processes.find((p) => p.role === 'dns')!
  t.not(after.pid, before.pid)
  await waitFor('the old server gone', () => !alivePid(before.pid), { timeoutMs: 15_000 })
  await waitFor('the new server answering', () => dig('client', 'echo.default.svc.cluster.local').length === 1, { timeoutMs: 30_000 })
  const down = await lab(l, ['down'])
  t.equal(down.status, 0, down.stderr)
  t.notOk(alivePid(after.pid), 'down stopped it')
  t.same(leftovers(l), [])
})
