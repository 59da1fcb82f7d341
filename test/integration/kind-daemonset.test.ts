// deploy/kind/pontoon.yaml, run as kind runs it, with a kubelet in a script:
// two "kind nodes" (a netns each on a wire, containerd inside with the node's
// own /run, /etc/cni/net.d, /opt/cni/bin, /var/lib/cni), `pontoon api` on the
// wire as the control plane. The image from `npm run image` is imported with
// kind's own command; the DaemonSet's pod template is translated into `ctr run`
// flags (test/lib/pod-to-ctr.ts): the init container installs the plugin, the
// agent runs privileged on the host network with its hostPaths and service
// account. Pods are made as the CRI makes them: a netns under /run/netns, the
// node's first conflist run plugin by plugin from /opt/cni/bin, then the
// container in that netns. Then a rolling upgrade and a deleted agent.
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { call } from '../fixtures/api/harness.ts'
import { makeNetns, type Netns } from '../lib/netns.ts'
import { busyboxRootfs } from '../lib/containerd.ts'
import { startKindNode, KIND_PLUGINS, type KindNode } from '../lib/kind-node.ts'
import { ctrRunFor, type KubeletFacts } from '../lib/pod-to-ctr.ts'
import { startOverlayApi, createNode, WIRE_IP, WIRE_PREFIX, API_PORT } from '../lib/overlay-lab.ts'
import { waitFor } from '../lib/wait.ts'
import { ROOT, BIN } from '../lib/cni.ts'
import { parseConflist, pluginConfig, pluginOrder, cniArgs, podIPs } from '../../src/lab/kubelet/cni-chain.ts'

t.setTimeout(900_000)

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
const IMAGE = `docker.io/library/pontoon:${VERSION}`
const NEXT_TAG = `${VERSION}-next`
const NEXT = `docker.io/library/pontoon:${NEXT_TAG}`
const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kind/pontoon.yaml'), 'utf8')).map((d) => d.toJS())
const ds = docs.find((d) => d.kind === 'DaemonSet')
const cm = docs.find((d) => d.kind === 'ConfigMap')
const podSpec = ds.spec.template.spec
const initSpec = podSpec.initContainers[0]
const agentSpec = podSpec.containers[0]

const work = mkdtempSync(join(tmpdir(), 'pontoon-kind-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))

/** scripts/image/build.mjs in the background (the event loop keeps polling nodes meanwhile). */
function buildImage(out: string, args: string[] = []): Promise<{ digest: string; compressedBytes: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'scripts/image/build.mjs'), '--out', out, ...args], { encoding: 'utf8', timeout: 280_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`image build failed: ${stderr}`))
      resolve(JSON.parse(stdout.trim().split('\n').pop()!))
    })
  })
}

/** The pod's HTTP answer (its name), fetched from a namespace. */
function httpGet(from: Netns, host: string, port: number): string | undefined {
  const r = from.try('socat', ['-T', '3', '-', `TCP:${host}:${port},connect-timeout=3`], { input: 'GET / HTTP/1.0\r\n\r\n' })
  if (r.status !== 0) return undefined
  return r.stdout.split('\r\n\r\n')[1]?.trim()
}

interface Pod { name: string; node: KindNode; ns: Netns; ip: string; id: string }

