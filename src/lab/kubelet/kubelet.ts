// The lab kubelet: runs inside a node's network namespace, follows the Pods
// bound to that node (list + watch with spec.nodeName, relist on 410, through
// the agent's own reflector and transport) and the Services (for the pods'
// environment), and hands each Pod to its PodWorker. At start it reads what a
// previous kubelet left in the state dir: pods still in the API are adopted,
// the rest are torn down once the first list says they are gone.
import { createServer, type Server } from 'node:http'
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { Logger } from 'pino'
import type { ClusterAccess } from '../../cluster/kubeconfig.ts'
import { HttpTransport } from '../../cluster/http-transport.ts'
import type { ResourceName } from '../../cluster/model.ts'
import { Reflector, type ReflectorObserver, type ReflectorSink } from '../../cluster/reflector.ts'
import { KubeletApi } from './api.ts'
import { capLog } from './process.ts'
import { PodWorker, type PodObject, type WorkerContext } from './pod-worker.ts'
import { DEFAULT_BACKOFF, type BackoffPolicy } from './restart-backoff.ts'
import { serviceEnv, serviceFromObject, type ServiceLike } from './service-env.ts'
import { StateDir, type PodRecord } from './state.ts'
import type { ClusterDns } from './resolv-conf.ts'

export interface KubeletOptions {
  access: ClusterAccess
  nodeName: string
  cniConfDir: string
  cniBinDirs: string[]
  netnsPrefix: string
  stateDir: string
  healthz?: { host: string; port: number }
  drainDelayMs: number
  maxPods: number
  logCapBytes: number
  backoff?: BackoffPolicy
  /** --cluster-dns / --cluster-domain: the pods' resolv.conf (no servers: the node's file) */
  dns?: ClusterDns
  /** --resolv-conf: the node's file, for dnsPolicy Default and the node's search path */
  resolvConf?: string
  log: Logger
}

export interface Kubelet {
  /** pods this kubelet runs now, by uid */
  pods(): string[]
  healthzPort(): number | undefined
  /** stop watching; pods keep running (a restarted kubelet adopts them) */
  close(): Promise<void>
}

const MAX_SERVICES = 100_000
const LOG_CHECK_MS = 2_000

/** The directory of the `pontoon` launcher, so `pontoon echo` works in a container. */
export function launcherDir(): string {
  const script = process.argv[1] ?? ''
  for (const d of [resolve(dirname(script), '..'), dirname(script), resolve(dirname(script), '../../dist/bin')]) {
    if (existsSync(join(d, 'pontoon'))) return d
  }
  return ''
}

function podFrom(o: unknown): PodObject | undefined {
  const p = o as PodObject | null
  const md = p?.metadata
  if (!md || typeof md.uid !== 'string' || typeof md.name !== 'string' || typeof md.namespace !== 'string') return undefined
  if (!p!.spec || !Array.isArray(p!.spec.containers)) return undefined
  return p!
}

