// The lab kubelet against a real `pontoon api`, a real CNI chain and real
// processes, inside a node namespace: pods get a netns with their IP on eth0,
// every container runs there with kubelet's environment, status follows.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { call } from '../fixtures/api/harness.ts'
import { BIN } from '../lib/cni.ts'
import { condition, kubeletNode, pod, podRecords, podWhen, NODE_IP, SUBNET_PREFIX } from '../lib/kubelet.ts'
import { waitFor } from '../lib/wait.ts'

const files = mkdtempSync(join(tmpdir(), 'pontoon-kubelet-files-'))
t.teardown(() => rmSync(files, { recursive: true, force: true }))

t.test('a pod gets a netns with its IP on eth0, both containers run there, with the environment kubelet gives', async (t) => {
  const kn = await kubeletNode(t)
  const { api, node } = kn
  // pontoon api makes default/kubernetes only for a listener off loopback; this node has none, so the test makes it
  const k8s = await call(api, 'POST', '/api/v1/namespaces/default/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes' }, spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
  })
  t.equal(k8s.status, 201, 'kubernetes service created')
  t.equal((await call(api, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } })).status, 201)
  t.equal((await call(api, 'POST', '/api/v1/namespaces/other/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'elsewhere' }, spec: { ports: [{ port: 81 }] } })).status, 201)
  const svc = await call(api, 'POST', '/api/v1/namespaces/default/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-backend' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }] },
  })
  t.equal(svc.status, 201, 'service created')
  const clusterIP = svc.body.spec.clusterIP
  const envFile = join(files, 'env-web')
  const localFile = join(files, 'local-web')
  const created = await call(api, 'POST', '/api/v1/namespaces/default/pods', pod('web', [
    { name: 'echo', command: ['pontoon', 'echo', '--port', '8080'] },
    {
      name: 'client', command: ['sh', '-c'],
      args: [`env > ${envFile}.tmp && mv ${envFile}.tmp ${envFile}; until socat -T1 - TCP:127.0.0.1:8080 > ${localFile} 2>/dev/null; do sleep 0.05; done; exec sleep 100000`],
      env: [
        { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'GREETING', value: 'hi $(MY_POD) at $(WEB_BACKEND_SERVICE_HOST) $(UNKNOWN)' },
      ],
    },
  ]))
  t.equal(created.status, 201, 'pod created')

  const p = await podWhen(api, 'web', 'Running and Ready', (p) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True')
  const ip: string = p.status.podIP
  t.ok(ip.startsWith(SUBNET_PREFIX), `podIP ${ip} from the conflist's range`)
  t.same(p.status.podIPs, [{ ip }])
  t.equal(p.status.hostIP, NODE_IP, 'hostIP is the Node InternalIP')
  t.ok(p.status.startTime)
  for (const type of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) t.equal(condition(p, type), 'True', type)
  t.same(p.status.containerStatuses.map((c: any) => [c.name, c.ready, c.started, c.restartCount, Object.keys(c.state)[0]]),
    [['echo', true, true, 0, 'running'], ['client', true, true, 0, 'running']])

  const rec = podRecords(kn.stateDir).find((r) => r.uid === p.metadata.uid)
  t.match(rec.netnsName, new RegExp(`^${kn.netnsPrefix}-p[0-9a-f]{8}$`))
  t.ok(existsSync(`/run/netns/${rec.netnsName}`), 'the pod netns is under /run/netns')
  const addrs = JSON.parse(node.run('ip', ['-n', rec.netnsName, '-j', 'addr', 'show', 'eth0']))
  t.ok(addrs[0].addr_info.some((a: any) => a.local === ip && a.prefixlen === 24), `${ip} is on eth0 in the pod netns`)
  const lo = JSON.parse(node.run('ip', ['-n', rec.netnsName, '-j', 'link', 'show', 'lo']))
  t.ok(lo[0].flags.includes('UP'), 'lo is up')
  const podNs = node.run('nsenter', [`--net=/run/netns/${rec.netnsName}`, 'readlink', '/proc/self/ns/net']).trim()
  t.equal(rec.containers.length, 2)
  for (const c of rec.containers) t.equal(readlinkSync(`/proc/${c.pid}/ns/net`), podNs, `${c.name} runs in the pod netns`)

  // from the node namespace to the pod: the echo server answers with its pod name
  // (no readinessProbe: Ready once started, as in kubelet, so the server may still be binding)
  const answer = await waitFor('the echo container to answer', () => node.try('socat', ['-T', '5', '-', `TCP:${ip}:8080`], { input: '' }).stdout || undefined)
  t.match(answer, new RegExp(`^web ${SUBNET_PREFIX.replace(/\./g, '\\.')}1:\\d+\\n$`), 'pod answers from its IP; the node reaches it via the bridge')
  // container to container over localhost
  const local = await waitFor('the client container to reach the echo container over localhost', () => (existsSync(localFile) && readFileSync(localFile, 'utf8')) || undefined)
  t.match(local, /^web 127\.0\.0\.1:\d+\n$/)

  const env = Object.fromEntries(readFileSync(envFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  t.equal(env.POD_NAME, 'web')
  t.equal(env.POD_NAMESPACE, 'default')
  t.equal(env.POD_IP, ip)
  t.equal(env.MY_POD, 'web')
  t.equal(env.MY_IP, ip)
  t.equal(env.MY_NODE, 'node-1')
  t.equal(env.GREETING, `hi web at ${clusterIP} $(UNKNOWN)`)
  t.equal(env.WEB_BACKEND_SERVICE_HOST, clusterIP)
  t.equal(env.WEB_BACKEND_SERVICE_PORT, '80')
  t.equal(env.WEB_BACKEND_SERVICE_PORT_HTTP, '80')
  t.equal(env.WEB_BACKEND_SERVICE_PORT_DNS, '53')
  t.equal(env.WEB_BACKEND_PORT, `tcp://${clusterIP}:80`)
  t.equal(env.WEB_BACKEND_PORT_53_UDP, `udp://${clusterIP}:53`)
  t.equal(env.WEB_BACKEND_PORT_53_UDP_PROTO, 'udp')
  t.equal(env.WEB_BACKEND_PORT_80_TCP_ADDR, clusterIP)
  t.equal(env.KUBERNETES_SERVICE_HOST, '10.96.0.1', 'the kubernetes Service of the default namespace')
  t.equal(env.KUBERNETES_SERVICE_PORT, '443')
  t.equal(env.KUBERNETES_SERVICE_PORT_HTTPS, '443')
  t.equal(env.ELSEWHERE_SERVICE_HOST, undefined, "another namespace's Service is not in the environment")
  t.equal(env.PATH?.split(':')[0], BIN, 'the pontoon launcher comes first on PATH')
})
