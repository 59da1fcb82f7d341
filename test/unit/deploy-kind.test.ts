// deploy/kind/ validated offline: every document of pontoon.yaml against the
// Kubernetes schemas (kubernetes-models: types, enums, required fields; kubectl
// cannot validate without a server), then what pontoon itself needs from the
// manifest (research/deploy.md), and RBAC equal to the calls the agent makes.
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import yargs from 'yargs'
import { DaemonSet } from 'kubernetes-models/apps/v1'
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1'
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { agentCommand } from '../../src/cli/agent.ts'
import { RESOURCES } from '../../src/cluster/resources.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string
const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/kind/pontoon.yaml'), 'utf8')).map((d) => d.toJS())
const byKind = (kind: string) => docs.find((d) => d.kind === kind)
const ds = byKind('DaemonSet')
const pod = ds.spec.template.spec
const agent = pod.containers.find((c: any) => c.name === 'agent')
const init = pod.initContainers.find((c: any) => c.name === 'install-cni')

/** The agent's argv as yargs parses it with the real builder (strict: an unknown flag fails). */
function agentFlags(command: string[]): Record<string, unknown> {
  const argv = command.slice(1).map((a) => a.replace('$(NODE_NAME)', 'kind-worker'))
  const y = yargs(argv).command({ ...agentCommand, handler: () => {} } as never).strict().exitProcess(false).fail((msg: string) => { throw new Error(msg) })
  return y.parseSync() as Record<string, unknown>
}

const mountOf = (c: any, name: string) => c.volumeMounts?.find((m: any) => m.name === name)
const volume = (name: string) => pod.volumes.find((v: any) => v.name === name)
/** The hostPath behind a path inside the container, by its longest mount prefix. */
function hostPathAt(c: any, path: string): string | undefined {
  const m = (c.volumeMounts ?? []).filter((m: any) => path === m.mountPath || path.startsWith(m.mountPath + '/')).sort((a: any, b: any) => b.mountPath.length - a.mountPath.length)[0]
  const v = m && volume(m.name)
  return v?.hostPath ? v.hostPath.path + path.slice(m.mountPath.length) : undefined
}

t.test('every document of pontoon.yaml passes the Kubernetes schema', async (t) => {
  t.same(docs.map((d) => d.kind), ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet'])
  const models: Record<string, new (d: any) => { validate(): void }> = { ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet }
  for (const d of docs) t.doesNotThrow(() => new models[d.kind]!(d).validate(), `${d.kind}/${d.metadata.name} is valid`)
})

t.test('the validator catches what it should (a mistyped field is not waved through)', async (t) => {
  const bad = structuredClone(ds)
  bad.spec.template.spec.hostNetwork = 'yes'
  t.throws(() => new DaemonSet(bad).validate(), 'hostNetwork: "yes" is refused')
  const noImage = structuredClone(ds)
  delete noImage.spec.template.spec.containers[0].name
  t.throws(() => new DaemonSet(noImage).validate(), 'a container without a name is refused')
  const badProp = structuredClone(ds)
  badProp.spec.template.spec.containers[0].volumeMounts[0].mountPropagation = 'Sideways'
  t.throws(() => new DaemonSet(badProp).validate(), 'an unknown mountPropagation is refused')
})

t.test('the DaemonSet runs where pontoon must: host network, critical, tolerating NotReady nodes', async (t) => {
  t.equal(ds.metadata.namespace, 'kube-system')
  t.equal(pod.hostNetwork, true)
  t.equal(pod.priorityClassName, 'system-node-critical')
  t.ok(pod.tolerations.some((x: any) => x.operator === 'Exists' && !x.key && !x.effect), 'one toleration that tolerates every taint')
  t.equal(pod.serviceAccountName, byKind('ServiceAccount').metadata.name)
  t.equal(ds.spec.updateStrategy.type, 'RollingUpdate')
})

t.test('images: the version the image build tags, never latest, IfNotPresent (a kind-loaded image is never re-pulled)', async (t) => {
  for (const c of [...pod.initContainers, ...pod.containers]) {
    const [name, tag] = c.image.split(/:(?=[^/:]+$)/)
    t.equal(name, 'docker.io/library/pontoon', `${c.name}: the name npm run image writes`)
    t.equal(tag, VERSION, `${c.name}: tagged with package.json's version`)
    t.not(tag, 'latest')
    t.equal(c.imagePullPolicy, 'IfNotPresent', `${c.name}: IfNotPresent`)
  }
})

t.test('the agent: privileged, the flags it really takes, and the mounts its work needs', async (t) => {
  t.equal(agent.securityContext.privileged, true, 'privileged: setns into pods and /proc/sys writes')
  const flags = agentFlags(agent.command)
  t.equal(agent.command[0], '/opt/pontoon/bin/pontoon')
  t.equal(flags['node-name'], 'kind-worker')
  t.same(agent.env.find((e: any) => e.name === 'NODE_NAME').valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } }, 'node name from the downward API')
  t.equal(flags['proxy-mode'], 'nftables')
  t.equal(flags.overlay, 'vxlan')
  t.equal(flags['cni-mtu'], 1450, 'kind eth0 is 1500: VXLAN leaves 1450')
  const kindCfg = parse(readFileSync(join(ROOT, 'deploy/kind/kind-config.yaml'), 'utf8'))
  t.equal(flags['cluster-cidr'], kindCfg.networking.podSubnet, "--cluster-cidr is kind's podSubnet")
  t.equal(hostPathAt(agent, flags['cni-conf-dir'] as string), '/etc/cni/net.d', 'the conflist lands in the node\'s /etc/cni/net.d')
  t.equal(hostPathAt(agent, flags['cni-socket'] as string), flags['cni-socket'], 'the CNI socket is at the same path on the node (the conflist names it)')
  t.equal(hostPathAt(agent, '/var/lib/cni/networks'), '/var/lib/cni/networks', 'IPAM state shared with the host-side plugin, same path')
  const netns = mountOf(agent, 'netns')
  t.equal(volume('netns').hostPath.path, '/var/run/netns')
  t.equal(netns.mountPath, '/var/run/netns')
  t.equal(netns.mountPropagation, 'HostToContainer', 'pod namespaces made after the agent started show up in it')
  t.same(volume('xtables-lock').hostPath, { path: '/run/xtables.lock', type: 'FileOrCreate' })
  t.equal(mountOf(agent, 'xtables-lock').mountPath, '/run/xtables.lock')
  t.equal(volume('lib-modules').hostPath.path, '/lib/modules')
  t.equal(mountOf(agent, 'lib-modules').readOnly, true)
  for (const probe of [agent.readinessProbe, agent.livenessProbe]) {
    t.equal(probe.httpGet.path, '/healthz')
    t.equal(String(probe.httpGet.port), (flags['healthz-bind-address'] as string).split(':').pop())
  }
  const envFrom = agent.envFrom.find((e: any) => e.configMapRef)
  t.equal(envFrom.configMapRef.optional, true, 'the API server ConfigMap is optional')
  const cm = byKind('ConfigMap')
  t.equal(envFrom.configMapRef.name, cm.metadata.name)
  t.same(Object.keys(cm.data).sort(), ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'])
  t.equal(cm.data.KUBERNETES_SERVICE_HOST, `${kindCfg.name}-control-plane`, "kind's control plane, by the cluster's name")
})

