// kubectl against `pontoon api`: apply, get -o yaml / -o wide, re-apply,
// delete, and `get -w` seeing a change made by a second kubectl.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { parse } from 'yaml'
import { FIXTURES, eventually, kubectl, startApi, tempDir } from '../fixtures/api/harness.ts'

t.test('kubectl apply, get, re-apply, watch and delete', async (t) => {
  const api = await startApi(t, { dataDir: tempDir(t, 'kubectl') })
  const manifest = join(FIXTURES, 'good/web.yaml')

  const applied = kubectl(api, ['apply', '-f', manifest])
  t.equal(applied.status, 0, applied.stderr)
  t.match(applied.stdout, /service\/web created/)
  t.match(applied.stdout, /pod\/web-1 created/)
  t.match(applied.stdout, /node\/node-a created/)
  t.match(applied.stdout, /endpointslice.discovery.k8s.io\/manual-1 created/)

  const svc = parse(kubectl(api, ['get', 'svc', 'web', '-o', 'yaml']).stdout)
  t.match(svc.spec.clusterIP, /^10\.96\.\d+\.\d+$/, 'clusterIP from the service CIDR')
  t.same(svc.spec.clusterIPs, [svc.spec.clusterIP])
  const nodePorts = svc.spec.ports.map((p: { nodePort: number }) => p.nodePort)
  t.ok(nodePorts.every((p: number) => p >= 30000 && p <= 32767), `nodePorts ${nodePorts}`)
  t.not(nodePorts[0], nodePorts[1], 'distinct nodePorts')
  t.match(svc.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], /"name":"web"/)
  t.match(svc.metadata.resourceVersion, /^\d+$/)

  const wide = kubectl(api, ['get', 'pods,svc,nodes,endpointslices', '-o', 'wide'])
  t.equal(wide.status, 0, wide.stderr)
  for (const name of ['pod/web-1', 'service/web', 'node/node-a', 'endpointslice.discovery.k8s.io/manual-1']) t.match(wide.stdout, name)
  // server-side Table columns, wide ones included
  t.match(wide.stdout, /CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR/)
  t.match(wide.stdout, new RegExp(`service/web\\s+NodePort\\s+${svc.spec.clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+80:${nodePorts[0]}/TCP,53:${nodePorts[1]}/UDP`))
  t.match(wide.stdout, /pod\/web-1\s+0\/1\s+Pending\s+0\s+\S+\s+10\.244\.0\.5\s+node-a/)
  t.match(wide.stdout, /INTERNAL-IP/)
  t.match(wide.stdout, /node\/node-a\s.*172\.18\.0\.2/)

  // the controller made a slice for web, with the named port resolved
  const slice = await eventually(() => {
    const out = parse(kubectl(api, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'yaml']).stdout)
    return out.items.length ? out.items[0] : undefined
  }, 10_000, 'controller slice')
  t.same(slice.ports.map((p: { name: string; port: number; protocol: string }) => [p.name, p.port, p.protocol]).sort(), [['dns', 5353, 'UDP'], ['http', 8080, 'TCP']])
  t.same(slice.endpoints[0].addresses, ['10.244.0.5'])
  t.equal(slice.endpoints[0].nodeName, 'node-a')

  // podCIDR assigned to the node
  const node = await eventually(() => {
    const n = parse(kubectl(api, ['get', 'node', 'node-a', '-o', 'yaml']).stdout)
    return n.spec?.podCIDR ? n : undefined
  }, 10_000, 'podCIDR')
  t.match(node.spec.podCIDR, /^10\.244\.\d+\.0\/24$/)

  // re-apply with a changed port list: strategic merge patch drops the removed port
  const changed = (await import('node:fs')).readFileSync(manifest, 'utf8').replace(/  - name: dns\n    port: 53\n    protocol: UDP\n    targetPort: 5353\n/, '')
  const again = kubectl(api, ['apply', '-f', '-'], changed)
  t.equal(again.status, 0, again.stderr)
  t.match(again.stdout, /service\/web configured/)
  t.match(again.stdout, /pod\/web-1 unchanged/)
  const svc2 = parse(kubectl(api, ['get', 'svc', 'web', '-o', 'yaml']).stdout)
  t.same(svc2.spec.ports.map((p: { name: string }) => p.name), ['http'])
  t.equal(svc2.spec.clusterIP, svc.spec.clusterIP, 'clusterIP kept')
  t.equal(svc2.spec.ports[0].nodePort, nodePorts[0], 'nodePort kept')
  t.ok(Number(svc2.metadata.resourceVersion) > Number(svc.metadata.resourceVersion), 'resourceVersion grew')

  // get -w in one kubectl sees a label set by another
  const w = spawn('kubectl', ['--kubeconfig', api.kubeconfig, 'get', 'svc', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { w.kill() })
  let seen = ''
  w.stdout.on('data', (d: Buffer) => (seen += d.toString()))
  await eventually(() => (/ADDED\s+web/.test(seen) ? true : undefined), 15_000, 'initial watch output')
  const before = seen.length
  const label = kubectl(api, ['label', 'svc', 'web', 'seen=yes'])
  t.equal(label.status, 0, label.stderr)
  await eventually(() => (/MODIFIED\s+web/.test(seen.slice(before)) ? true : undefined), 15_000, 'MODIFIED in get -w')
  const del = kubectl(api, ['delete', 'svc', 'web'])
  t.equal(del.status, 0, del.stderr)
  await eventually(() => (/DELETED\s+web/.test(seen.slice(before)) ? true : undefined), 15_000, 'DELETED in get -w')

  const gone = kubectl(api, ['get', 'svc', 'web'])
  t.not(gone.status, 0)
  t.match(gone.stderr, /NotFound|not found/)
  // the controller removed the Service's slice
  await eventually(() => (parse(kubectl(api, ['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'yaml']).stdout).items.length === 0 ? true : undefined), 10_000, 'slice removal')
  t.equal(await api.stop(), 0, 'clean exit on SIGTERM')
})
