// The Vagrant lab's provisioning, run for real on namespace "VMs" that rebuild
// Vagrant's networks: a control VM and two workers, each with eth0 = 10.0.2.15/24
// towards its own NAT namespace (the same address on every VM, as VirtualBox gives
// them) and eth1 on one private 192.168.56.0/24 bridge, which lives in a namespace
// of its own. scripts/vagrant/provision-*.sh run inside each VM's netns, in a
// private mount namespace where /etc, /opt, /usr and /var are read-only, with
// PONTOON_ROOT = a temp dir per VM: every file they write is under it.
//
// systemd does not run in a netns, so the scripts run with PONTOON_SYSTEMD=0: they
// write the units (through `pontoon install --systemd`) and stop there, and this test
// starts the commands the units' ExecStart lines say, in the VM's netns, as
// processes it owns by PID (containerd's own unit is Debian's and is not started:
// pods here are run by the lab kubelet unit, through the same CNI path).
// Then pods on different "VMs" reach each other and a Service, and the underlay the
// agents chose is eth1 (192.168.56.x), never the NAT eth0.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeNetns, RUN, type Netns } from '../lib/netns.ts'
import { ROOT } from '../lib/cni.ts'
import { podRecords } from '../lib/kubelet.ts'
import { waitFor } from '../lib/wait.ts'
import { execStartArgv } from '../../src/install/units.ts'
import { httpGetInNetns, tcpFirstLine } from '../../src/lab/ns-probe.ts'

const UNDERLAY_CIDR = '192.168.56.0/21'
const CONTROL_IP = '192.168.56.10'
const API = `https://${CONTROL_IP}:6443`
const TOKEN = randomBytes(24).toString('hex')
const ECHO_PORT = 8080

interface Vm { name: string; ip: string; ns: Netns; nat: Netns; root: string; procs: ChildProcess[]; logs: Map<string, string> }

/** eth0 = 10.0.2.15/24 to a NAT namespace of its own (10.0.2.2, the default route); eth1 on the private bridge. */
function makeVm(name: string, ip: string, lan: Netns, base: string): Vm {
  const ns = makeNetns(name)
  const nat = makeNetns(`${name}nat`)
  const port = `p${name.slice(-3)}`
  ns.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'nat0', 'netns', nat.name])
  ns.run('ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', port, 'netns', lan.name])
  for (const [n, c] of [[ns, ['link', 'set', 'lo', 'up']], [ns, ['addr', 'add', '10.0.2.15/24', 'dev', 'eth0']], [ns, ['link', 'set', 'eth0', 'up']],
    [ns, ['addr', 'add', `${ip}/24`, 'dev', 'eth1']], [ns, ['link', 'set', 'eth1', 'up']], [ns, ['route', 'add', 'default', 'via', '10.0.2.2']],
    [nat, ['addr', 'add', '10.0.2.2/24', 'dev', 'nat0']], [nat, ['link', 'set', 'nat0', 'up']],
    [lan, ['link', 'set', port, 'master', 'br0']], [lan, ['link', 'set', port, 'up']]] as const) n.run('ip', [...c])
  const root = join(base, name)
  mkdirSync(root)
  return { name, ip, ns, nat, root, procs: [], logs: new Map() }
}

