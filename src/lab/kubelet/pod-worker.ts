// One Pod on this node, from its sandbox to its final delete. Every change (a
// new version of the Pod, a process exit, a probe result, a timer) marks the
// worker dirty; one sync at a time brings the pod towards what the spec asks,
// then writes the status if it changed. kubelet's pod workers have this shape.
import { existsSync } from 'node:fs'
import { connect } from 'node:net'
import { constants as osConstants } from 'node:os'
import type { Logger } from 'pino'
import { execa } from 'execa'
import { podIPs as resultIPs } from './cni-chain.ts'
import { ContainerConfigError, launchSpec, type PodFacts } from './container-env.ts'
import { containerId, podNetnsName, sandboxId } from './names.ts'
import { INITIAL, probeAction, probeTiming, record, resolvePort, type ProbeCounter, type ProbeTiming, type ProbeAction } from './probe.ts'
import { isOurs, launch, signalGroup } from './process.ts'
import { podStatus, type Condition, type ContainerView, type Terminated } from './pod-status.ts'
import { nextRestartDelay, shouldRestart, type BackoffPolicy } from './restart-backoff.ts'
import { cniAdd, cniDel, createNetns, loadConflist, removeNetns } from './sandbox.ts'
import type { EnvPair } from './service-env.ts'
import { PodDnsError, podResolvConf, type ClusterDns } from './resolv-conf.ts'
import { writeFileAtomic } from '../../sys/atomic-write.ts'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import type { ContainerRecord, PodRecord, StateDir } from './state.ts'
import type { KubeletApi } from './api.ts'

/** The Pod as the API sends it; read defensively. */
export interface PodObject {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; labels?: Record<string, string>; annotations?: Record<string, string> }
  spec: { nodeName?: string; dnsPolicy?: string; dnsConfig?: unknown; hostNetwork?: boolean; restartPolicy?: string; terminationGracePeriodSeconds?: number; enableServiceLinks?: boolean; serviceAccountName?: string; containers: ContainerSpec[] }
  status?: { conditions?: Condition[] }
}

export interface ContainerSpec {
  name: string
  image?: string
  command?: unknown
  args?: unknown
  env?: unknown
  ports?: unknown
  readinessProbe?: Record<string, unknown>
}

export interface WorkerContext {
  nodeName: string
  netnsPrefix: string
  cniConfDir: string
  cniBinDirs: string[]
  launcherDir: string
  drainDelayMs: number
  backoff: BackoffPolicy
  state: StateDir
  api: KubeletApi
  log: Logger
  hostIP(): string | undefined
  serviceEnv(namespace: string, enableServiceLinks: boolean): EnvPair[]
  dns: ClusterDns
  /** the node's resolv.conf, read at each container start (it may change) */
  resolvConfPath: string
  /** called once the pod is torn down and its record removed */
  finished(uid: string): void
}

interface Container {
  spec: ContainerSpec
  rec: ContainerRecord
  state: 'waiting' | 'running' | 'terminated'
  waiting?: { reason: string; message?: string }
  terminated?: Terminated
  ready: boolean
  /** a config the kubelet cannot run: it waits until the spec changes */
  blocked: boolean
  probe?: { action: ProbeAction; timing: ProbeTiming; counter: ProbeCounter; timer?: NodeJS.Timeout }
  restartTimer?: NodeJS.Timeout
  backoffMs?: number
  exitWatch?: NodeJS.Timeout
  /** resolves when the running process has exited */
  exited?: Promise<void>
  /** the environment it was started with: exec probes run with it, as in the container */
  env?: Record<string, string>
}

const ADOPTED_POLL_MS = 200
// short: a node's first pods wait for the agent's conflist, and lab start-up waits for them
const SANDBOX_RETRY_MAX_MS = 2_000
const ENDPOINT_POLL_MS = 50

const nowIso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

export class PodWorker {
  private pod: PodObject | null
  private rec: PodRecord | undefined
  private readonly containers = new Map<string, Container>()
  private running: Promise<void> | null = null
  private dirty = false
  private done = false
  private terminating = false
  private sandboxError: string | undefined
  private sandboxRetryMs = 0
  private sandboxTimer: NodeJS.Timeout | undefined
  private lastStatus = ''
  /** when this kubelet first saw the pod: the startTime until the sandbox has its own */
  private readonly seenAt = nowIso()
  private conditions: Condition[] = []
  private readonly log: Logger
  readonly uid: string

