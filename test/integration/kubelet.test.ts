// The lab kubelet against a real `pontoon api`, a real CNI chain and real
// processes, inside a node namespace: pods get a netns with their IP on eth0,
// every container runs there with kubelet's environment, status follows.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { call, kubectl } from '../fixtures/api/harness.ts'
import { BIN } from '../lib/cni.ts'
import { condition, getPod, kubeletNode, pod, podRecords, podWhen, NODE_IP, SUBNET_PREFIX } from '../lib/kubelet.ts'
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

const ipamFile = (kn: { ipamDir: string }, ip: string) => join(kn.ipamDir, 'pontoon', ip)
const alive = (pid: number) => { try { process.kill(pid, 0); return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false } }

t.test('readiness probes gate Ready; a container without a command says why; restart policies', async (t) => {
  const kn = await kubeletNode(t)
  const { api } = kn
  const gate = join(files, 'gate'), probeFile = join(files, 'probe-ok')
  const make = async (body: unknown) => t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', body)).status, 201)
  await make(pod('gated', [{
    name: 'srv', command: ['sh', '-c', `until [ -e ${gate} ]; do sleep 0.05; done; exec pontoon echo --port 8080`],
    readinessProbe: { tcpSocket: { port: 'web' }, periodSeconds: 1 }, ports: [{ name: 'web', containerPort: 8080 }],
  }]))
  await make(pod('exec-gated', [{ name: 'main', command: ['sleep', '100000'], readinessProbe: { exec: { command: ['test', '-e', probeFile] }, periodSeconds: 1, failureThreshold: 1 } }]))
  await make(pod('nocmd', [{ name: 'img' }]))
  await make(pod('crash', [{ name: 'c', command: ['sh', '-c', 'echo crashing; exit 3'] }], { spec: { restartPolicy: 'OnFailure' } }))
  await make(pod('once', [{ name: 'c', command: ['true'] }], { spec: { restartPolicy: 'Never' } }))
  await make(pod('fails', [{ name: 'c', command: ['sh', '-c', 'exit 4'] }], { spec: { restartPolicy: 'Never' } }))

  const running = await podWhen(api, 'gated', 'Running', (p) => p.status?.phase === 'Running')
  t.equal(condition(running, 'Ready'), 'False', 'running but not ready: nothing listens yet')
  t.equal(running.status.containerStatuses[0].started, true)
  t.equal(running.status.containerStatuses[0].ready, false)
  writeFileSync(gate, '')
  const ready = await podWhen(api, 'gated', 'Ready after the port opens', (p) => condition(p, 'Ready') === 'True')
  t.equal(ready.status.containerStatuses[0].ready, true)

  await podWhen(api, 'exec-gated', 'Running, not Ready', (p) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'False')
  writeFileSync(probeFile, '')
  await podWhen(api, 'exec-gated', 'Ready once the exec probe passes', (p) => condition(p, 'Ready') === 'True')
  rmSync(probeFile)
  const unready = await podWhen(api, 'exec-gated', 'not Ready again after one failure', (p) => condition(p, 'Ready') === 'False')
  t.equal(unready.status.phase, 'Running', 'a readiness failure does not stop the container')

  const nocmd = await podWhen(api, 'nocmd', 'a waiting reason', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerError')
  t.equal(nocmd.status.containerStatuses[0].state.waiting.message, 'the lab runs no images; give the container a command')
  t.equal(nocmd.status.phase, 'Pending')
  t.ok(nocmd.status.podIP, 'the sandbox is there all the same')

  const crash = await podWhen(api, 'crash', 'restarted twice', (p) => p.status?.containerStatuses?.[0]?.restartCount >= 2)
  t.equal(crash.status.containerStatuses[0].lastState.terminated.exitCode, 3)
  t.equal(crash.status.containerStatuses[0].lastState.terminated.reason, 'Error')
  t.equal(crash.status.phase, 'Running', 'OnFailure keeps restarting a failing container')
  const rec = podRecords(kn.stateDir).find((r) => r.uid === crash.metadata.uid)
  t.match(readFileSync(join(kn.stateDir, 'pods', rec.uid, 'c.log'), 'utf8'), /crashing\ncrashing\n/, 'each run appends to the container log')

  const once = await podWhen(api, 'once', 'Succeeded', (p) => p.status?.phase === 'Succeeded')
  t.match(once.status.containerStatuses[0].state.terminated, { exitCode: 0, reason: 'Completed' })
  t.equal(once.status.containerStatuses[0].restartCount, 0, 'Never: not restarted')
  const fails = await podWhen(api, 'fails', 'Failed', (p) => p.status?.phase === 'Failed')
  t.match(fails.status.containerStatuses[0].state.terminated, { exitCode: 4, reason: 'Error' })
})

t.test('delete: drained from the EndpointSlice, SIGTERM, processes and netns gone, IP released, Pod deleted by the kubelet', async (t) => {
  const kn = await kubeletNode(t)
  const { api } = kn
  const termFile = join(files, 'term-web2')
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web2' }, spec: { selector: { app: 'web2' }, ports: [{ port: 80, targetPort: 8080 }] } })).status, 201)
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', pod('web2', [
    { name: 'echo', command: ['pontoon', 'echo', '--port', '8080'] },
    { name: 'side', command: ['sh', '-c', `trap 'echo TERM > ${termFile}; exit 0' TERM; while :; do sleep 0.05; done`] },
  ]))).status, 201)
  const p = await podWhen(api, 'web2', 'Ready', (p) => condition(p, 'Ready') === 'True')
  const ip = p.status.podIP
  await waitFor('the EndpointSlice to list web2 ready', async () => {
    const r = await call(api, 'GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io/service-name=web2')
    return r.body.items?.[0]?.endpoints?.some((e: any) => e.addresses.includes(ip) && e.conditions.ready === true)
  })
  const rec = podRecords(kn.stateDir).find((r) => r.uid === p.metadata.uid)
  const pids = rec.containers.map((c: any) => c.pid)
  t.ok(pids.every(alive), 'both containers run')
  t.ok(existsSync(ipamFile(kn, ip)), 'the IP is reserved')

  const del = kubectl(api, ['delete', 'pod', 'web2', '--grace-period=60', '--wait=false'])
  t.equal(del.status, 0, del.stderr)
  const marked = await getPod(api, 'web2')
  const deadline = Date.parse(marked?.metadata?.deletionTimestamp ?? new Date(Date.now() + 60_000).toISOString())
  await waitFor('the Pod to be deleted', async () => (await getPod(api, 'web2')) === undefined)
  t.ok(Date.now() < deadline, 'deleted by the kubelet once stopped, not by the API when the grace ran out')
  t.equal(readFileSync(termFile, 'utf8'), 'TERM\n', 'the container saw SIGTERM')
  t.ok(pids.every((pid: number) => !alive(pid)), 'no process left')
  t.notOk(existsSync(rec.netnsPath), 'netns removed')
  t.notOk(existsSync(ipamFile(kn, ip)), 'IPAM reservation released')
  t.notOk(existsSync(join(kn.stateDir, 'pods', rec.uid)), 'pod record removed')
  t.match(kn.kubeletLog(), /"viaApi":true/, 'went the graceful way')

  // a Pod that vanishes outright (no grace) is torn down the same way, without the API calls
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', pod('gone', [{ name: 'c', command: ['sleep', '100000'] }]))).status, 201)
  const g = await podWhen(api, 'gone', 'Running', (p) => p.status?.phase === 'Running')
  const grec = await waitFor('its record', () => podRecords(kn.stateDir).find((r) => r.uid === g.metadata.uid && r.containers.length))
  t.equal((await call(api, 'DELETE', '/api/v1/namespaces/default/pods/gone', { gracePeriodSeconds: 0 })).status, 200)
  await waitFor('the vanished pod to be torn down', () => !existsSync(grec.netnsPath) && !alive(grec.containers[0].pid))
  await waitFor('its IP released', () => !existsSync(ipamFile(kn, g.status.podIP)))
})