/** A provision script as Vagrant's shell provisioner runs it, but rooted and with the host's system dirs read-only. */
function provision(vm: Vm, script: string, env: Record<string, string>): Promise<{ status: number; out: string }> {
  const guard = [
    'set -e',
    'for d in /etc /opt /usr /var; do mount --bind "$d" "$d"; mount -o remount,bind,ro "$d"; done',
    'exec sh "$0"',
  ].join('\n')
  const child = spawn('nsenter', [`--net=${vm.ns.path}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', guard, join(ROOT, 'scripts/vagrant', script)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH, PONTOON_FORBID_NETNS: process.env.PONTOON_FORBID_NETNS ?? '',
      PONTOON_ROOT: vm.root, PONTOON_SYSTEMD: '0', PONTOON_APT: '0', PONTOON_SRC: ROOT,
      UNDERLAY_CIDR, PONTOON_TOKEN: TOKEN, ...env,
    },
  })
  vm.procs.push(child)
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  return new Promise((resolve) => child.on('close', (code) => resolve({ status: code ?? -1, out })))
}

/** Start what a unit's ExecStart says, in the VM's netns, with systemd's default PATH under the VM's root. */
function startUnit(vm: Vm, unit: string): ChildProcess {
  const text = readFileSync(join(vm.root, 'etc/systemd/system', unit), 'utf8')
  const argv = execStartArgv(text)
  if (!argv) throw new Error(`${unit} has no ExecStart`)
  const r = vm.root
  const child = spawn('nsenter', [`--net=${vm.ns.path}`, '--', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: `${r}/usr/local/sbin:${r}/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, PONTOON_FORBID_NETNS: process.env.PONTOON_FORBID_NETNS ?? '' },
  })
  vm.procs.push(child)
  let log = ''
  child.stderr!.on('data', (d) => { log = (log + d).slice(-200_000); vm.logs.set(unit, log) })
  return child
}

/** The API, through curl inside the control VM (the test's root namespace has no route to the lab). */
function apiCall(control: Vm, method: string, path: string, body?: unknown): { status: number; body: any } { // eslint-disable-line @typescript-eslint/no-explicit-any
  const args = ['-s', '--max-time', '10', '--cacert', join(control.root, 'var/lib/pontoon/api/tls.crt'), '-H', `Authorization: Bearer ${TOKEN}`,
    '-X', method, '-w', '\n%{http_code}', ...(body ? ['-H', 'Content-Type: application/json', '--data-binary', '@-'] : []), `https://127.0.0.1:6443${path}`]
  const r = control.ns.try('curl', args, body ? { input: JSON.stringify(body) } : {})
  const nl = r.stdout.lastIndexOf('\n')
  const text = r.stdout.slice(0, nl)
  let parsed: unknown
  try { parsed = text ? JSON.parse(text) : undefined } catch { parsed = text }
  return { status: Number(r.stdout.slice(nl + 1)) || 0, body: parsed }
}

const podNetns = (prefix: string, uid: string) => `${prefix}-p${createHash('sha256').update(uid).digest('hex').slice(0, 8)}`
const echoPod = (name: string, node: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'echo' } },
  spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'echo', image: 'none', command: ['pontoon', 'echo', '--port', String(ECHO_PORT), '--name', name], readinessProbe: { tcpSocket: { port: ECHO_PORT }, periodSeconds: 1 } }] },
})
const podReady = (p: any) => Boolean(p?.status?.podIP) && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') // eslint-disable-line @typescript-eslint/no-explicit-any