  constructor(pod: PodObject, private readonly ctx: WorkerContext, rec: PodRecord | undefined, private rejected?: { reason: string; message: string }) {
    this.pod = pod
    this.uid = pod.metadata.uid
    this.log = ctx.log.child({ pod: `${pod.metadata.namespace}/${pod.metadata.name}`, uid: this.uid })
    this.conditions = pod.status?.conditions ?? []
    if (rec) this.adopt(rec)
  }

  get admitted(): boolean {
    return !this.rejected
  }

  update(pod: PodObject): void {
    if (this.done) return
    this.pod = pod
    this.kick()
  }

  /** The Pod is gone from the API (deleted outright, or missing from a relist). */
  vanish(): void {
    if (this.done) return
    this.pod = null
    this.kick()
  }

  kick(): void {
    this.dirty = true
    if (this.running) return
    this.running = (async () => {
      while (this.dirty && !this.done) {
        this.dirty = false
        try {
          await this.sync()
        } catch (e) {
          this.log.error({ err: (e as Error).message, code: (e as { code?: string }).code }, 'pod sync failed')
        }
      }
      this.running = null
    })()
  }

  /** The CNI config changed: a sandbox waiting for its retry is tried now. */
  retrySandbox(): void {
    if (!this.sandboxTimer) return
    clearTimeout(this.sandboxTimer)
    this.sandboxTimer = undefined
    this.kick()
  }

  /** Wait for the current sync (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** Stop timers without touching processes: a kubelet shutting down leaves its pods running. */
  detach(): void {
    this.done = true
    clearTimeout(this.sandboxTimer)
    for (const c of this.containers.values()) this.clearTimers(c)
  }

  private async sync(): Promise<void> {
    const pod = this.pod
    if (!pod) return this.teardown(false)
    if (pod.metadata.deletionTimestamp) return this.teardown(true)
    if (this.rejected) return this.writeStatus()
    if (!this.rec) {
      if (!(await this.makeSandbox(pod))) return this.writeStatus()
    }
    let started = 0
    for (const spec of pod.spec.containers) {
      const c = this.container(spec)
      if (c.state === 'waiting' && !c.restartTimer && !c.blocked && this.start(pod, c)) started++
    }
    // one record write for all the containers just started (each write is an fsync)
    if (started) this.saveContainers()
    await this.writeStatus()
  }

  private container(spec: ContainerSpec): Container {
    let c = this.containers.get(spec.name)
    if (!c) {
      c = { spec, rec: { name: spec.name, restartCount: 0 }, state: 'waiting', ready: false, blocked: false }
      this.containers.set(spec.name, c)
    } else if (c.spec !== spec) {
      // a changed spec may fix what blocked it (the lab has no images to pull, but a command can be added by recreating)
      if (c.blocked && JSON.stringify(c.spec) !== JSON.stringify(spec)) c.blocked = false
      c.spec = spec
    }
    return c
  }

  // ---- sandbox ----

  private async makeSandbox(pod: PodObject): Promise<boolean> {
    if (this.sandboxTimer) return false
    const md = pod.metadata
    const netnsName = podNetnsName(this.ctx.netnsPrefix, md.uid)
    const sid = sandboxId(md.uid)
    let netnsPath: string | undefined
    try {
      const { file, list } = loadConflist(this.ctx.cniConfDir)
      const t0 = performance.now()
      netnsPath = await createNetns(netnsName)
      const netnsMs = Math.round(performance.now() - t0)
      const target = { namespace: md.namespace, name: md.name, uid: md.uid, sandboxId: sid, netnsPath }
      const pluginMs: Record<string, number> = {}
      const result = await cniAdd(list, target, this.ctx.cniBinDirs, pluginMs)
      const ips = resultIPs(result, 'eth0')
      if (ips.length === 0) throw Object.assign(new Error('CNI ADD gave the pod no address'), { code: 'ECNI_NOIP' })
      this.rec = {
        nodeName: this.ctx.nodeName, uid: md.uid, namespace: md.namespace, name: md.name, netnsName, netnsPath, sandboxId: sid, conflistFile: file, cniResult: result,
        podIPs: ips, startTime: nowIso(), terminationGracePeriodSeconds: this.grace(pod), containers: [],
      }
      this.ctx.state.save(this.rec)
      this.sandboxError = undefined
      this.sandboxRetryMs = 0
      this.log.info({ podIPs: ips, netns: netnsName, netnsMs, pluginMs, cniMs: Math.round(performance.now() - t0) - netnsMs }, 'sandbox ready')
      return true
    } catch (e) {
      const err = e as Error & { code?: string }
      this.sandboxError = `Failed to create pod sandbox: ${err.code ?? 'ERROR'}: ${err.message}`
      this.log.warn({ err: err.message, code: err.code }, 'sandbox failed; retrying')
      if (netnsPath) await removeNetns(netnsName).catch(() => {})
      this.sandboxRetryMs = Math.min(SANDBOX_RETRY_MAX_MS, this.sandboxRetryMs ? this.sandboxRetryMs * 2 : 250)
      this.sandboxTimer = setTimeout(() => { this.sandboxTimer = undefined; this.kick() }, this.sandboxRetryMs)
      return false
    }
  }

