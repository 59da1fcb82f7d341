// The lab end to end, driven through the CLI and kubectl as a user drives it:
// one 3-node lab shared by the subtests (each leaves the demo as it found it),
// then `down`, which must leave nothing behind.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { netnsPath } from '../../src/lab/topology.ts'
import { podNetnsName } from '../../src/lab/pod-netns.ts'
import { labTopology } from '../../src/lab/topology.ts'
import { tcpFirstLine } from '../../src/lab/ns-probe.ts'
import { alivePid, apply, echoPodManifest, environOf, inNs, kubectl, kubectlJson, lab, leftovers, newLab, pidsIn, podReady, readLabState, rootNetworkView } from '../lib/lab.ts'
import { waitFor } from '../lib/wait.ts'

const labLines = (view: string) => view.split('\n').filter((l) => /172\.18\.0\.|10\.244\.|10\.96\./.test(l)).sort()

const l = newLab('e')
const topo = labTopology(l.prefix, 3)
const rootBefore = labLines(rootNetworkView())
let upOut = ''

t.teardown(async () => {
  if (readLabState(l)) await lab(l, ['down'])
})

const podNs = (name: string) => {
  const p = kubectlJson(l, ['get', 'pod', name])
  return netnsPath(podNetnsName(topo, p.spec.nodeName, p.metadata.uid))
}
const ask = async (nsPath: string, host: string, port: number) => {
  const r = await tcpFirstLine(nsPath, host, port, 2000)
  return r.ok ? r.line.trim() : `error ${r.error}`
}

t.test('lab up: 3 nodes, the demo, and a traffic matrix that passes', async (t) => {
  const r = await lab(l, ['up', '--nodes', '3'])
  upOut = r.stdout + r.stderr
  t.equal(r.status, 0, upOut)
  for (const want of [
    /pod -> pod same node \(node-1 -> node-1\).*PASS/,
    /pod -> pod across nodes \(node-1 -> node-2\).*PASS/,
    /pod -> pod across nodes \(node-1 -> node-3\).*PASS/,
    /container -> container over localhost \(duo\).*duo 127\.0\.0\.1:\d+.*PASS/,
    /pod -> ClusterIP echo.*PASS/,
    /pod -> Service echo by its short name \(cluster DNS\).*echo:80.*PASS/,
    /outside -> NodePort on node-1.*PASS/,
    /outside -> NodePort on node-2.*PASS/,
    /outside -> NodePort on node-3.*PASS/,
    /^9\/9 passed$/m,
  ]) t.match(upOut, want)
  t.notMatch(upOut, /FAIL/)
  t.match(upOut, /\[\s*\d+\.\ds\] .*waiting for them to be Ready/, 'progress lines for the long steps')
})

t.test('the root namespace got no address or route on lab networks', async (t) => {
  t.same(labLines(rootNetworkView()), rootBefore)
})

t.test('kubectl sees three Ready nodes with pod CIDRs, and the demo', async (t) => {
  const kc = await lab(l, ['kubeconfig'])
  t.equal(kc.stdout.trim(), l.kubeconfig)
  const nodes = kubectlJson(l, ['get', 'nodes']).items
  t.same(nodes.map((n: any) => n.metadata.name).sort(), ['node-1', 'node-2', 'node-3'])
  for (const n of nodes) {
    t.match(n.spec.podCIDR, /^10\.244\.\d+\.0\/24$/)
    t.equal(n.status.conditions.find((c: any) => c.type === 'Ready')?.status, 'True')
    t.equal(n.status.addresses.find((a: any) => a.type === 'InternalIP')?.address, `172.18.0.${10 + Number(n.metadata.name.slice(5))}`)
  }
  const pods = kubectlJson(l, ['get', 'pods']).items.map((p: any) => `${p.metadata.name}@${p.spec.nodeName}`).sort()
  t.same(pods, ['client@node-1', 'duo@node-1', 'echo-node-1@node-1', 'echo-node-2@node-2', 'echo-node-3@node-3'])
})

t.test('status: tables of nodes, pods, services and a healthy agent and kubelet per node', async (t) => {
  const r = await lab(l, ['status'])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^NODE\s+INTERNAL-IP\s+POD-CIDR\s+READY/m)
  t.match(r.stdout, /node-2\s+172\.18\.0\.12\s+10\.244\.\d+\.0\/24\s+True/)
  t.match(r.stdout, /default\s+client\s+node-1\s+10\.244\.\d+\.\d+\s+Running\s+True/)
  t.match(r.stdout, /default\s+echo\s+NodePort\s+10\.96\.\d+\.\d+\s+80:\d+\/TCP/)
  for (const n of ['node-1', 'node-2', 'node-3']) for (const role of ['agent', 'kubelet']) t.match(r.stdout, new RegExp(`${n}\\s+${role}\\s+\\d+\\s+yes\\s+200`))
})