export async function startKubelet(o: KubeletOptions): Promise<Kubelet> {
  const log = o.log
  const transport = new HttpTransport(o.access)
  const api = new KubeletApi(transport)
  const state = new StateDir(o.stateDir)
  const workers = new Map<string, PodWorker>()
  const services = new Map<string, ServiceLike>()
  let hostIP: string | undefined
  let podsListed = false
  let servicesListed = false
  let servicesReady!: () => void
  const servicesSynced = new Promise<void>((r) => { servicesReady = r })
  const orphans = new Map<string, PodRecord>()
  for (const r of state.load((uid, err) => log.warn({ uid, err: err.message }, 'unreadable pod record ignored'))) {
    if (r.nodeName === o.nodeName) orphans.set(r.uid, r)
    else log.warn({ uid: r.uid, recordNode: r.nodeName }, "a pod record of another node's kubelet in this state dir: left alone")
  }
  if (orphans.size) log.info({ records: orphans.size }, 'pod records from an earlier kubelet')

  const ctx: WorkerContext = {
    nodeName: o.nodeName, netnsPrefix: o.netnsPrefix, cniConfDir: o.cniConfDir, cniBinDirs: o.cniBinDirs, launcherDir: launcherDir(),
    drainDelayMs: o.drainDelayMs, backoff: o.backoff ?? DEFAULT_BACKOFF, state, api, log,
    hostIP: () => hostIP,
    serviceEnv: (ns, links) => serviceEnv(services.values(), ns, links),
    dns: o.dns ?? { servers: [], domain: 'cluster.local' },
    resolvConfPath: o.resolvConf ?? '/etc/resolv.conf',
    finished: (uid) => { workers.delete(uid) },
  }

  const admitted = () => { let n = 0; for (const w of workers.values()) if (w.admitted) n++; return n }

  const upsert = (pod: PodObject) => {
    const uid = pod.metadata.uid
    const w = workers.get(uid)
    if (w) return w.update(pod)
    const rec = orphans.get(uid)
    orphans.delete(uid)
    const phase = (pod.status as { phase?: string } | undefined)?.phase
    if (!rec && (phase === 'Succeeded' || phase === 'Failed') && !pod.metadata.deletionTimestamp) return // finished before we knew it: nothing runs
    let reject: { reason: string; message: string } | undefined
    if (!rec && admitted() >= o.maxPods) reject = { reason: 'OutOfpods', message: `Pod was rejected: the node ${o.nodeName} runs ${o.maxPods} pods, its limit (--max-pods)` }
    const worker = new PodWorker(pod, ctx, rec, reject)
    workers.set(uid, worker)
    // containers start only once the Services are known: their variables are part of the environment
    servicesSynced.then(() => worker.kick())
  }

  let listing: Map<string, PodObject> | null = null
  const podSink: ReflectorSink = {
    beginList: () => { listing = new Map() },
    listPage: (items) => { for (const i of items) { const p = podFrom(i); if (p) listing!.set(p.metadata.uid, p) } },
    endList: () => {
      const seen = listing ?? new Map()
      listing = null
      for (const [uid, w] of workers) if (!seen.has(uid)) w.vanish()
      for (const p of seen.values()) upsert(p)
      if (!podsListed) {
        podsListed = true
        // records whose Pod the API no longer has: tear them down the way a vanished pod goes
        for (const rec of orphans.values()) {
          log.info({ uid: rec.uid, pod: `${rec.namespace}/${rec.name}` }, 'pod gone while the kubelet was down: tearing it down')
          const stub: PodObject = { metadata: { uid: rec.uid, name: rec.name, namespace: rec.namespace }, spec: { terminationGracePeriodSeconds: rec.terminationGracePeriodSeconds, containers: rec.containers.map((c) => ({ name: c.name })) } }
          const w = new PodWorker(stub, ctx, rec)
          workers.set(rec.uid, w)
          w.vanish()
        }
        // (a netns made by a kubelet that died before recording it is not swept here: several nodes may share
        // the prefix, and only the lab, which made them all, can tell whose it is)
        orphans.clear()
      }
    },
    event: (type, object) => {
      const p = podFrom(object)
      if (!p) return
      if (p.spec.nodeName && p.spec.nodeName !== o.nodeName) return
      if (type === 'DELETED') workers.get(p.metadata.uid)?.vanish()
      else upsert(p)
    },
  }
  let svcListing: Map<string, ServiceLike> | null = null
  const key = (s: ServiceLike) => `${s.namespace}/${s.name}`
  const svcSink: ReflectorSink = {
    beginList: () => { svcListing = new Map() },
    listPage: (items) => { for (const i of items) { const s = serviceFromObject(i); if (s && svcListing!.size < MAX_SERVICES) svcListing!.set(key(s), s) } },
    endList: () => {
      services.clear()
      for (const [k, s] of svcListing ?? []) services.set(k, s)
      svcListing = null
      if (!servicesListed) { servicesListed = true; servicesReady() }
    },
    event: (type, object) => {
      const s = serviceFromObject(object)
      if (!s) return
      if (type === 'DELETED') services.delete(key(s))
      else if (services.size < MAX_SERVICES || services.has(key(s))) services.set(key(s), s)
    },
  }
  const observer: ReflectorObserver = {
    listed: (resource, reason, count) => log.info({ resource, reason, count }, 'listed'),
    watchEvent: () => {},
    failed: (resource, err, retryInMs) => log.warn({ resource, err: (err as Error).message, retryInMs }, 'watch failed'),
  }
  // the reflector names resources for the agent's metrics; these two are the kubelet's own
  const podReflector = new Reflector({ resource: 'pods' as ResourceName, path: '/api/v1/pods', fieldSelector: `spec.nodeName=${o.nodeName}`, pageSize: 500 }, transport, podSink, observer)
  const svcReflector = new Reflector({ resource: 'services', path: '/api/v1/services', pageSize: 500 }, transport, svcSink, observer)

  // the Node's address for status.hostIP; pods do not wait for it
  const fetchHostIP = async () => {
    for (let wait = 200; !hostIP; wait = Math.min(wait * 2, 5_000)) {
      try {
        hostIP = await api.nodeInternalIP(o.nodeName)
        if (hostIP) { for (const w of workers.values()) w.kick(); return }
      } catch { /* not there yet */ }
      await new Promise((r) => setTimeout(r, wait).unref())
      if (closed) return
    }
  }
  let closed = false
  void fetchHostIP()
  svcReflector.start()
  podReflector.start()

  // logs are appended by the containers themselves; keep each under its cap
  const logTimer = setInterval(() => {
    for (const uid of workers.keys()) {
      let names: string[] = []
      try { names = readdirSync(state.podDir(uid)) } catch { continue }
      for (const name of names) if (name.endsWith('.log')) capLog(join(state.podDir(uid), name), o.logCapBytes)
    }
  }, LOG_CHECK_MS)
  logTimer.unref()

  // the agent writes the conflist once the Node has a podCIDR: pods waiting for it go at once
  let confWatch: FSWatcher | undefined
  try {
    confWatch = watch(o.cniConfDir, () => { for (const w of workers.values()) w.retrySandbox() })
    confWatch.on('error', () => { /* the directory went away: the retry timers still run */ })
  } catch (e) {
    log.warn({ dir: o.cniConfDir, err: (e as Error).message }, 'cannot watch the CNI config dir; pods waiting for a conflist retry on a timer')
  }

  let server: Server | undefined
  if (o.healthz) {
    server = createServer((_req, res) => {
      const ok = podsListed && servicesListed
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
      res.end(ok ? `ok: ${workers.size} pods\n` : 'not synced\n')
    })
    await new Promise<void>((resolveListen, reject) => {
      server!.once('error', reject)
      server!.listen(o.healthz!.port, o.healthz!.host, () => resolveListen())
    })
  }

  return {
    pods: () => [...workers.keys()],
    healthzPort: () => { const a = server?.address(); return typeof a === 'object' && a ? a.port : undefined },
    close: async () => {
      closed = true
      clearInterval(logTimer)
      confWatch?.close()
      await Promise.all([podReflector.stop(), svcReflector.stop()])
      for (const w of workers.values()) w.detach()
      server?.close()
      transport.close()
    },
  }
}
