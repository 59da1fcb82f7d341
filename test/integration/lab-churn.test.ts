// Pod and node churn, restarts and repairs on one 3-node lab (no demo: the
// subtests make what they need), driven through kubectl and `pontoon lab`.
import t from 'tap'
import { join } from 'node:path'
import { netnsPath, labTopology } from '../../src/lab/topology.ts'
import { podNetnsName } from '../../src/lab/pod-netns.ts'
import { connectInNetns, tcpFirstLine } from '../../src/lab/ns-probe.ts'
import { alivePid, apply, echoPodManifest, inNs, kubectl, kubectlAsync, kubectlJson, kubectlJsonAsync, lab, leftovers, newLab, podReady, readLabState } from '../lib/lab.ts'
import { waitFor } from '../lib/wait.ts'

const l = newLab('u')
const topo = labTopology(l.prefix, 3)
t.teardown(async () => { if (readLabState(l)) await lab(l, ['down']) })

const ns = (node: number) => topo.nodes[node - 1]!.netns
const podNs = (name: string) => {
  const p = kubectlJson(l, ['get', 'pod', name])
  return netnsPath(podNetnsName(topo, p.spec.nodeName, p.metadata.uid))
}
const ask = async (nsPath: string, host: string, port: number) => {
  const r = await tcpFirstLine(nsPath, host, port, 2000)
  return r.ok ? r.line.trim() : `error ${r.error}`
}
/** A new connection to a line-echoing server: send a word, read it back. */
const freshRoundTrip = (nsPath: string, host: string, port: number) => new Promise<boolean>((res) => {
  const s = connectInNetns(nsPath, host, port)
  let got = ''
  const done = (v: boolean) => { clearTimeout(timer); s.destroy(); res(v) }
  const timer = setTimeout(() => done(false), 3000)
  s.setEncoding('utf8')
  s.once('connect', () => s.write('fresh\n'))
  s.on('data', (d: string) => { got += d; if (got.includes('fresh\n')) done(true) })
  s.once('error', () => done(false))
})
const waitReady = (name: string) => waitFor(`${name} to be Ready`, () => {
  const p = kubectlJson(l, ['get', 'pod', name])
  return podReady(p) && p
}, { timeoutMs: 60_000, everyMs: 200 })

t.test('an empty 3-node lab comes up', async (t) => {
  const r = await lab(l, ['up', '--nodes', '3', '--no-demo'])
  t.equal(r.status, 0, r.stdout + r.stderr)
  apply(l, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { nodeName: 'node-1', terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'x', command: ['sleep', 'infinity'] }] } })
  await waitReady('client')
})