  private grace(pod: PodObject): number {
    const g = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds
    return typeof g === 'number' && g >= 0 ? g : 30
  }

  private facts(pod: PodObject): PodFacts {
    const md = pod.metadata
    const ips = this.rec?.podIPs ?? []
    return {
      name: md.name, namespace: md.namespace, uid: md.uid, nodeName: pod.spec.nodeName ?? this.ctx.nodeName,
      ...(pod.spec.serviceAccountName ? { serviceAccountName: pod.spec.serviceAccountName } : {}),
      labels: md.labels ?? {}, annotations: md.annotations ?? {}, podIP: ips[0] ?? '', podIPs: ips, hostIP: this.ctx.hostIP() ?? '',
    }
  }

  // ---- containers ----

  /** The pod's resolv.conf, written into its state directory; undefined when it keeps the node's. */
  private resolvConf(pod: PodObject): string | undefined {
    let node = ''
    try { node = readFileSync(this.ctx.resolvConfPath, 'utf8') } catch { /* no node file: ClusterFirst needs none */ }
    const text = podResolvConf(pod.spec, pod.metadata.namespace, this.ctx.dns, node)
    if (text === null) return undefined
    const path = join(this.ctx.state.podDir(this.rec!.uid), 'resolv.conf')
    writeFileAtomic(path, text)
    return path
  }

  /** Start one container; false when it cannot run (the reason is in its waiting state). */
  private start(pod: PodObject, c: Container): boolean {
    const rec = this.rec!
    let spec
    let resolvConf: string | undefined
    try {
      spec = launchSpec(this.facts(pod), c.spec, this.ctx.serviceEnv(pod.metadata.namespace, pod.spec.enableServiceLinks !== false), this.ctx.launcherDir)
      resolvConf = this.resolvConf(pod)
    } catch (e) {
      if (!(e instanceof ContainerConfigError) && !(e instanceof PodDnsError)) throw e
      c.blocked = true
      c.waiting = { reason: e.reason, message: e.message }
      this.log.warn({ container: c.spec.name, code: e.code, err: e.message }, 'container cannot start')
      return false
    }
    let l
    try {
      l = launch(rec.netnsPath, spec.argv, spec.env, this.ctx.state.logPath(rec.uid, c.spec.name), resolvConf)
    } catch (e) {
      c.waiting = { reason: 'StartError', message: (e as Error).message }
      c.blocked = true
      return false
    }
    const startedAt = nowIso()
    c.rec = { ...c.rec, pid: l.pid, procStart: l.procStart, startedAt, containerID: `pontoon://${containerId(rec.uid, c.spec.name, c.rec.restartCount)}` }
    c.state = 'running'
    c.waiting = undefined
    c.terminated = undefined
    c.env = spec.env
    c.exited = new Promise<void>((resolve) => {
      l.child.once('exit', (code, signal) => {
        this.exited(c, l.pid, code, signal)
        resolve()
      })
    })
    this.startProbe(c)
    this.log.info({ container: c.spec.name, pid: l.pid, argv: spec.argv }, 'container started')
    return true
  }

