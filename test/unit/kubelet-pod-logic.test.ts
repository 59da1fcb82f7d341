import t from 'tap'
import { INITIAL, probeAction, probeTiming, record, resolvePort } from '../../src/lab/kubelet/probe.ts'
import { nextRestartDelay, shouldRestart } from '../../src/lab/kubelet/restart-backoff.ts'
import { containerStatus, phaseOf, podStatus, type ContainerView, type PodView } from '../../src/lab/kubelet/pod-status.ts'
import { cniArgs, parseConflist, pluginConfig, pluginOrder, podIPs } from '../../src/lab/kubelet/cni-chain.ts'
import { podNetnsName, sandboxId } from '../../src/lab/kubelet/names.ts'

t.test('probe settings default as kubelet', async (t) => {
  t.same(probeTiming({}), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 })
  t.same(probeTiming({ initialDelaySeconds: 2, periodSeconds: 1, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 1 }),
    { initialDelayMs: 2_000, periodMs: 1_000, timeoutMs: 3_000, successThreshold: 2, failureThreshold: 1 })
  t.same(probeTiming({ initialDelaySeconds: -1, periodSeconds: 0, timeoutSeconds: 1.5, successThreshold: 'x' }), { initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1_000, successThreshold: 1, failureThreshold: 3 })
})

t.test('probe actions the lab runs', async (t) => {
  t.same(probeAction({ tcpSocket: { port: 80 } }), { kind: 'tcp', port: 80 })
  t.same(probeAction({ tcpSocket: { port: 'http', host: '10.0.0.1' } }), { kind: 'tcp', port: 'http', host: '10.0.0.1' })
  t.same(probeAction({ exec: { command: ['cat', '/ok'] } }), { kind: 'exec', command: ['cat', '/ok'] })
  t.equal(probeAction({ exec: { command: [] } }), undefined)
  t.equal(probeAction({ exec: { command: ['a', 1] } }), undefined)
  t.equal(probeAction({ httpGet: { port: 80 } }), undefined)
  t.equal(probeAction({ tcpSocket: {} }), undefined)
  t.equal(resolvePort(8080, undefined), 8080)
  t.equal(resolvePort('8080', undefined), 8080)
  t.equal(resolvePort('web', [{ name: 'x', containerPort: 1 }, { name: 'web', containerPort: 8080 }]), 8080)
  t.equal(resolvePort('nope', [{ name: 'web', containerPort: 8080 }]), undefined)
  t.equal(resolvePort(0, undefined), undefined)
  t.equal(resolvePort(70000, undefined), undefined)
})

t.test('thresholds: successes make ready, failures in a row make it not ready', async (t) => {
  const th = { successThreshold: 2, failureThreshold: 2 }
  let s = INITIAL
  s = record(s, true, th)
  t.equal(s.ready, false, 'one success of two')
  s = record(s, false, th)
  t.same(s, { ready: false, successes: 0, failures: 1 }, 'a failure resets the successes')
  s = record(record(s, true, th), true, th)
  t.equal(s.ready, true)
  s = record(s, false, th)
  t.equal(s.ready, true, 'one failure of two keeps it ready')
  s = record(s, true, th)
  t.same(s, { ready: true, successes: 1, failures: 0 })
  s = record(record(s, false, th), false, th)
  t.equal(s.ready, false)
  t.equal(record(INITIAL, true, { successThreshold: 1, failureThreshold: 3 }).ready, true)
})

t.test('restart backoff: at once, then doubling to a cap, reset after a long run', async (t) => {
  const p = { initialMs: 1000, maxMs: 4000, resetAfterMs: 10_000 }
  let d = nextRestartDelay(undefined, 10, p)
  t.equal(d, 0)
  const seen = [d]
  for (let i = 0; i < 4; i++) seen.push(d = nextRestartDelay(d, 10, p))
  t.same(seen, [0, 1000, 2000, 4000, 4000])
  t.equal(nextRestartDelay(4000, 10_000, p), 0, 'ran long enough: the count starts again')
  t.equal(nextRestartDelay(4000, 9_999, p), 4000)
  t.ok(shouldRestart('Always', 0) && shouldRestart('Always', 1))
  t.ok(!shouldRestart('OnFailure', 0) && shouldRestart('OnFailure', 2))
  t.ok(!shouldRestart('Never', 0) && !shouldRestart('Never', 1))
})