t.test('provisioning on namespace VMs: api, agents and kubelets from the units; pods across VMs reach each other and a Service', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'pontoon-vagrant-'))
  const lan = makeNetns('lan')
  lan.run('ip', ['link', 'add', 'br0', 'type', 'bridge'])
  lan.run('ip', ['link', 'set', 'br0', 'up'])
  const control = makeVm('control', CONTROL_IP, lan, base)
  const workers = [makeVm('worker1', '192.168.56.11', lan, base), makeVm('worker2', '192.168.56.12', lan, base)]
  const vms = [control, ...workers]
  const prefixOf = (w: Vm) => `${RUN}-${process.pid}-${w.name}`
  t.teardown(() => {
    for (const w of workers) {
      // the pods' processes and namespaces, from the kubelet's own records
      for (const rec of podRecords(join(w.root, 'var/lib/pontoon/kubelet'))) {
        for (const c of rec.containers ?? []) if (c.pid) { try { process.kill(-c.pid, 'SIGKILL') } catch { /* gone */ } }
      }
    }
    for (const vm of vms) for (const p of vm.procs) if (p.pid && p.exitCode === null) { try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ } }
    for (const w of workers) {
      for (const rec of podRecords(join(w.root, 'var/lib/pontoon/kubelet'))) if (rec.netnsName) spawn('ip', ['netns', 'del', rec.netnsName], { stdio: 'ignore' })
    }
    for (const vm of vms) { vm.ns.destroy(); vm.nat.destroy() }
    lan.destroy()
    rmSync(base, { recursive: true, force: true })
  })
  const failWith = (vm: Vm) => [...vm.logs].map(([u, l]) => `--- ${vm.name} ${u}\n${l.slice(-3000)}`).join('\n')

  // control: the script installs pontoon and writes the api unit; the test starts it
  const pc = await provision(control, 'provision-control.sh', {})
  t.equal(pc.status, 0, 'provision-control.sh succeeds', { out: pc.out.slice(-4000) })
  t.match(pc.out, /control plane on 192\.168\.56\.10/, 'the control plane took its underlay address by CIDR, not 10.0.2.15')
  t.ok(existsSync(join(control.root, 'opt/cni/bin/pontoon.d')), 'pontoon installed under the VM root')
  const apiUnit = join(control.root, 'etc/systemd/system/pontoon-api.service')
  t.match(execStartArgv(readFileSync(apiUnit, 'utf8'))?.join(' ') ?? '', `--listen=${CONTROL_IP}:6443`)
  t.equal(readFileSync(join(control.root, 'var/lib/pontoon/api/token'), 'utf8').trim(), TOKEN, 'the API keeps the lab token')
  const api = startUnit(control, 'pontoon-api.service')
  await waitFor('pontoon api to answer in the control VM', () => apiCall(control, 'GET', '/readyz').status === 200, { timeoutMs: 60_000, everyMs: 200, abandon: () => api.exitCode !== null })
    .catch((e) => { throw new Error(`${(e as Error).message}\n${failWith(control)}`) })

  // workers: both at once, as libvirt provisions them; each waits for the API itself
  const pw = await Promise.all(workers.map((w) => provision(w, 'provision-worker.sh', { NODE_NAME: w.name, API_SERVER: API, PONTOON_NETNS_PREFIX: prefixOf(w) })))
  for (const [i, w] of workers.entries()) {
    t.equal(pw[i]!.status, 0, `provision-worker.sh succeeds on ${w.name}`, { out: pw[i]!.out.slice(-4000) })
    t.match(pw[i]!.out, new RegExp(`worker ${w.name} on ${w.ip.replace(/\./g, '\\.')} `), `${w.name} found its underlay by CIDR`)
    t.match(readFileSync(join(w.root, 'etc/containerd/config.toml'), 'utf8'), new RegExp(`conf_dir = "${w.root}/etc/cni/net.d"`), "containerd's CNI config names the agent's conflist dir")
    const node = apiCall(control, 'GET', `/api/v1/nodes/${w.name}`).body
    t.same(node?.status?.addresses?.find((a: { type: string }) => a.type === 'InternalIP')?.address, w.ip, `Node ${w.name} registered with InternalIP ${w.ip}`)
  }

  // a second run of a worker's provisioning changes nothing and still succeeds (vagrant provision)
  const again = await provision(workers[0]!, 'provision-worker.sh', { NODE_NAME: 'worker1', API_SERVER: API, PONTOON_NETNS_PREFIX: prefixOf(workers[0]!) })
  t.equal(again.status, 0, 'provision-worker.sh runs again (vagrant provision)', { out: again.out.slice(-4000) })
  t.notMatch(again.out, /^done: (copy|symlink|write)/m, 'install is unchanged on the second run')

  for (const w of workers) {
    const agent = startUnit(w, 'pontoon-agent.service')
    await waitFor(`the agent on ${w.name} to be healthy`, async () => (await httpGetInNetns(w.ns.path, '127.0.0.1', 10256, '/healthz', 2000))?.status === 200,
      { timeoutMs: 90_000, everyMs: 200, abandon: () => agent.exitCode !== null }).catch((e) => { throw new Error(`${(e as Error).message}\n${failWith(w)}`) })
    const kubelet = startUnit(w, 'pontoon-kubelet.service')
    await waitFor(`the kubelet on ${w.name} to be healthy`, async () => (await httpGetInNetns(w.ns.path, '127.0.0.1', 10248, '/healthz', 2000))?.status === 200,
      { timeoutMs: 60_000, everyMs: 200, abandon: () => kubelet.exitCode !== null }).catch((e) => { throw new Error(`${(e as Error).message}\n${failWith(w)}`) })
    t.ok(existsSync(join(w.root, 'etc/cni/net.d/10-pontoon.conflist')), `${w.name}: the agent wrote its conflist under the VM root`)
    // the overlay runs on eth1: the VXLAN device's underlay is the 192.168.56 address
    const vx = JSON.parse(w.ns.run('ip', ['-d', '-j', 'link', 'show', 'type', 'vxlan']))
    t.equal(vx.length, 1, `${w.name}: one VXLAN device`)
    t.equal(vx[0]?.linkinfo?.info_data?.local, w.ip, `${w.name}: VXLAN sourced from eth1's ${w.ip}, not 10.0.2.15`)
  }
  await waitFor('each Node to publish its overlay address', () => {
    const items = apiCall(control, 'GET', '/api/v1/nodes').body?.items ?? []
    return workers.every((w) => items.find((n: any) => n.metadata.name === w.name)?.metadata?.annotations?.['pontoon.io/public-ip'] === w.ip) // eslint-disable-line @typescript-eslint/no-explicit-any
  }, { timeoutMs: 30_000, everyMs: 200 })

  // pods: an echo pod on each worker behind a ClusterIP Service, a client on worker1
  const svc = apiCall(control, 'POST', '/api/v1/namespaces/default/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' },
    spec: { selector: { app: 'echo' }, ports: [{ name: 'tcp', port: 80, targetPort: ECHO_PORT, protocol: 'TCP' }] },
  })
  t.equal(svc.status, 201, 'Service echo created', { body: svc.body })
  const clusterIP = svc.body.spec.clusterIP as string
  for (const w of workers) t.equal(apiCall(control, 'POST', '/api/v1/namespaces/default/pods', echoPod(`echo-${w.name}`, w.name)).status, 201, `pod echo-${w.name} created`)
  t.equal(apiCall(control, 'POST', '/api/v1/namespaces/default/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: 'default' },
    spec: { nodeName: 'worker1', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'none', command: ['sleep', 'infinity'] }] },
  }).status, 201, 'pod client created')
  const names = ['echo-worker1', 'echo-worker2', 'client']
  const pods = await waitFor('the pods to be Ready with IPs', () => {
    const got = new Map<string, any>((apiCall(control, 'GET', '/api/v1/namespaces/default/pods').body?.items ?? []).map((p: any) => [p.metadata.name, p])) // eslint-disable-line @typescript-eslint/no-explicit-any
    return names.every((n) => got.has(n) && (n === 'client' ? Boolean(got.get(n).status?.podIP) : podReady(got.get(n)))) && got
  }, { timeoutMs: 90_000, everyMs: 250 }).catch((e) => { throw new Error(`${(e as Error).message}\n${workers.map(failWith).join('\n')}`) })
  const client = pods.get('client')
  const clientNs = `/run/netns/${podNetns(prefixOf(workers[0]!), client.metadata.uid)}`
  t.ok(existsSync(clientNs), 'the client pod has its netns, named by the kubelet\'s prefix')
  const ip = (n: string) => pods.get(n).status.podIP as string
  t.not(ip('echo-worker1').split('.')[2], ip('echo-worker2').split('.')[2], 'the workers got different pod subnets')

  // pod to pod across the VMs (VXLAN over eth1), and on the same VM
  for (const target of ['echo-worker2', 'echo-worker1']) {
    const r = await tcpFirstLine(clientNs, ip(target), ECHO_PORT, 3000)
    t.ok(r.ok && r.line.startsWith(`${target} ${ip('client')}:`), `client -> ${target} (${ip(target)}): ${JSON.stringify(r)}`)
  }
  // and through the Service: both endpoints answer, on either VM
  const seen = new Set<string>()
  await waitFor(`the ClusterIP ${clusterIP} to reach both echo pods`, async () => {
    const r = await tcpFirstLine(clientNs, clusterIP, 80, 3000)
    if (r.ok) seen.add(r.line.split(' ')[0]!)
    return seen.size === 2
  }, { timeoutMs: 60_000, everyMs: 50 })
  t.same([...seen].sort(), ['echo-worker1', 'echo-worker2'], `client -> ${clusterIP}:80 reaches the echo pods on both VMs`)
})