t.test('a client looping on new connections while a Deployment scales 3 -> 10 -> 1 is answered every time', async (t) => {
  const create = kubectl(l, ['create', 'deployment', 'web', '--image=pontoon/echo', '--replicas=3', '--port=8080', '--', 'pontoon', 'echo', '--port', '8080'])
  t.equal(create.status, 0, create.stderr)
  // readiness: a pod is an endpoint once it listens, not when its process starts
  const probe = kubectl(l, ['patch', 'deployment', 'web', '--type=json', '-p', JSON.stringify([{ op: 'add', path: '/spec/template/spec/containers/0/readinessProbe', value: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }, { op: 'add', path: '/spec/template/spec/terminationGracePeriodSeconds', value: 5 }])])
  t.equal(probe.status, 0, probe.stderr)
  t.equal(kubectl(l, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080']).status, 0)
  const rollout = (n: number) => {
    const r = kubectl(l, ['rollout', 'status', 'deployment/web', '--timeout=120s'])
    t.equal(r.status, 0, `rollout to ${n}: ${r.stdout}${r.stderr}`)
  }
  rollout(3)
  const vip = kubectlJson(l, ['get', 'svc', 'web']).spec.clusterIP as string
  const client = podNs('client')
  await waitFor('the web Service to answer', async () => (await ask(client, vip, 80)).startsWith('web-'), { timeoutMs: 30_000, everyMs: 200 })
  let stop = false
  let asked = 0
  const failures: string[] = []
  const answeredBy = new Set<string>()
  const loop = (async () => {
    while (!stop) {
      const a = await ask(client, vip, 80)
      asked++
      if (/^web-\S+ \d+\.\d+\.\d+\.\d+:\d+$/.test(a)) answeredBy.add(a.split(' ')[0]!)
      else failures.push(a)
    }
  })()
  // From here on kubectl runs asynchronously: a blocked event loop would stall
  // the client's reads and count its own stall as a timeout.
  const readyEndpoints = async () => (await kubectlJsonAsync(l, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web'])).items
    .flatMap((x: any) => x.endpoints ?? []).filter((e: any) => e.conditions?.ready).length
  t.equal((await kubectlAsync(l, ['scale', 'deployment/web', '--replicas=10'])).status, 0)
  const up = await kubectlAsync(l, ['rollout', 'status', 'deployment/web', '--timeout=120s'])
  t.equal(up.status, 0, `rollout to 10: ${up.stdout}${up.stderr}`)
  await waitFor('10 web endpoints to be ready', async () => (await readyEndpoints()) === 10, { timeoutMs: 60_000, everyMs: 200 })
  // let the client see the ten for a while before they go
  const seenAtTen = asked
  await waitFor('the client to ask 50 times with ten endpoints', () => asked - seenAtTen >= 50, { timeoutMs: 60_000, everyMs: 50 })
  t.equal((await kubectlAsync(l, ['scale', 'deployment/web', '--replicas=1'])).status, 0)
  await waitFor('only one web pod left', async () => (await kubectlJsonAsync(l, ['get', 'pods', '-l', 'app=web'])).items.length === 1, { timeoutMs: 120_000, everyMs: 250 })
  stop = true
  await loop
  t.ok(asked > 20, `the client asked ${asked} times`)
  t.same(failures, [], `every one of ${asked} connections was answered`)
  t.ok(answeredBy.size >= 3, `answers came from ${answeredBy.size} different pods`)
  const nodes = new Set(kubectlJson(l, ['get', 'pods', '-l', 'app=web']).items.map((p: any) => p.spec.nodeName))
  t.equal(nodes.size, 1)
  kubectl(l, ['delete', 'deployment/web', 'svc/web', '--wait=false'])
})

t.test("a node deleted from the API loses its routes, neighbour and FDB entries on every other node; added again, it is reachable", async (t) => {
  const node3 = kubectlJson(l, ['get', 'node', 'node-3'])
  const cidr = node3.spec.podCIDR as string
  const vtepIp = cidr.split('/')[0]!
  const mac = node3.metadata.annotations['pontoon.io/vtep-mac'] as string
  t.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'node-3 published its VTEP MAC')
  const entries = (n: number) => ({
    route: inNs(ns(n), 'ip', ['route', 'show', cidr]).trim(),
    neigh: inNs(ns(n), 'ip', ['neigh', 'show', vtepIp]).trim(),
    fdb: inNs(ns(n), 'bridge', ['fdb', 'show']).split('\n').filter((x) => x.startsWith(mac)).join('\n'),
  })
  for (const n of [1, 2]) {
    const e = await waitFor(`node-${n} to have node-3's entries`, () => { const e = entries(n); return e.route !== '' && e.neigh !== '' && e.fdb !== '' && e }, { timeoutMs: 30_000, everyMs: 200 })
    t.match(e.route, new RegExp(`^${cidr.replace(/\./g, '\\.')} via ${vtepIp.replace(/\./g, '\\.')} dev \\S+ .*\\bonlink\\b`))
    t.match(e.fdb, /dst 172\.18\.0\.13/)
  }
  t.equal(kubectl(l, ['delete', 'node', 'node-3']).status, 0)
  for (const n of [1, 2]) {
    await waitFor(`node-${n} to drop node-3's entries`, () => { const e = entries(n); return !e.route && !e.neigh && !e.fdb }, { timeoutMs: 30_000, everyMs: 200 })
    t.pass(`node-${n}: no route, neighbour or FDB entry for node-3`)
  }
  // node-3 joins again, as `lab up` registers a node
  apply(l, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-3', labels: { 'kubernetes.io/hostname': 'node-3' } } })
  const st = kubectl(l, ['patch', 'node', 'node-3', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: {
    addresses: [{ type: 'InternalIP', address: '172.18.0.13' }, { type: 'Hostname', address: 'node-3' }],
    conditions: [{ type: 'Ready', status: 'True', reason: 'LabNodeReady', message: 'rejoined', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
  } })])
  t.equal(st.status, 0, st.stderr)
  const joined = await waitFor('node-3 to get a podCIDR and publish its VTEP', () => {
    const n = kubectlJson(l, ['get', 'node', 'node-3'])
    return n.spec.podCIDR && n.metadata.annotations?.['pontoon.io/vtep-mac'] && n
  }, { timeoutMs: 30_000, everyMs: 200 })
  apply(l, echoPodManifest('joiner', 'node-3', { app: 'joiner' }))
  const pod = await waitReady('joiner')
  t.ok(pod.status.podIP.startsWith(joined.spec.podCIDR.split('.').slice(0, 3).join('.') + '.'), `its pod is in the new podCIDR ${joined.spec.podCIDR}`)
  const clientIp = kubectlJson(l, ['get', 'pod', 'client']).status.podIP
  const a = await waitFor('joiner to answer the client on node-1', async () => { const x = await ask(podNs('client'), pod.status.podIP, 8080); return x.startsWith('joiner ') && x }, { timeoutMs: 30_000, everyMs: 200 })
  t.equal(a.split(' ')[1]!.split(':')[0], clientIp, 'across nodes, without NAT')
  kubectl(l, ['delete', 'pod', 'joiner', '--wait=false'])
})

t.test('an agent restart keeps an established TCP connection and does not flush the rules', async (t) => {
  // a server that echoes lines back: the connection stays open across the restart
  apply(l, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'holder', labels: { app: 'holder' } }, spec: { nodeName: 'node-2', terminationGracePeriodSeconds: 1,
    containers: [{ name: 'cat', image: 'x', command: ['socat', 'TCP-LISTEN:7000,fork,reuseaddr', 'EXEC:cat'], readinessProbe: { tcpSocket: { port: 7000 }, periodSeconds: 1 } }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'holder' }, spec: { selector: { app: 'holder' }, ports: [{ port: 70, targetPort: 7000, protocol: 'TCP' }] } })
  await waitReady('holder')
  const vip = kubectlJson(l, ['get', 'svc', 'holder']).spec.clusterIP
  const client = podNs('client')
  const sock = await waitFor('a connection through the holder Service', () => new Promise<ReturnType<typeof connectInNetns> | false>((res) => {
    const s = connectInNetns(client, vip, 70)
    s.once('connect', () => res(s))
    s.once('error', () => res(false))
  }), { timeoutMs: 30_000, everyMs: 200 })
  t.teardown(() => sock.destroy())
  sock.setEncoding('utf8')
  let got = ''
  sock.on('data', (d: string) => { got += d })
  const roundTrip = async (word: string) => {
    sock.write(`${word}\n`)
    await waitFor(`"${word}" echoed back`, () => got.includes(`${word}\n`), { timeoutMs: 10_000 })
  }
  await roundTrip('before')
  // An on-demand chain (one per endpoint count) that no map element points at any
  // more is left by delta syncs and pruned by the next full one, as a restart is:
  // the serving rules are the table without those.
  const rules = () => {
    const text = inNs(ns(1), 'nft', ['list', 'table', 'inet', 'pontoon'])
    const blocks = [...text.matchAll(/\n\tchain ((?:lb|sticky-update)-[\w-]+) \{\n[\s\S]*?\n\t\}\n/g)]
    return blocks.reduce((out, [block, name]) => {
      const uses = text.match(new RegExp(`${name}(?![\\w-])`, 'g'))?.length ?? 0
      return uses > 1 ? out : out.replace(block, '\n')
    }, text).replace(/\n\s*\n/g, '\n')
  }
  const before = rules()
  t.match(before, new RegExp(vip.replace(/\./g, '\\.')), "node-1's rules hold the Service")
  // the agent stops (SIGTERM, as a restart does): its rules stay, and new connections still work
  const agent = readLabState(l)!.processes.find((p) => p.role === 'agent' && p.node === 'node-1')!
  process.kill(agent.pid, 'SIGTERM')
  await waitFor('the agent on node-1 to exit', () => !alivePid(agent.pid), { timeoutMs: 30_000 })
  t.equal(rules(), before, 'with the agent gone its rules are all still there')
  t.equal(await freshRoundTrip(client, vip, 70), true, 'a new connection through the Service works while no agent runs')
  await roundTrip('during')
  const r = await lab(l, ['restart', 'agent', '--node', 'node-1'])
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /agent on node-1: pid \d+ started/)
  await waitFor('the new agent on node-1 to be healthy', async () => {
    const s = await lab(l, ['status'])
    return /node-1\s+agent\s+\d+\s+yes\s+200/.test(s.stdout)
  }, { timeoutMs: 60_000, everyMs: 500 })
  await roundTrip('after')
  t.pass('the connection opened before the restart still carries data')
  t.equal(rules(), before, 'the new agent converged on the same rules: nothing lost')
})

t.test('an API restart: the agents reconnect and converge on what changed meanwhile', async (t) => {
  const client = podNs('client')
  const r = await lab(l, ['restart', 'api'])
  t.equal(r.status, 0, r.stderr)
  await waitFor('the API to answer kubectl again', () => kubectl(l, ['get', 'nodes']).status === 0, { timeoutMs: 30_000, everyMs: 200 })
  apply(l, echoPodManifest('late', 'node-3', { app: 'late' }), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'late' }, spec: { selector: { app: 'late' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] } })
  await waitReady('late')
  const vip = kubectlJson(l, ['get', 'svc', 'late']).spec.clusterIP
  await waitFor('node-1 to program the Service made after the restart', async () => (await ask(client, vip, 80)).startsWith('late '), { timeoutMs: 60_000, everyMs: 250 })
  t.pass('a Service created after the API restart answers through node-1')
})