const term = (exitCode: number) => ({ exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: 't0', finishedAt: 't1' })
const c = (over: Partial<ContainerView>): ContainerView => ({ name: 'c', image: 'i', state: 'running', restartCount: 0, ready: true, startedAt: 't0', ...over })
const view = (containers: ContainerView[], over: Partial<PodView> = {}): PodView => ({ restartPolicy: 'Always', sandboxReady: true, podIPs: ['10.244.0.5'], startTime: 't', containers, ...over })

t.test('phase as kubelet computes it', async (t) => {
  t.equal(phaseOf(view([c({})], { sandboxReady: false })), 'Pending')
  t.equal(phaseOf(view([c({})], { rejected: { reason: 'OutOfpods', message: 'm' } })), 'Failed')
  t.equal(phaseOf(view([c({}), c({ state: 'waiting' })])), 'Pending', 'a container never started')
  t.equal(phaseOf(view([c({})])), 'Running')
  t.equal(phaseOf(view([c({ state: 'waiting', lastTerminated: term(1) })])), 'Running', 'crash-looping under Always')
  t.equal(phaseOf(view([c({ state: 'terminated', terminated: term(0) })])), 'Running', 'Always: restarting')
  t.equal(phaseOf(view([c({ state: 'terminated', terminated: term(0) }), c({ state: 'terminated', terminated: term(0) })], { restartPolicy: 'Never' })), 'Succeeded')
  t.equal(phaseOf(view([c({ state: 'terminated', terminated: term(0) }), c({ state: 'terminated', terminated: term(2) })], { restartPolicy: 'Never' })), 'Failed')
  t.equal(phaseOf(view([c({ state: 'terminated', terminated: term(0) })], { restartPolicy: 'OnFailure' })), 'Succeeded')
  t.equal(phaseOf(view([c({ state: 'waiting', lastTerminated: term(3) })], { restartPolicy: 'OnFailure' })), 'Running')
  t.equal(phaseOf(view([c({ state: 'waiting', lastTerminated: term(0) })], { restartPolicy: 'Never' })), 'Succeeded')
  t.equal(phaseOf(view([c({ state: 'running' }), c({ state: 'terminated', terminated: term(1) })], { restartPolicy: 'Never' })), 'Running')
  t.equal(phaseOf(view([])), 'Pending')
})

t.test('status: conditions keep their transition time while they hold', async (t) => {
  const s1 = podStatus(view([c({ ready: false })]), [], 'T1') as any
  t.equal(s1.phase, 'Running')
  t.same(s1.conditions.map((x: any) => [x.type, x.status, x.lastTransitionTime]), [['PodScheduled', 'True', 'T1'], ['Initialized', 'True', 'T1'], ['ContainersReady', 'False', 'T1'], ['Ready', 'False', 'T1']])
  t.equal(s1.conditions[3].reason, 'ContainersNotReady')
  t.equal(s1.conditions[3].message, 'containers with unready status: [c]')
  t.equal(s1.conditions[0].lastProbeTime, null)
  const s2 = podStatus(view([c({ ready: true })]), s1.conditions, 'T2') as any
  t.same(s2.conditions.map((x: any) => [x.type, x.status, x.lastTransitionTime]), [['PodScheduled', 'True', 'T1'], ['Initialized', 'True', 'T1'], ['ContainersReady', 'True', 'T2'], ['Ready', 'True', 'T2']])
  t.notOk('reason' in s2.conditions[3])
  t.same(s2.podIPs, [{ ip: '10.244.0.5' }])
  t.equal(s2.podIP, '10.244.0.5')
  t.notOk('hostIP' in s2)
  const s3 = podStatus(view([c({})], { hostIP: '172.18.0.11', podIPs: [] }), [], 'T') as any
  t.equal(s3.hostIP, '172.18.0.11')
  t.same(s3.hostIPs, [{ ip: '172.18.0.11' }])
  t.notOk('podIP' in s3)
  const rejected = podStatus(view([c({ state: 'waiting', ready: false })], { rejected: { reason: 'OutOfpods', message: 'full' }, sandboxReady: false, podIPs: [] }), [], 'T') as any
  t.equal(rejected.phase, 'Failed')
  t.equal(rejected.reason, 'OutOfpods')
  t.equal(rejected.message, 'full')
  const noSandbox = podStatus(view([c({ state: 'waiting', ready: false })], { sandboxReady: false, sandboxError: 'no conflist', podIPs: [] }), [], 'T') as any
  t.equal(noSandbox.message, 'no conflist')
  t.notOk('reason' in noSandbox)
  t.equal((podStatus(view([]), [], 'T') as any).conditions[3].status, 'False', 'no containers: not ready')
})