t.test('exec runs in a pod, a node and the outside client', async (t) => {
  const client = kubectlJson(l, ['get', 'pod', 'client'])
  const inPod = await lab(l, ['exec', 'client', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])
  t.equal(inPod.status, 0, inPod.stderr)
  t.match(inPod.stdout, new RegExp(`inet ${client.status.podIP.replace(/\./g, '\\.')}/24`))
  const inNode = await lab(l, ['exec', 'node-2', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])
  t.match(inNode.stdout, /inet 172\.18\.0\.12\/24/)
  const out = await lab(l, ['exec', 'outside', '--', 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])
  t.match(out.stdout, /inet 172\.18\.0\.200\/24/)
  const code = await lab(l, ['exec', 'outside', '--', 'sh', '-c', 'exit 7'])
  t.equal(code.status, 7, "the command's exit code")
  const missing = await lab(l, ['exec', 'nosuchpod', '--', 'true'])
  t.equal(missing.status, 1)
  t.match(missing.stderr, /ENOPOD: no pod "nosuchpod" in namespace "default"/)
  const other = await lab(l, ['exec', '-n', 'kube-system', 'client', '--', 'true'])
  t.match(other.stderr, /ENOPOD: no pod "client" in namespace "kube-system"/)
})

t.test("the client pod's Service environment points at the echo Service", async (t) => {
  const svc = kubectlJson(l, ['get', 'svc', 'echo'])
  const pids = pidsIn(podNetnsName(topo, 'node-1', kubectlJson(l, ['get', 'pod', 'client']).metadata.uid))
  t.ok(pids.length >= 1, 'the client container runs in the pod namespace')
  const env = environOf(pids[0]!)
  const ip = svc.spec.clusterIP
  t.equal(env.ECHO_SERVICE_HOST, ip)
  t.equal(env.ECHO_SERVICE_PORT, '80')
  t.equal(env.ECHO_PORT, `tcp://${ip}:80`)
  t.equal(env.ECHO_PORT_80_TCP, `tcp://${ip}:80`)
  t.equal(env.ECHO_PORT_80_TCP_ADDR, ip)
  t.equal(env.ECHO_PORT_80_TCP_PORT, '80')
  t.equal(env.ECHO_PORT_80_TCP_PROTO, 'tcp')
  t.equal(env.POD_NAME, 'client')
  t.equal(env.POD_NAMESPACE, 'default')
  // and the address answers from the pod, as the variables promise
  t.match(await ask(podNs('client'), env.ECHO_SERVICE_HOST!, Number(env.ECHO_SERVICE_PORT)), /^echo-node-\d /)
})