  private exited(c: Container, pid: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (c.rec.pid !== pid) return
    // the leader gone means the container is gone, as when a pid namespace's init dies
    signalGroup(pid, 'SIGKILL')
    const finishedAt = nowIso()
    const exitCode = code ?? 128 + signalNumber(signal)
    const t: Terminated = {
      exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: c.rec.startedAt ?? finishedAt, finishedAt,
      ...(signal ? { signal: signalNumber(signal) } : {}), ...(c.rec.containerID ? { containerID: c.rec.containerID } : {}),
    }
    this.stopped(c, t)
  }

  private stopped(c: Container, t: Terminated): void {
    this.clearTimers(c)
    c.ready = false
    c.probe && (c.probe.counter = INITIAL)
    const ranMs = Date.parse(t.finishedAt) - Date.parse(t.startedAt)
    c.rec = { ...c.rec, pid: undefined, procStart: undefined }
    const policy = this.pod?.spec.restartPolicy ?? 'Always'
    if (!this.terminating && this.pod && shouldRestart(policy, t.exitCode)) {
      c.rec.lastTerminated = t
      c.backoffMs = nextRestartDelay(c.backoffMs, ranMs, this.ctx.backoff)
      c.state = 'waiting'
      c.terminated = undefined
      c.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(c.backoffMs / 1000)}s restarting failed container=${c.spec.name} pod=${this.pod.metadata.name}_${this.pod.metadata.namespace}(${this.uid})` }
      c.restartTimer = setTimeout(() => {
        c.restartTimer = undefined
        c.rec.restartCount++
        this.kick()
      }, c.backoffMs)
    } else {
      c.state = 'terminated'
      c.terminated = t
    }
    this.log.info({ container: c.spec.name, exitCode: t.exitCode, restartInMs: c.restartTimer ? c.backoffMs : undefined }, 'container exited')
    this.saveContainers()
    this.kick()
  }

  private clearTimers(c: Container): void {
    clearTimeout(c.restartTimer)
    c.restartTimer = undefined
    clearTimeout(c.probe?.timer)
    if (c.probe) c.probe.timer = undefined
    clearInterval(c.exitWatch)
    c.exitWatch = undefined
  }

  private saveContainers(): void {
    if (!this.rec) return
    this.rec.containers = [...this.containers.values()].map((c) => c.rec)
    try { this.ctx.state.save(this.rec) } catch (e) { this.log.error({ err: (e as Error).message }, 'cannot save the pod record') }
  }

  // ---- adoption after a kubelet restart ----

  private adopt(rec: PodRecord): void {
    this.rec = rec
    if (!existsSync(rec.netnsPath)) {
      this.log.warn({ netns: rec.netnsPath }, 'the recorded netns is gone: the sandbox is made again')
      for (const cr of rec.containers) if (isOurs(cr.pid, cr.procStart)) signalGroup(cr.pid!, 'SIGKILL')
      this.rec = undefined
      return
    }
    for (const cr of rec.containers) {
      const spec = this.pod?.spec.containers.find((s) => s.name === cr.name)
      if (!spec) {
        if (isOurs(cr.pid, cr.procStart)) signalGroup(cr.pid!, 'SIGKILL')
        continue
      }
      const c: Container = { spec, rec: { ...cr }, state: 'waiting', ready: false, blocked: false }
      this.containers.set(spec.name, c)
      if (isOurs(cr.pid, cr.procStart)) {
        c.state = 'running'
        const pid = cr.pid!
        c.exited = new Promise<void>((resolve) => {
          // not our child any more: no exit event, so watch /proc
          c.exitWatch = setInterval(() => {
            if (isOurs(pid, cr.procStart)) return
            clearInterval(c.exitWatch)
            signalGroup(pid, 'SIGKILL')
            const now = nowIso()
            this.stopped(c, { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'the process exited while adopted; its exit code is unknown', startedAt: cr.startedAt ?? now, finishedAt: now, ...(cr.containerID ? { containerID: cr.containerID } : {}) })
            resolve()
          }, ADOPTED_POLL_MS)
        })
        this.startProbe(c)
      } else if (cr.pid !== undefined) {
        // it ended while no kubelet watched
        const now = nowIso()
        c.rec.pid = undefined
        this.stopped(c, { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'the process ended while the kubelet was down', startedAt: cr.startedAt ?? now, finishedAt: now })
      } else if (cr.lastTerminated && !shouldRestart(this.pod?.spec.restartPolicy ?? 'Always', cr.lastTerminated.exitCode)) {
        c.state = 'terminated'
        c.terminated = cr.lastTerminated
      }
    }
    this.log.info({ containers: [...this.containers.values()].map((c) => `${c.spec.name}:${c.state}`) }, 'pod adopted')
  }

  // ---- readiness ----

  private startProbe(c: Container): void {
    const p = c.spec.readinessProbe
    const action = p && typeof p === 'object' ? probeAction(p) : undefined
    if (!p || !action) {
      c.ready = true
      c.probe = undefined
      return
    }
    const timing = probeTiming(p)
    c.probe = { action, timing, counter: INITIAL }
    c.ready = false
    const schedule = (ms: number) => {
      c.probe!.timer = setTimeout(async () => {
        if (c.state !== 'running' || this.done || this.terminating) return
        const ok = await this.runProbe(c, action, timing.timeoutMs)
        if (!c.probe || c.state !== 'running') return
        c.probe.counter = record(c.probe.counter, ok, timing)
        if (c.probe.counter.ready !== c.ready) {
          c.ready = c.probe.counter.ready
          this.log.info({ container: c.spec.name, ready: c.ready }, 'readiness changed')
          this.kick()
        }
        schedule(timing.periodMs)
      }, ms)
    }
    schedule(timing.initialDelayMs)
  }

  private runProbe(c: Container, action: ProbeAction, timeoutMs: number): Promise<boolean> {
    const rec = this.rec
    if (!rec) return Promise.resolve(false)
    if (action.kind === 'exec') {
      // an adopted container's env is not known: the probe then runs with the kubelet's
      const env = c.env ? { env: c.env, extendEnv: false } : {}
      return execa('nsenter', [`--net=${rec.netnsPath}`, '--', ...action.command], { ...env, reject: false, timeout: timeoutMs, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', cwd: '/' })
        .then((r) => r.exitCode === 0, () => false)
    }
    const port = resolvePort(action.port, c.spec.ports)
    const host = action.host ?? rec.podIPs[0]
    if (port === undefined || !host) return Promise.resolve(false)
    // from the node's namespace (where the kubelet runs), to the pod's address, as kubelet's prober does
    return new Promise((resolve) => {
      const s = connect({ host, port, timeout: timeoutMs })
      const end = (ok: boolean) => { s.destroy(); resolve(ok) }
      s.once('connect', () => end(true))
      s.once('timeout', () => end(false))
      s.once('error', () => end(false))
    })
  }

  // ---- status ----

  private view(): ContainerView[] {
    const specs = this.pod?.spec.containers ?? [...this.containers.values()].map((c) => c.spec)
    return specs.map((s) => {
      const c = this.containers.get(s.name)
      const v: ContainerView = {
        name: s.name, image: s.image ?? '', state: c?.state ?? 'waiting', restartCount: c?.rec.restartCount ?? 0, ready: !!c && c.state === 'running' && c.ready,
      }
      if (c?.waiting) v.waiting = c.waiting
      else if (!c || c.state === 'waiting') v.waiting = { reason: this.rejected ? 'Rejected' : 'ContainerCreating' }
      if (c?.state === 'running' && c.rec.startedAt) v.startedAt = c.rec.startedAt
      if (c?.terminated) v.terminated = c.terminated
      if (c?.rec.lastTerminated) v.lastTerminated = c.rec.lastTerminated
      if (c?.rec.containerID) v.containerID = c.rec.containerID
      return v
    })
  }

  private async writeStatus(): Promise<void> {
    const pod = this.pod
    if (!pod) return
    const hostIP = this.ctx.hostIP()
    const status = podStatus({
      restartPolicy: pod.spec.restartPolicy ?? 'Always',
      sandboxReady: !!this.rec,
      podIPs: this.rec?.podIPs ?? [],
      ...(hostIP ? { hostIP } : {}),
      startTime: this.rec?.startTime ?? this.seenAt,
      containers: this.view(),
      ...(this.rejected ? { rejected: this.rejected } : {}),
      ...(this.sandboxError ? { sandboxError: this.sandboxError } : {}),
    }, this.conditions, nowIso())
    // a merge patch keeps keys it does not name: say which are gone
    for (const k of ['reason', 'message', 'podIP', 'podIPs', 'hostIP', 'hostIPs']) if (!(k in status)) status[k] = null
    const text = JSON.stringify(status)
    if (text === this.lastStatus) return
    try {
      await this.ctx.api.patchStatus(pod.metadata.namespace, pod.metadata.name, status)
      this.lastStatus = text
      this.conditions = status.conditions as Condition[]
    } catch (e) {
      const code = (e as { status?: number }).status
      if (code === 404) return // gone: the watch will say so
      this.log.warn({ err: (e as Error).message }, 'status write failed; retrying')
      setTimeout(() => this.kick(), 500).unref()
    }
  }

  // ---- teardown ----

  /**
   * Stop everything the pod has. With `viaApi` (the Pod has a deletionTimestamp):
   * first wait until no EndpointSlice lists it as ready plus the drain delay, so a
   * client of its Service is sent elsewhere before the processes stop; at the end,
   * delete the Pod with no grace and a uid precondition. A Pod that vanished from
   * the API is torn down the same way without those calls.
   */
  private async teardown(viaApi: boolean): Promise<void> {
    if (this.terminating) return
    this.terminating = true
    clearTimeout(this.sandboxTimer)
    const pod = this.pod
    const graceS = pod ? this.grace(pod) : (this.rec?.terminationGracePeriodSeconds ?? 30)
    const t0 = Date.now()
    const deadline = t0 + graceS * 1000
    const running = [...this.containers.values()].filter((c) => c.state === 'running')
    this.log.info({ viaApi, graceS, running: running.length }, 'stopping pod')
    if (viaApi && pod && this.rec && running.length) await this.drain(pod, deadline)
    for (const c of this.containers.values()) {
      clearTimeout(c.restartTimer)
      c.restartTimer = undefined
      clearTimeout(c.probe?.timer)
    }
    for (const c of running) if (c.rec.pid) signalGroup(c.rec.pid, 'SIGTERM')
    const allExited = Promise.all(running.map((c) => c.exited))
    const left = Math.max(0, deadline - Date.now())
    const inTime = await Promise.race([allExited.then(() => true), delay(left).then(() => false)])
    if (!inTime) {
      for (const c of running) if (c.rec.pid) signalGroup(c.rec.pid, 'SIGKILL')
      await Promise.race([allExited, delay(5_000)])
    }
    if (this.rec) {
      const rec = this.rec
      try {
        const { list } = loadConflist(this.ctx.cniConfDir)
        await cniDel(list, { namespace: rec.namespace, name: rec.name, uid: rec.uid, sandboxId: rec.sandboxId, netnsPath: rec.netnsPath }, this.ctx.cniBinDirs, rec.cniResult)
      } catch (e) {
        // forgiving, as containerd is: the netns goes anyway; IPAM GC catches a reservation left behind
        this.log.warn({ err: (e as Error).message }, 'CNI DEL failed')
      }
      await removeNetns(rec.netnsName).catch((e) => this.log.warn({ err: (e as Error).message }, 'netns removal failed'))
    }
    this.ctx.state.remove(this.uid)
    if (viaApi && pod) {
      try {
        await this.ctx.api.deletePod(pod.metadata.namespace, pod.metadata.name, this.uid)
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'final delete failed')
      }
    }
    this.log.info({ ms: Date.now() - t0 }, 'pod stopped and removed')
    this.detach()
    this.ctx.finished(this.uid)
  }

  private async drain(pod: PodObject, deadline: number): Promise<void> {
    const ns = pod.metadata.namespace
    const ips = this.rec?.podIPs ?? []
    while (Date.now() < deadline) {
      try {
        if (!(await this.ctx.api.readyInEndpointSlices(ns, this.uid, ips))) break
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cannot read EndpointSlices while draining')
      }
      await delay(Math.min(ENDPOINT_POLL_MS, Math.max(0, deadline - Date.now())))
    }
    await delay(Math.min(this.ctx.drainDelayMs, Math.max(0, deadline - Date.now())))
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function signalNumber(s: NodeJS.Signals | null): number {
  if (!s) return 0
  return osConstants.signals[s] ?? 0
}