t.test('container statuses', async (t) => {
  t.same(containerStatus(c({ containerID: 'pontoon://x' })), { name: 'c', image: 'i', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: 't0' } }, lastState: {}, containerID: 'pontoon://x' })
  const w = containerStatus(c({ state: 'waiting', ready: false, waiting: { reason: 'CrashLoopBackOff', message: 'back-off' }, lastTerminated: { ...term(1), signal: 9, message: 'm', containerID: 'pontoon://y' }, restartCount: 2 }))
  t.same(w.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off' } })
  t.same(w.lastState, { terminated: { exitCode: 1, reason: 'Error', startedAt: 't0', finishedAt: 't1', signal: 9, message: 'm', containerID: 'pontoon://y' } })
  t.equal(w.started, false)
  t.same(containerStatus(c({ state: 'waiting', ready: false })).state, { waiting: { reason: 'ContainerCreating' } })
  t.same(containerStatus(c({ state: 'terminated', terminated: term(0), ready: false })).state, { terminated: { exitCode: 0, reason: 'Completed', startedAt: 't0', finishedAt: 't1' } })
})

t.test('the CNI chain as libcni runs it', async (t) => {
  const list = parseConflist(JSON.stringify({ cniVersion: '1.0.0', name: 'net', plugins: [{ type: 'pontoon-cni', bridge: 'cni0', name: 'ignored' }, { type: 'portmap', capabilities: { portMappings: true } }] }), 'f')
  t.same(pluginOrder(list, 'ADD'), [0, 1])
  t.same(pluginOrder(list, 'DEL'), [1, 0])
  t.same(pluginConfig(list, 0, undefined), { type: 'pontoon-cni', bridge: 'cni0', name: 'net', cniVersion: '1.0.0' }, "the list's name and version win")
  t.same(pluginConfig(list, 1, { ips: [] }), { type: 'portmap', capabilities: { portMappings: true }, name: 'net', cniVersion: '1.0.0', prevResult: { ips: [] } })
  t.equal(cniArgs({ namespace: 'n', name: 'p', uid: 'u', sandboxId: 's' }), 'IgnoreUnknown=1;K8S_POD_NAMESPACE=n;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=s;K8S_POD_UID=u')
  t.throws(() => parseConflist('{', 'f'), { code: 'ECONFLIST_JSON' })
  t.throws(() => parseConflist('{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}', 'f'), { code: 'ECONFLIST_SHAPE', message: 'f: a conflist needs a "name"' })
  t.throws(() => parseConflist('{"name":"n","plugins":[{"type":"x"}]}', 'f'), { message: /cniVersion/ })
  t.throws(() => parseConflist('{"name":"n","cniVersion":"1.0.0","plugins":[]}', 'f'), { message: /non-empty/ })
  t.throws(() => parseConflist('{"name":"n","cniVersion":"1.0.0","plugins":[{"type":"../evil"}]}', 'f'), { message: 'f: plugins[0].type must be a plugin name' })
  t.throws(() => parseConflist('null', 'f'), { code: 'ECONFLIST_SHAPE' })
})

t.test("the pod's addresses from a CNI result", async (t) => {
  const result = {
    interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/netns/p' }, { name: 'net1', sandbox: '/run/netns/p' }],
    ips: [{ address: 'fd00::5/64', interface: 2 }, { address: '10.244.0.5/24', interface: 2 }, { address: '10.9.0.5/24', interface: 3 }, { address: '10.244.0.5/24', interface: 2 }],
  }
  t.same(podIPs(result, 'eth0'), ['10.244.0.5', 'fd00::5'], 'eth0 only, IPv4 first, no duplicates')
  t.same(podIPs({ ips: [{ address: '10.1.0.2/24' }] }, 'eth0'), ['10.1.0.2'], 'no interface index: taken')
  t.same(podIPs({ ips: [{ address: '10.1.0.2/24', interface: 7 }] }, 'eth0'), ['10.1.0.2'], 'an index past the list: taken')
  t.same(podIPs({ interfaces: [{ name: 'eth0' }], ips: [{ address: '10.1.0.2/24', interface: 0 }] }, 'eth0'), [], 'eth0 outside a sandbox is the host side')
  t.same(podIPs(undefined, 'eth0'), [])
  t.same(podIPs({ ips: [{ address: 5 }, null] }, 'eth0'), [])
})

t.test('names come from the uid', async (t) => {
  t.match(sandboxId('u'), /^[0-9a-f]{64}$/)
  t.equal(podNetnsName('plab', 'u'), `plab-p${sandboxId('u').slice(0, 8)}`)
  t.not(podNetnsName('plab', 'u1'), podNetnsName('plab', 'u2'))
})
