// `pontoon api`: the embedded Kubernetes-compatible API server, in the foreground.
import type { CommandModule } from 'yargs'
import { DEFAULT_BODY_LIMIT, DEFAULT_LIMITS } from '../api/limits.ts'

interface Args {
  'data-dir': string
  listen: string[]
  'service-cidr': string
  'cluster-cidr': string
  'node-cidr-mask-size': number
  history: number
  'bookmark-interval': number
  'watch-buffer-bytes': number
  'max-watches': number
  'max-request-bytes': number
  'request-header-timeout': number
  'request-timeout': number
  'max-connections': number
  'log-level': string
  scheduler: boolean
}

export const apiCommand: CommandModule<object, Args> = {
  command: 'api',
  describe: 'run the embedded Kubernetes-compatible API server (writes DATA_DIR/kubeconfig)',
  builder: (y) =>
    y
      .option('data-dir', { type: 'string', demandOption: true, describe: 'where objects are kept; the kubeconfig is written here' })
      .option('listen', { type: 'string', array: true, default: ['127.0.0.1:6443'], describe: 'HOST:PORT to listen on, or HOST:PORT@/run/netns/NAME inside a namespace (repeatable); every listener speaks HTTPS and requires the bearer token in the kubeconfig' })
      .option('service-cidr', { type: 'string', default: '10.96.0.0/16', describe: 'range clusterIPs are allocated from' })
      .option('cluster-cidr', { type: 'string', default: '10.244.0.0/16', describe: 'range node podCIDRs are carved from' })
      .option('node-cidr-mask-size', { type: 'number', default: 24, describe: 'prefix length of each node podCIDR' })
      .option('history', { type: 'number', default: 10000, describe: 'events kept for watches that resume; older resourceVersions get 410 Gone' })
      .option('bookmark-interval', { type: 'number', default: 60, describe: 'seconds between watch bookmarks' })
      .option('watch-buffer-bytes', { type: 'number', default: 16 * 1024 * 1024, describe: 'a watcher whose unsent events pass this many bytes is dropped (it relists)' })
      .option('max-watches', { type: 'number', default: 10000, describe: 'concurrent watches beyond this get 429 TooManyRequests' })
      .option('max-request-bytes', { type: 'number', default: DEFAULT_BODY_LIMIT, describe: 'largest request body accepted; larger ones get 413' })
      .option('request-header-timeout', { type: 'number', default: DEFAULT_LIMITS.headersTimeoutMs / 1000, describe: 'seconds a client has to send its request headers' })
      .option('request-timeout', { type: 'number', default: DEFAULT_LIMITS.requestTimeoutMs / 1000, describe: 'seconds a client has to send a whole request (a watch response is not bounded by it)' })
      .option('max-connections', { type: 'number', default: DEFAULT_LIMITS.maxConnections, describe: 'open connections per listener; more are closed at once' })
      .option('scheduler', { type: 'boolean', default: false, describe: 'bind Pods that name no node, round-robin over the schedulable Nodes that match their nodeSelector (as kube-scheduler does, through pods/binding)' })
      .option('log-level', { type: 'string', default: 'info' }) as never,
  handler: async (a) => {
    const { default: pino } = await import('pino') // default: pino is CommonJS, and a split bundle gives a CommonJS chunk only its default
    const log = pino({ level: a['log-level'], base: { cmd: 'api' } }, pino.destination(2))
    const { startApiServer } = await import('../api/app.ts')
    const { parseListen } = await import('../api/server/listen.ts')
    let server: Awaited<ReturnType<typeof startApiServer>>
    try {
      server = await startApiServer({
        dataDir: a['data-dir'],
        listen: a.listen.map(parseListen),
        serviceCidr: a['service-cidr'],
        clusterCidr: a['cluster-cidr'],
        nodeCidrMaskSize: a['node-cidr-mask-size'],
        historySize: a.history,
        bookmarkMs: a['bookmark-interval'] * 1000,
        watchBufferBytes: a['watch-buffer-bytes'],
        maxWatches: a['max-watches'],
        maxBodyBytes: a['max-request-bytes'],
        scheduler: a.scheduler,
        limits: { headersTimeoutMs: a['request-header-timeout'] * 1000, requestTimeoutMs: a['request-timeout'] * 1000, maxConnections: a['max-connections'] },
        log,
      })
    } catch (e) {
      const err = e as Error & { code?: string }
      log.error({ code: err.code, err: err.message }, 'api server failed to start')
      process.stderr.write(`pontoon api: ${err.message}\n`)
      process.exitCode = 1
      return
    }
    log.info({ kubeconfig: server.kubeconfig, resourceVersion: server.api.store.resourceVersion() }, 'ready')
    let closing = false
    const stop = (signal: string) => {
      if (closing) return
      closing = true
      log.info({ signal }, 'shutting down')
      server.close().then(
        () => process.exit(0),
        (e) => {
          log.error({ err: e }, 'shutdown failed')
          process.exit(1)
        },
      )
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  },
}
