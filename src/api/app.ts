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
import { isLoopback, listen, type ListenAddress } from './server/listen.ts'
import { loadOrMakeToken, writeKubeconfig } from './kubeconfig.ts'
import { loadOrMakeCert } from './tls.ts'
import { byName } from './resources.ts'
import { startControllers, type Controllers } from './controllers/index.ts'
import { reconcileKubernetesService } from './controllers/kubernetes-service.ts'

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
  log: { info(o: object, msg: string): void; error(o: object, msg: string): void; debug(o: object, msg: string): void; warn(o: object, msg: string): void }
}

export interface RunningApiServer {
  api: Api
  addresses: ListenAddress[]
  kubeconfig: string
  token: string | undefined
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
  const controllers: Controllers = startControllers(api, { clusterCidr: o.clusterCidr, nodeCidrMaskSize: o.nodeCidrMaskSize, log: o.log })

  const outside = o.listen.filter((a) => !isLoopback(a.host)).map((a) => a.host)
  const token = outside.length ? loadOrMakeToken(o.dataDir, () => randomBytes(24).toString('base64url')) : undefined
  const tls = outside.length ? await loadOrMakeCert(o.dataDir, outside) : undefined
  const secure = token && tls ? { token, tls } : undefined
  const handle = makeHandler({ api, bookmarkMs: o.bookmarkMs, watchBufferBytes: o.watchBufferBytes, maxWatches: o.maxWatches, log: o.log })
  const servers: Server[] = []
  const addresses: ListenAddress[] = []
  const urls: { host: string; url: string; tls: boolean }[] = []
  try {
    for (const a of o.listen) {
      const l = await listen(a, handle, secure)
      servers.push(l.server)
      addresses.push(l.address)
      const host = l.address.host.includes(':') ? `[${l.address.host}]` : l.address.host
      urls.push({ host: l.address.host, url: `${l.tls ? 'https' : 'http'}://${host}:${l.address.port}`, tls: l.tls })
      o.log.info({ address: `${l.address.host}:${l.address.port}`, tls: l.tls, ...(l.address.netns ? { netns: l.address.netns } : {}) }, 'listening')
    }
  } catch (e) {
    for (const s of servers) s.close()
    controllers.stop()
    store.close()
    throw e
  }
  const advertised = addresses.find((a) => !isLoopback(a.host))
  reconcileKubernetesService(api, o.serviceCidr, advertised && { host: advertised.host, port: advertised.port })
  // What start wrote is durable before the server says it is ready.
  store.flush()

  // DIR/kubeconfig for the first address; with several, DIR/kubeconfig-<host> for each.
  const kc = (u: (typeof urls)[number], name: string) => writeKubeconfig(o.dataDir, name, u.url, u.tls ? token : undefined, u.tls ? tls?.cert : undefined)
  const kubeconfig = kc(urls[0]!, 'kubeconfig')
  if (urls.length > 1) for (const u of urls) kc(u, `kubeconfig-${u.host.replace(/[^0-9A-Za-z.-]/g, '_')}`)

  return {
    api,
    addresses,
    kubeconfig,
    token,
    async close() {
      controllers.stop()
      api.close()
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve())
              s.closeAllConnections()
            }),
        ),
      )
      store.close()
    },
  }
}
