// `pontoon lab up --vm` for real: the namespace lab inside one qemu guest with Debian's
// kernel, driven from the host as the namespace lab is (kubectl through the kubeconfig, lab
// exec from a pod to a Service, status, down), then nothing left: no VM, no state, no
// namespace. And on this host (no ip_vs), `--proxy-mode ipvs` without --vm fails at once.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { alivePid, apply, kubectlJson, lab, leftovers, newLab, netnsWithPrefix, podReady, readLabState, rootNetworkView } from '../lib/lab.ts'
import { waitFor } from '../lib/wait.ts'
import { procStat } from '../../src/lab/procs.ts'

// TCG is slow, and far slower on a loaded machine (each forwarded command starts Node twice,
// once in the guest): the bounds are generous, and only bound a failure. The file's bound keeps
// a hung guest inside CI's 90 minutes with the rest of the suite (a quiet run takes ~6.5 min).
const UP_MS = 900_000
t.setTimeout(1_800_000)

t.test('--proxy-mode ipvs without --vm on a kernel without IPVS: ENOIPVS at once, pointing at --vm, nothing built', async (t) => {
  t.notOk(existsSync('/proc/net/ip_vs'), 'precondition: this host has no IPVS')
  const l = newLab('i')
  const r = await lab(l, ['up', '--proxy-mode', 'ipvs', '--nodes', '1'], 60_000)
  t.equal(r.status, 1, r.stdout + r.stderr)
  t.match(r.stderr, /^pontoon lab up: ENOIPVS: .*IPVS.*this kernel has none.*pontoon lab up --vm --proxy-mode ipvs/m)
  t.same(leftovers(l), [], 'no namespace, process or state dir')
})

const l = newLab('v')
const rootBefore = rootNetworkView()
let vmPid = 0
t.teardown(async () => {
  if (readLabState(l)) await lab(l, ['down'])
})

t.test('lab up --vm: a stale VM stopped, the lab in a guest, the VM recorded by PID, an owner-only control token', async (t) => {
  // a VM an earlier lab left: a process naming the state dir, recorded as the vm
  mkdirSync(l.stateDir, { recursive: true })
  // (node, not `sh -c 'sleep N'`: a shell execs a lone command, and the state dir would leave the command line)
  const stale = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000)', l.stateDir], { stdio: 'ignore', detached: true })
  t.teardown(() => { try { process.kill(stale.pid!, 'SIGKILL') } catch { /* gone */ } })
  const st = await waitFor('the stale process to show in /proc', () => procStat(stale.pid!))
  writeFileSync(join(l.stateDir, 'lab.json'), JSON.stringify({ version: 1, prefix: l.prefix, nodes: 1, proxyMode: 'nftables', overlay: 'vxlan', processes: [{ role: 'vm', pid: stale.pid, startTime: st.startTime, log: '/dev/null' }], complete: true, vm: { controlPort: 1, mem: 2048 } }))
  const r = await lab(l, ['up', '--vm', '--nodes', '1', '--no-demo'], UP_MS)
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /cleaned an earlier lab: 1 processes/)
  await waitFor('the stale VM to be gone', () => !alivePid(stale.pid!))
  t.match(r.stdout, /vm: qemu pid \d+ .*no uplink/)
  t.match(r.stdout, /guest .*1 nodes healthy/, "the guest's own lab up progress is shown")
  const s = readLabState(l)!
  const vm = s.processes.find((p) => p.role === 'vm')
  t.ok(vm && alivePid(vm.pid), 'the VM runs, recorded in lab.json')
  vmPid = vm!.pid
  t.match(readFileSync(`/proc/${vmPid}/cmdline`, 'utf8'), /restrict=on/, 'the user-mode network is restricted: no uplink')
  t.equal(statSync(join(l.stateDir, 'vm', 'token')).mode & 0o777, 0o600)
  t.same(netnsWithPrefix(l.prefix), [], "the lab's namespaces are in the guest, not here")
  t.equal(rootNetworkView(), rootBefore, 'the root namespace got no address or route')
})

t.test('kubectl from the host through the kubeconfig: the node, a Deployment and its Service', async (t) => {
  const kc = await lab(l, ['kubeconfig'])
  t.equal(kc.stdout.trim(), l.kubeconfig)
  t.match(JSON.parse(readFileSync(l.kubeconfig, 'utf8')).clusters[0].cluster.server, /^https:\/\/127\.0\.0\.1:\d+$/)
  const nodes = kubectlJson(l, ['get', 'nodes']).items
  t.same(nodes.map((n: any) => n.metadata.name), ['node-1'])
  t.equal(nodes[0].status.conditions.find((c: any) => c.type === 'Ready')?.status, 'True')
  apply(l, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'echo', image: 'pontoon/echo', command: ['pontoon', 'echo', '--port', '8080'], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }] },
      },
    },
  }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } })
  const pods = await waitFor('two Ready web pods', () => {
    const items = kubectlJson(l, ['get', 'pods', '-l', 'app=web']).items
    return items.length === 2 && items.every(podReady) && items
  }, { timeoutMs: UP_MS })
  t.equal(pods.length, 2)
})

t.test('lab exec: a pod reaches the Service; the answer names a web pod', async (t) => {
  const svc = kubectlJson(l, ['get', 'service', 'web'])
  const pods = kubectlJson(l, ['get', 'pods', '-l', 'app=web']).items.map((p: any) => p.metadata.name)
  const from = pods[0]
  // the agent programs the Service once it sees the endpoints: poll until it answers
  const line = await waitFor('an answer through the ClusterIP', async () => {
    const r = await lab(l, ['exec', from, '--', 'bash', '-c', `exec 3<>/dev/tcp/${svc.spec.clusterIP}/80 && head -1 <&3`], UP_MS)
    return r.status === 0 && r.stdout.trim()
  }, { timeoutMs: UP_MS, everyMs: 500 })
  t.ok(pods.includes(line.split(' ')[0]), `${line} comes from a web pod`)
  const code = await lab(l, ['exec', from, '--', 'sh', '-c', 'exit 7'], UP_MS)
  t.equal(code.status, 7, "the command's exit status is lab exec's")
})

t.test('lab status: tables from the guest, the agent and kubelet healthy', async (t) => {
  const r = await lab(l, ['status'], UP_MS)
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^NODE\s+INTERNAL-IP\s+POD-CIDR\s+READY/m)
  t.match(r.stdout, /default\s+web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+80\/TCP/)
  for (const role of ['agent', 'kubelet']) t.match(r.stdout, new RegExp(`node-1\\s+${role}\\s+\\d+\\s+yes\\s+200`))
})

t.test('lab down: the VM process is gone and nothing is left', async (t) => {
  const r = await lab(l, ['down'], UP_MS)
  t.equal(r.status, 0, r.stderr)
  t.notOk(alivePid(vmPid), 'the VM process is gone')
  t.same(leftovers(l), [])
  const again = await lab(l, ['status'], UP_MS)
  t.equal(again.status, 1)
  t.match(again.stderr, /ENOLAB/)
})
