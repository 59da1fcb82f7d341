// Wires the parts into a running server: disk store, object store, verbs,
// controllers and listeners. `startApiServer` is what the CLI and tests call.
import type { Server } from 'node:http'
import { randomBytes } from 'node:crypto'
import { Api } from './core.ts'
import { IpAllocator } from './alloc/ip-allocator.ts'
import { PortAllocator } from './alloc/port-allocator.ts'
import { ServiceAllocations } from './alloc/service-alloc.ts'
import { DiskStore } from './store/disk.ts'
import { Store } from './store/store.ts'
import { makeHandler } from './server/handler.ts'
import { closeServer, isLoopback, listen, type ListenAddress } from './server/listen.ts'
import { DEFAULT_LIMITS, type ListenLimits } from './limits.ts'
import { loadOrMakeToken, writeKubeconfig } from './kubeconfig.ts'
import { loadOrMakeCert } from './tls.ts'
import { byName } from './resources.ts'
import { startControllers, type Controllers } from './controllers/index.ts'
import { startKubernetesServiceController } from './controllers/kubernetes-service.ts'

export interface ApiServerOptions {
  dataDir: string
  listen: ListenAddress[]
  serviceCidr: string
  clusterCidr: string
  nodeCidrMaskSize: number
  historySize: number
  bookmarkMs: number
  /** per-watcher bound on unsent output, and on concurrent watches (defaults in the handler) */
  watchBufferBytes?: number
  maxWatches?: number
  /** listener bounds; DEFAULT_LIMITS for what is not given */
  limits?: Partial<ListenLimits>
  /** the largest request body accepted (413 beyond) */
  maxBodyBytes?: number
  /** bind unbound Pods to Nodes (`--scheduler`) */
  scheduler?: boolean
  log: { info(o: object, msg: string): void; error(o: object, msg: string): void; debug(o: object, msg: string): void; warn(o: object, msg: string): void }
}

export interface RunningApiServer {
  api: Api
  addresses: ListenAddress[]
  kubeconfig: string
  token: string
  close(): Promise<void>
}

const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease']

export async function startApiServer(o: ApiServerOptions): Promise<RunningApiServer> {
  const disk = new DiskStore(o.dataDir)
  const store = new Store({ historySize: o.historySize, disk })
  store.load()
  const api = new Api(store, new ServiceAllocations(new IpAllocator(o.serviceCidr), new PortAllocator()))
  api.restore()
  const ns = byName('namespaces')
  for (const name of SYSTEM_NAMESPACES) if (!store.get('namespaces', undefined, name)) api.create(ns, undefined, { metadata: { name } })
  api.finishGracefulDeletes()
  const controllers: Controllers = startControllers(api, { clusterCidr: o.clusterCidr, nodeCidrMaskSize: o.nodeCidrMaskSize, log: o.log, scheduler: o.scheduler })

  // Every listener authenticates and speaks TLS, loopback included.
  const outside = o.listen.filter((a) => !isLoopback(a.host)).map((a) => a.host)
  const token = loadOrMakeToken(o.dataDir, () => randomBytes(24).toString('base64url'))
  const tls = await loadOrMakeCert(o.dataDir, outside)
  const limits: ListenLimits = { ...DEFAULT_LIMITS, ...o.limits }
  const handle = makeHandler({ api, bookmarkMs: o.bookmarkMs, watchBufferBytes: o.watchBufferBytes, maxWatches: o.maxWatches, maxBodyBytes: o.maxBodyBytes, log: o.log })
  const servers: Server[] = []
  const addresses: ListenAddress[] = []
  const urls: { host: string; url: string }[] = []
  try {
    for (const a of o.listen) {
      const l = await listen(a, handle, { token, tls }, limits)
      servers.push(l.server)
      addresses.push(l.address)
      const host = l.address.host.includes(':') ? `[${l.address.host}]` : l.address.host
      urls.push({ host: l.address.host, url: `https://${host}:${l.address.port}` })
      o.log.info({ address: `${l.address.host}:${l.address.port}`, tls: true, ...(l.address.netns ? { netns: l.address.netns } : {}) }, 'listening')
    }
  } catch (e) {
    for (const s of servers) s.close()
    controllers.stop()
    store.close()
    throw e
  }
  const advertised = addresses.find((a) => !isLoopback(a.host))
  const stopKubernetesService = startKubernetesServiceController(api, o.serviceCidr, advertised && { host: advertised.host, port: advertised.port }, { log: o.log })
  // What start wrote is durable before the server says it is ready.
  store.flush()

  // DIR/kubeconfig for the first address; with several, DIR/kubeconfig-<host> for each.
  const kc = (u: (typeof urls)[number], name: string) => writeKubeconfig(o.dataDir, name, u.url, token, tls.cert)
  const kubeconfig = kc(urls[0]!, 'kubeconfig')
  if (urls.length > 1) for (const u of urls) kc(u, `kubeconfig-${u.host.replace(/[^0-9A-Za-z.-]/g, '_')}`)

  return {
    api,
    addresses,
    kubeconfig,
    token,
    async close() {
      stopKubernetesService()
      controllers.stop()
      api.close()
      await Promise.all(servers.map(closeServer))
      store.close()
    },
  }
}