t.test('a SIGKILLed kubelet restarted: running pods are adopted, a pod deleted meanwhile is cleaned up, the pod cap holds', async (t) => {
  const kn = await kubeletNode(t)
  const { api, node } = kn
  for (const name of ['sticky', 'doomed']) {
    t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', pod(name, [{ name: 'echo', command: ['pontoon', 'echo', '--port', '8080'] }]))).status, 201)
  }
  const sticky = await podWhen(api, 'sticky', 'Ready', (p) => condition(p, 'Ready') === 'True')
  const doomed = await podWhen(api, 'doomed', 'Ready', (p) => condition(p, 'Ready') === 'True')
  const recs = () => Object.fromEntries(podRecords(kn.stateDir).map((r) => [r.name, r]))
  const before = await waitFor('both records with pids', () => { const r = recs(); return r.sticky?.containers[0]?.pid && r.doomed?.containers[0]?.pid && r })
  const stickyPid = before.sticky.containers[0].pid
  await waitFor('sticky to answer', () => node.try('socat', ['-T', '2', '-', `TCP:${sticky.status.podIP}:8080`], { input: '' }).stdout || undefined)

  const old = kn.kubelet
  process.kill(old.pid!, 'SIGKILL')
  await waitFor('the old kubelet to be gone', () => old.exitCode !== null || old.signalCode !== null)
  t.ok(alive(stickyPid), 'the pod outlives its kubelet')
  t.equal((await call(api, 'DELETE', '/api/v1/namespaces/default/pods/doomed', { gracePeriodSeconds: 0 })).status, 200)

  await kn.startKubelet(['--max-pods', '2'])
  await waitFor('doomed torn down by the new kubelet', () => !existsSync(before.doomed.netnsPath) && !alive(before.doomed.containers[0].pid))
  t.notOk(existsSync(ipamFile(kn, doomed.status.podIP)), "doomed's IP released")
  t.ok(alive(stickyPid), 'sticky still runs, same process')
  t.match(node.run('socat', ['-T', '5', '-', `TCP:${sticky.status.podIP}:8080`], { input: '' }), /^sticky /, 'and still answers')
  const after = await getPod(api, 'sticky')
  t.equal(condition(after, 'Ready'), 'True')
  t.equal(after.status.containerStatuses[0].restartCount, 0, 'adopted, not restarted')

  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', pod('extra1', [{ name: 'c', command: ['sleep', '100000'] }]))).status, 201)
  await podWhen(api, 'extra1', 'Running', (p) => p.status?.phase === 'Running')
  t.equal((await call(api, 'POST', '/api/v1/namespaces/default/pods', pod('extra2', [{ name: 'c', command: ['sleep', '100000'] }]))).status, 201)
  const rejected = await podWhen(api, 'extra2', 'rejected', (p) => p.status?.phase === 'Failed')
  t.equal(rejected.status.reason, 'OutOfpods')
  t.match(rejected.status.message, /limit \(--max-pods\)/)
  t.notOk(rejected.status.podIP, 'a rejected pod gets no sandbox')

  // the adopted pod is stopped as any other (not our child any more: its exit is seen in /proc)
  const del = kubectl(api, ['delete', 'pod', 'sticky', '--grace-period=30', '--wait=false'])
  t.equal(del.status, 0, del.stderr)
  await waitFor('sticky deleted', async () => (await getPod(api, 'sticky')) === undefined)
  t.notOk(alive(stickyPid), 'its process is gone')
  t.notOk(existsSync(before.sticky.netnsPath), 'its netns is gone')
})