t.test('eTP Local: a node without a local endpoint does not answer its NodePort; the one with it keeps the client address', async (t) => {
  apply(l, echoPodManifest('solo', 'node-2', { app: 'solo' }), {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'solo' },
    spec: { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { app: 'solo' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
  })
  t.teardown(() => { kubectl(l, ['delete', 'svc/solo', 'pod/solo', '--wait=false']) })
  const svc = kubectlJson(l, ['get', 'svc', 'solo'])
  const nodePort = svc.spec.ports[0].nodePort
  const outside = netnsPath(topo.outside.netns)
  const got = await waitFor('the NodePort on node-2 to answer from solo', async () => {
    const a = await ask(outside, '172.18.0.12', nodePort)
    return a.startsWith('solo ') && a
  }, { timeoutMs: 60_000, everyMs: 200 })
  t.match(got, /^solo 172\.18\.0\.200:\d+$/, 'the client address survives: eTP Local does not masquerade')
  // node-1 has the Service programmed (its ClusterIP answers from a node-1 pod) ...
  await waitFor('the ClusterIP of solo from node-1', async () => (await ask(podNs('client'), svc.spec.clusterIP, 80)).startsWith('solo '), { timeoutMs: 30_000, everyMs: 200 })
  // ... and still its NodePort, with no local endpoint, answers nothing
  for (const ip of ['172.18.0.11', '172.18.0.13']) t.notMatch(await ask(outside, ip, nodePort), /^solo /, `NodePort on ${ip} (no local endpoint) does not answer`)
})

t.test('session affinity: one client keeps its backend, on whichever node it runs', async (t) => {
  apply(l, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'sticky' },
    spec: { type: 'NodePort', sessionAffinity: 'ClientIP', selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
  })
  t.teardown(() => { kubectl(l, ['delete', 'svc/sticky']) })
  const svc = kubectlJson(l, ['get', 'svc', 'sticky'])
  const client = podNs('client')
  // the three endpoints first (affinity to a partial set proves little)
  await waitFor('sticky to have its three endpoints', () => {
    const s = kubectlJson(l, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=sticky']).items
    return s.flatMap((x: any) => x.endpoints ?? []).filter((e: any) => e.conditions?.ready).length === 3
  }, { timeoutMs: 30_000, everyMs: 200 })
  const first = await waitFor('the ClusterIP of sticky', async () => {
    const a = await ask(client, svc.spec.clusterIP, 80)
    return a.startsWith('echo-node-') && a.split(' ')[0]
  }, { timeoutMs: 30_000, everyMs: 200 })
  const seen = new Set<string>()
  for (let i = 0; i < 15; i++) seen.add((await ask(client, svc.spec.clusterIP, 80)).split(' ')[0]!)
  t.same([...seen], [first], 'fifteen new connections from the client pod, one backend')
  const outside = netnsPath(topo.outside.netns)
  // each node's agent programs the Service in its own time: node-2's NodePort may still refuse while node-1 answers
  await waitFor("sticky's NodePort on node-2", async () => (await ask(outside, '172.18.0.12', svc.spec.ports[0].nodePort)).startsWith('echo-node-'), { timeoutMs: 30_000, everyMs: 200 })
  const viaNode2 = new Set<string>()
  for (let i = 0; i < 10; i++) viaNode2.add((await ask(outside, '172.18.0.12', svc.spec.ports[0].nodePort)).split(' ')[0]!)
  t.equal(viaNode2.size, 1, `outside through node-2's NodePort: one backend (${[...viaNode2]})`)
  t.match([...viaNode2][0], /^echo-node-\d$/)
})

t.test('a Pod deleted with kubectl leaves no IP, interface, process or rule behind', async (t) => {
  // it joins the echo Service, so its address is in every node's rules while it lives
  apply(l, echoPodManifest('victim', 'node-2', { app: 'echo' }))
  const pod = await waitFor('victim to be Ready', () => {
    const p = kubectlJson(l, ['get', 'pod', 'victim'])
    return podReady(p) && p
  }, { timeoutMs: 60_000, everyMs: 200 })
  const ip = pod.status.podIP as string
  const nsName = podNetnsName(topo, 'node-2', pod.metadata.uid)
  const ipamFile = join(l.stateDir, 'nodes', 'node-2', 'ipam', 'pontoon', ip)
  const ruleHas = (n: string) => inNs(n, 'nft', ['list', 'ruleset']).includes(ip)
  await waitFor('victim in the Service rules of every node', () => topo.nodes.every((n) => ruleHas(n.netns)), { timeoutMs: 30_000, everyMs: 200 })
  const pids = pidsIn(nsName)
  t.ok(pids.length >= 1, 'its container runs')
  t.ok(existsSync(ipamFile), `its address is reserved (${ipamFile})`)
  const vethsBefore = inNs(topo.nodes[1]!.netns, 'ip', ['-o', 'link', 'show', 'master', 'cni0']).trim().split('\n').length
  const del = kubectl(l, ['delete', 'pod', 'victim', '--wait=true', '--timeout=60s'])
  t.equal(del.status, 0, del.stderr)
  // the kubelet tears down as the Pod goes (CNI DEL, netns) and the API may remove it meanwhile: wait for the end state
  const veths = () => inNs(topo.nodes[1]!.netns, 'ip', ['-o', 'link', 'show', 'master', 'cni0']).trim().split('\n').filter(Boolean).length
  await waitFor('victim\'s sandbox to be torn down', () => !existsSync(`/run/netns/${nsName}`) && pids.every((p) => !alivePid(p)) && !existsSync(ipamFile) && veths() === vethsBefore - 1, { timeoutMs: 30_000, everyMs: 100 })
  t.notOk(existsSync(`/run/netns/${nsName}`), 'its network namespace is gone')
  t.same(pids.filter(alivePid), [], 'its processes are gone')
  t.notOk(existsSync(ipamFile), 'its address is released')
  t.equal(veths(), vethsBefore - 1, "its veth left node-2's bridge")
  await waitFor('victim out of every node\'s rules', () => topo.nodes.every((n) => !ruleHas(n.netns)), { timeoutMs: 30_000, everyMs: 200 })
  t.pass('no rule names its address on any node')
})

t.test('down removes every namespace, process and file the lab made', async (t) => {
  const state = readLabState(l)!
  t.ok(state.processes.length >= 7, 'api + an agent and a kubelet per node were recorded')
  const r = await lab(l, ['down'])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /removed \d+ namespaces/)
  t.same(leftovers(l), [])
  for (const p of state.processes) t.notOk(readFileSafe(`/proc/${p.pid}/cmdline`).includes(l.stateDir), `pid ${p.pid} (${p.role}) gone`)
  t.same(labLines(rootNetworkView()), rootBefore, 'and the root namespace is as it was')
  const again = await lab(l, ['down'])
  t.equal(again.status, 0, 'down twice is fine')
})

function readFileSafe(p: string): string {
  try { return readFileSync(p, 'utf8') } catch { return '' }
}