t.test('the DaemonSet on two kind nodes: install, agents, pods across nodes and a ClusterIP, a rolling upgrade, a deleted agent', async (t) => {
  // --- the image (test/integration/image-build.test.ts checks that two builds are one) -------------
  const archive = join(work, 'pontoon.oci.tar')
  const first = await buildImage(archive)
  t.ok(first.compressedBytes <= 60e6, `the image is at most 60 MB compressed (${(first.compressedBytes / 1e6).toFixed(1)} MB)`)
  const index = JSON.parse(spawnSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' }).stdout)
  t.equal(index.manifests[0].annotations['io.containerd.image.name'], IMAGE, 'the full image name is in index.json')
  t.comment(`image ${(first.compressedBytes / 1e6).toFixed(1)} MB compressed, built in ${first.seconds.toFixed(1)} s`)
  // The rolling upgrade's image: another bundle (one more line in it), built while the nodes come up.
  const nextBin = join(work, 'next-bin')
  cpSync(BIN, nextBin, { recursive: true, filter: (s) => !s.includes('.compile-cache') })
  appendFileSync(join(nextBin, 'pontoon.d/pontoon.mjs'), '\n// the next version\n')
  const nextArchive = join(work, 'next.oci.tar')
  const nextBuild = buildImage(nextArchive, ['--tag', NEXT_TAG, '--bin', nextBin])
  nextBuild.catch(() => {}) // awaited below; a failure is reported there

  // --- wire, control plane, nodes ----------------------------------------------------------
  const nss: Netns[] = []
  t.teardown(() => { for (const n of nss.reverse()) n.destroy() })
  const mk = (tag: string) => { const n = makeNetns(tag); nss.push(n); return n }
  const wire = mk('kw')
  wire.run('ip', ['link', 'add', 'br0', 'type', 'bridge'])
  wire.run('ip', ['addr', 'add', `${WIRE_IP}/${WIRE_PREFIX}`, 'dev', 'br0'])
  wire.run('ip', ['link', 'set', 'br0', 'up'])
  const api = await startOverlayApi(t, wire)
  const kc = JSON.parse(readFileSync(api.nodeKubeconfig, 'utf8'))
  // The pod's service account: the API's token and CA, as the kubelet projects them.
  const saDir = join(work, 'serviceaccount')
  mkdirSync(saDir)
  writeFileSync(join(saDir, 'token'), kc.users[0].user.token)
  writeFileSync(join(saDir, 'ca.crt'), Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64'))
  writeFileSync(join(saDir, 'namespace'), 'kube-system')

  const nodes: KindNode[] = []
  t.teardown(() => { for (const n of nodes) n.stop() })
  for (const i of [1, 2]) {
    const name = `kind-worker${i}`
    const ip = `172.19.0.${10 + i}`
    const ns = mk(`kn${i}-`)
    wire.run('ip', ['link', 'add', `k${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.path])
    wire.run('ip', ['link', 'set', `k${i}`, 'master', 'br0'])
    wire.run('ip', ['link', 'set', `k${i}`, 'up'])
    ns.run('ip', ['addr', 'add', `${ip}/${WIRE_PREFIX}`, 'dev', 'eth0'])
    ns.run('ip', ['link', 'set', 'eth0', 'up'])
    ns.run('ip', ['route', 'add', 'default', 'via', WIRE_IP])
    await createNode(api, name, `10.244.${i}.0/24`, ip)
    nodes.push(await startKindNode(ns, name, ip))
  }

  // --- kind load image-archive: its exact import, on every node -----------------------------
  const load = (n: KindNode, file: string, name: string) => {
    const r = n.ctr(['images', 'import', '--all-platforms', '--digests', '--snapshotter=overlayfs', '-'], { input: readFileSync(file), timeoutMs: 180_000 })
    t.equal(r.status, 0, `${n.name}: ctr images import: ${r.stderr}`)
    t.match(n.ctr(['images', 'ls', '-q']).stdout, new RegExp(`^${name.replace(/[.]/g, '\\.')}$`, 'm'), `${n.name}: ${name} is there under its full name`)
  }
  for (const n of nodes) load(n, archive, IMAGE)

  // --- the kubelet: a pod template container -> ctr run ---------------------------------------
  const facts = (n: KindNode): KubeletFacts => ({
    nodeName: n.name,
    // The ConfigMap of pontoon.yaml, pointed at this control plane (on kind: pontoon-control-plane:6443).
    configMaps: { [cm.metadata.name]: { ...cm.data, KUBERNETES_SERVICE_HOST: WIRE_IP, KUBERNETES_SERVICE_PORT: String(API_PORT) } },
    serviceEnv: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    serviceAccountDir: saDir,
  })
  let seq = 0
  const prepare = (n: KindNode, spec: any) => {
    const run = ctrRunFor(podSpec, spec, facts(n))
    for (const c of run.create) {
      const r = c.type === 'DirectoryOrCreate' ? n.exec('mkdir', ['-p', c.path]) : n.exec('sh', ['-c', 'mkdir -p "$(dirname "$1")" && touch "$1"', 'sh', c.path])
      if (r.status !== 0) throw new Error(`${n.name}: hostPath ${c.path}: ${r.stderr}`)
    }
    return run
  }
  const runInit = (n: KindNode, image: string) => {
    const run = prepare(n, initSpec)
    return n.ctr(['run', '--rm', '--fifo-dir', n.fifoDir, ...run.flags, image, `init-${n.name}-${++seq}`, ...run.argv], { timeoutMs: 120_000 })
  }
  const agents = new Map<string, string>()
  const startAgentOn = (n: KindNode, image: string) => {
    const run = prepare(n, agentSpec)
    const id = `agent-${n.name}-${++seq}`
    const r = n.ctr(['run', '-d', '--fifo-dir', n.fifoDir, '--log-uri', `file://${join(n.dir, id + '.log')}`, ...run.flags, image, id, ...run.argv])
    if (r.status !== 0) throw new Error(`${n.name}: ctr run agent: ${r.stderr}`)
    agents.set(n.name, id)
    return { id, started: Date.now(), env: run.env }
  }
  const agentLog = (n: KindNode) => { try { return readFileSync(join(n.dir, agents.get(n.name) + '.log'), 'utf8').slice(-3000) } catch { return '' } }
  const healthz = (n: KindNode) => n.ns.try('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${n.ip}:10256/healthz`]).stdout
  const waitHealthy = (n: KindNode) => waitFor(`${n.name}'s agent /healthz 200`, () => healthz(n) === '200', { timeoutMs: 120_000, everyMs: 100 })
    .catch((e) => { throw new Error(`${e.message}\n${agentLog(n)}`) })
  const stopAgent = async (n: KindNode, signal: string) => {
    const id = agents.get(n.name)!
    t.equal(n.ctr(['task', 'kill', '-s', signal, id]).status, 0, `${n.name}: ${signal} to the agent`)
    await waitFor(`${n.name}'s agent task to end`, () => !new RegExp(`^${id}\\s+\\d+\\s+RUNNING$`, 'm').test(n.ctr(['task', 'ls']).stdout), { timeoutMs: 60_000, everyMs: 100 })
    n.ctr(['task', 'delete', id])
    t.equal(n.ctr(['container', 'rm', id]).status, 0, `${n.name}: the agent's container is deleted`)
  }

  // --- init containers: the plugin lands in /opt/cni/bin by copy-then-rename -------------------
  for (const n of nodes) {
    const r = runInit(n, IMAGE)
    t.equal(r.status, 0, `${n.name}: install-cni exits 0: ${r.stdout}${r.stderr}`)
    const ls = n.exec('ls', ['-la', '/opt/cni/bin/'])
    for (const p of ['pontoon-cni', 'pontoon-ipam', ...KIND_PLUGINS]) t.match(ls.stdout, new RegExp(` ${p}$`, 'm'), `${n.name}: /opt/cni/bin/${p}`)
    t.match(ls.stdout, / pontoon\.d -> pontoon\.d-[0-9a-f]{12}$/m, `${n.name}: pontoon.d is a symlink to a versioned directory`)
    t.equal(n.exec('/opt/cni/bin/pontoon-ipam', [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' }).status, 0, `${n.name}: the installed plugin runs on the node`)
  }
  const again2 = runInit(nodes[0]!, IMAGE)
  t.equal(again2.status, 0, 'a second run of the init container (a pod restart) succeeds')

  // --- pods, as the CRI makes them --------------------------------------------------------------
  const pods: Pod[] = []
  t.teardown(() => { for (const p of pods) p.node.ctr(['task', 'kill', '-s', 'SIGKILL', p.id]) })
  const cniChain = (n: KindNode, command: 'ADD' | 'DEL', p: { id: string; name: string; nsPath: string }) => {
    const conf = n.exec('sh', ['-c', 'cat "$(ls /etc/cni/net.d/*.conflist | sort | head -1)"'])
    const list = parseConflist(conf.stdout, '/etc/cni/net.d')
    let prev: unknown
    for (const i of pluginOrder(list, command)) {
      const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: p.id, CNI_NETNS: p.nsPath, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', CNI_ARGS: cniArgs({ namespace: 'default', name: p.name, uid: p.id, sandboxId: p.id }) }
      const r = n.exec(`/opt/cni/bin/${list.plugins[i]!.type}`, [], { env, input: JSON.stringify(pluginConfig(list, i, command === 'ADD' ? prev : undefined)) })
      if (r.status !== 0) throw new Error(`${n.name}: ${command} ${list.plugins[i]!.type} for ${p.name}: ${r.stdout}${r.stderr}\n${agentLog(n)}`)
      if (command === 'ADD') prev = JSON.parse(r.stdout)
    }
    return prev
  }
  const makePod = (n: KindNode, name: string): Pod => {
    const ns = mk(`kp-${name}-`)
    const id = `pod-${name}`
    // CNI_NETNS as the CRI passes it: /var/run/netns/<name>, seen by the agent through its HostToContainer mount.
    const result = cniChain(n, 'ADD', { id, name, nsPath: `/var/run/netns/${ns.name}` })
    const ip = podIPs(result, 'eth0')[0]!
    const rootfs = busyboxRootfs(join(work, 'rootfs', name))
    writeFileSync(join(rootfs, 'www/index.html'), `${name}\n`)
    const r = n.ctr(['run', '-d', '--null-io', '--fifo-dir', n.fifoDir, '--with-ns', `network:/run/netns/${ns.name}`, '--rootfs', rootfs, id, '/bin/httpd', '-f', '-p', '8080', '-h', '/www'])
    if (r.status !== 0) throw new Error(`${n.name}: ctr run ${id}: ${r.stderr}`)
    const pod = { name, node: n, ns, ip, id }
    pods.push(pod)
    return pod
  }
  // --- agents: healthy, conflists written ------------------------------------------------------
  const timing: string[] = []
  let firstPod: Pod | undefined
  const starts = nodes.map((n) => startAgentOn(n, IMAGE))
  t.equal(starts[0]!.env.KUBERNETES_SERVICE_HOST, WIRE_IP, 'the ConfigMap\'s API address wins over the Service variables')
  for (const [i, n] of nodes.entries()) {
    await waitHealthy(n)
    timing.push(`${n.name}: ctr run -> healthy ${((Date.now() - starts[i]!.started) / 1000).toFixed(1)} s`)
    const conf = await waitFor(`${n.name}'s conflist`, () => { const r = n.exec('cat', ['/etc/cni/net.d/10-pontoon.conflist']); return r.status === 0 && r.stdout })
    const list = JSON.parse(conf)
    t.equal(list.plugins[0].ipam.ranges[0][0].subnet, `10.244.${i + 1}.0/24`, `${n.name}: the conflist carries its podCIDR`)
    t.equal(list.plugins[0].agentSocket, '/run/pontoon/cni.sock', `${n.name}: and the agent's socket`)
    t.equal(list.plugins[0].mtu, 1450)
    if (i === 0) {
      firstPod = makePod(n, 'a')
      timing.push(`${n.name}: ctr run of the agent -> first pod IP ${((Date.now() - starts[0]!.started) / 1000).toFixed(1)} s`)
    }
  }
  const a = firstPod!

  const b = makePod(nodes[1]!, 'b')
  t.match(a.ip, /^10\.244\.1\.\d+$/, 'pod a has an IP from kind-worker1\'s podCIDR')
  t.match(b.ip, /^10\.244\.2\.\d+$/, 'pod b has an IP from kind-worker2\'s podCIDR')
  t.same(JSON.parse(a.ns.run('ip', ['-j', '-4', 'addr', 'show', 'eth0']))[0].addr_info.map((x: any) => x.local), [a.ip], 'pod a\'s eth0 carries it')

  // A Service over both pods; the agents program its ClusterIP.
  const svc = await call(api, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } })
  t.equal(svc.status, 201, JSON.stringify(svc.body).slice(0, 300))
  const clusterIP = (svc.body as any).spec.clusterIP as string
  const eps = (ps: Pod[]) => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: ps.map((p) => ({ addresses: [p.ip], conditions: { ready: true }, nodeName: p.node.name })) })
  t.equal((await call(api, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', eps([a, b]))).status, 201)

  const traffic = async (what: string, ps: Pod[]) => {
    for (const from of ps) for (const to of ps) {
      if (from === to) continue
      const got = await waitFor(`${from.name} -> ${to.name} (${what})`, () => httpGet(from.ns, to.ip, 8080) === to.name, { timeoutMs: 30_000, everyMs: 200 }).catch(() => false)
      t.ok(got, `${what}: ${from.name} (${from.node.name}) reaches ${to.name} (${to.node.name}) at ${to.ip}`)
    }
    for (const from of ps) {
      const seen = await waitFor(`${from.name} -> ClusterIP (${what})`, () => { const r = httpGet(from.ns, clusterIP, 80); return r && ['a', 'b'].includes(r) ? r : undefined }, { timeoutMs: 30_000, everyMs: 200 }).catch(() => undefined)
      t.ok(seen, `${what}: ${from.name} reaches the Service at ${clusterIP}:80 (answered by ${seen})`)
    }
  }
  await traffic('fresh', [a, b])

  // --- rolling upgrade: a second image, init re-run while the old agent serves ------------------
  const next = await nextBuild
  t.not(next.digest, first.digest, 'the next image is another image')
  for (const n of nodes) load(n, nextArchive, NEXT)

  const c = makePod(nodes[0]!, 'c') // made before the upgrade, on the node upgraded first
  for (const [i, n] of nodes.entries()) {
    const before = n.exec('readlink', ['/opt/cni/bin/pontoon.d']).stdout.trim()
    const init = runInit(n, NEXT)
    t.equal(init.status, 0, `${n.name}: the new init container runs beside the old agent: ${init.stderr}`)
    const after = n.exec('readlink', ['/opt/cni/bin/pontoon.d']).stdout.trim()
    t.not(after, before, `${n.name}: pontoon.d now points at the new version (${after})`)
    t.equal(n.exec('test', ['-d', `/opt/cni/bin/${before}`]).status, 0, `${n.name}: the old version's directory stays for plugins still running from it`)
    t.equal(healthz(n), '200', `${n.name}: the old agent still serves`)
    await traffic(`${n.name} init re-run`, [a, b, c])
    await stopAgent(n, 'SIGTERM')
    await traffic(`${n.name} without an agent`, [a, b, c])
    startAgentOn(n, NEXT)
    await waitHealthy(n)
    const fresh = makePod(n, `u${i + 1}`)
    t.match(fresh.ip, new RegExp(`^10\\.244\\.${i + 1}\\.\\d+$`), `${n.name}: a pod made through the new agent gets an IP`)
    t.notOk([a, b, c].some((p) => p.ip === fresh.ip), `${n.name}: not one already in use: the new agent kept the IPAM state`)
  }
  await traffic('after the upgrade', pods)

  // --- the agent's container deleted: pods keep working, the next agent adopts ------------------
  const n2 = nodes[1]!
  await stopAgent(n2, 'SIGKILL')
  await traffic('kind-worker2 agent deleted', pods)
  startAgentOn(n2, NEXT)
  await waitHealthy(n2)
  await traffic('kind-worker2 next agent', pods)
  // The adopted pod's teardown goes through the new agent: DEL releases b's address.
  const reserved = () => n2.exec('ls', ['/var/lib/cni/networks/pontoon']).stdout.split('\n')
  t.ok(reserved().includes(b.ip), 'b\'s reservation is on disk')
  cniChain(n2, 'DEL', { id: b.id, name: b.name, nsPath: `/var/run/netns/${b.ns.name}` })
  t.notOk(reserved().includes(b.ip), 'DEL through the next agent released b\'s address')
  for (const line of timing) t.comment(line)
})