t.test('the init container installs into the node\'s CNI bin dir with the image\'s script', async (t) => {
  t.same(init.command, ['/opt/pontoon/install-cni', '/host/opt/cni/bin'])
  t.equal(hostPathAt(init, '/host/opt/cni/bin'), '/opt/cni/bin', "kind's CNI bin dir")
  t.notOk(init.securityContext?.privileged, 'copying files needs no privilege')
})

t.test('kind-config: no kindnet, no kube-proxy, pontoon\'s subnets, two workers', async (t) => {
  const c = parse(readFileSync(join(ROOT, 'deploy/kind/kind-config.yaml'), 'utf8'))
  t.equal(c.kind, 'Cluster')
  t.equal(c.apiVersion, 'kind.x-k8s.io/v1alpha4')
  t.same(c.networking, { disableDefaultCNI: true, kubeProxyMode: 'none', podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16' })
  t.same(c.nodes.map((n: any) => n.role), ['control-plane', 'worker', 'worker'])
})

/** Files under src/ whose code the agent runs (the lab, the kubelet, the API server and the VM harness are other commands). */
function agentSources(dir = join(ROOT, 'src')): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir)) {
    const p = join(dir, e)
    if (statSync(p).isDirectory()) {
      if (!['lab', 'api', 'vm', 'demo', 'echo'].includes(e)) out.push(...agentSources(p))
    } else if (p.endsWith('.ts')) out.push(p)
  }
  return out
}

t.test('RBAC: exactly the verbs of the agent\'s API calls', async (t) => {
  // Reads: the informer cache lists and watches each resource it follows.
  const want = new Set<string>()
  for (const r of Object.values(RESOURCES)) {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/([^/]+)$/.exec(r.path)!
    for (const verb of ['list', 'watch']) want.add(`${m[1] ?? ''}/${m[2]}/${verb}`)
  }
  // Writes: every call site of the transport's writers. Today one: the overlay patches its own Node.
  const writers: string[] = []
  for (const f of agentSources()) {
    const text = readFileSync(f, 'utf8')
    for (const m of text.matchAll(/\.(mergePatch|send)\(([^)\n]*)/g)) {
      if (f.endsWith('http-transport.ts')) continue // the transport's own definitions
      if (m[1] === 'send' && !/'(POST|PUT|PATCH|DELETE)'/.test(m[2]!)) continue // socket sends, not API writes
      writers.push(`${f.slice(ROOT.length + 1)}: ${m[0]}`)
    }
  }
  t.same(writers, ['src/overlay/start.ts: .mergePatch(path, { metadata: { annotations } }'], 'the agent\'s only API write (a new one must be added to the ClusterRole and here)')
  t.match(readFileSync(join(ROOT, 'src/overlay/start.ts'), 'utf8'), /const path = `\/api\/v1\/nodes\/\$\{/, 'that patch goes to /api/v1/nodes/NAME')
  want.add('/nodes/patch')

  const role = byKind('ClusterRole')
  const got = new Set<string>()
  for (const rule of role.rules) for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) got.add(`${g}/${r}/${v}`)
  t.same([...got].sort(), [...want].sort(), 'ClusterRole = the agent\'s calls, no more, no less')
  const binding = byKind('ClusterRoleBinding')
  t.same(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name })
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: 'pontoon', namespace: 'kube-system' }])
})