t.test('routes, FDB entries and rules deleted by hand come back', async (t) => {
  const n2 = kubectlJson(l, ['get', 'node', 'node-2'])
  const cidr = n2.spec.podCIDR as string
  const mac = n2.metadata.annotations['pontoon.io/vtep-mac'] as string
  const route = () => inNs(ns(1), 'ip', ['route', 'show', cidr]).trim()
  const fdb = () => inNs(ns(1), 'bridge', ['fdb', 'show']).split('\n').find((x) => x.startsWith(mac)) ?? ''
  const hasTable = () => /^table inet pontoon$/m.test(inNs(ns(1), 'nft', ['list', 'tables']))
  await waitFor('the entries to node-2 on node-1', () => route() && fdb(), { timeoutMs: 30_000 })
  const dev = /dev (\S+)/.exec(route())![1]!
  // each delete must succeed (the agent may put an entry back at once, so what follows is not read back here)
  t.notMatch(inNs(ns(1), 'ip', ['route', 'del', cidr]), /\[exit/, 'route deleted')
  t.notMatch(inNs(ns(1), 'bridge', ['fdb', 'del', mac, 'dev', dev, 'dst', '172.18.0.12']), /\[exit/, 'FDB entry deleted')
  t.notMatch(inNs(ns(1), 'nft', ['delete', 'table', 'inet', 'pontoon']), /\[exit/, 'nft table deleted')
  await waitFor('the route, the FDB entry and the table to come back', () => route() && fdb() && hasTable(), { timeoutMs: 45_000, everyMs: 250 })
  t.pass('repaired')
  const late = kubectlJson(l, ['get', 'svc', 'late']).spec.clusterIP
  let last = ''
  await waitFor('the Service answers again through node-1', async () => (last = await ask(podNs('client'), late, 80)).startsWith('late '), { timeoutMs: 30_000, everyMs: 250 }).catch(async (e) => {
    // What node-1 had when it did not answer, to tell the proxy from the overlay: the last
    // answer, the pod asked directly, node-1's table (empty lines and element-free maps
    // dropped, so the chains fit), its conntrack entries for the VIP, its routes, and its agent's last words.
    const pod = kubectlJson(l, ['get', 'pod', 'late']).status.podIP as string
    t.comment(`last answer through the Service: ${last}; the pod ${pod}:8080 directly: ${await ask(podNs('client'), pod, 8080)}`)
    t.comment(inNs(ns(1), 'nft', ['list', 'table', 'inet', 'pontoon']).replace(/\n\s*\n/g, '\n').replace(/\t(map|set) [^{]+\{\n\t\t(type|typeof)[^\n]*\n(\t\tflags[^\n]*\n)?\t\}\n/g, '').slice(0, 24000))
    t.comment(inNs(ns(1), 'conntrack', ['-L', '-d', late]))
    t.comment(inNs(ns(1), 'ip', ['route']))
    t.comment(inNs(ns(1), 'sh', ['-c', `tail -n 30 ${join(l.stateDir, 'logs', 'agent-node-1.log')}`]))
    throw e
  })
})

t.test('down leaves nothing', async (t) => {
  const pids = readLabState(l)!.processes.map((p) => p.pid)
  const r = await lab(l, ['down'])
  t.equal(r.status, 0, r.stderr)
  t.same(leftovers(l), [])
  t.same(pids.filter(alivePid), [])
})
