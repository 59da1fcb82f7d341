// `pontoon dns --kubeconfig FILE`: cluster DNS for Services and pods, from the
// agent's list/watch cache. Its modules load only when this command runs.
import type { CommandModule } from 'yargs'
import { FlagError, parseBindAddress } from '../agent/bind-address.ts'

interface DnsArgs {
  kubeconfig?: string
  listen: string
  'cluster-domain': string
  ttl: number
  upstream: string[]
  'metrics-bind-address': string
}

export const dnsCommand: CommandModule<object, DnsArgs> = {
  command: 'dns',
  describe: 'serve the cluster domain (Services, headless endpoints, SRV, PTR, pods) over UDP and TCP',
  builder: (y) =>
    y
      .option('kubeconfig', { type: 'string', describe: 'kubeconfig file; without it, the in-cluster service account' })
      .option('listen', { type: 'string', default: '0.0.0.0:53', describe: 'IP:port for DNS, UDP and TCP' })
      .option('cluster-domain', { type: 'string', default: 'cluster.local', describe: 'the zone served' })
      .option('ttl', { type: 'number', default: 5, describe: 'seconds: TTL of every answer (and of negative ones)' })
      .option('upstream', { type: 'string', array: true, default: [] as string[], describe: 'resolvers (IP or IP:port) for names outside the zone; none: REFUSED' })
      .option('metrics-bind-address', { type: 'string', default: '127.0.0.1:9153', describe: 'IP:port for /metrics (loopback by default: it has no authentication)' }),
  handler: async (args) => {
    const { default: pino } = await import('pino')
    const log = pino({ name: 'pontoon-dns' })
    const { parseClusterDomain, parseTtl, parseUpstreams } = await import('../dns/flags.ts')
    let opts
    try {
      opts = {
        listen: parseBindAddress('--listen', args.listen, 53),
        metrics: parseBindAddress('--metrics-bind-address', args['metrics-bind-address'], 9153),
        domain: parseClusterDomain(args['cluster-domain']),
        ttl: parseTtl(args.ttl),
        upstreams: parseUpstreams(args.upstream),
      }
    } catch (e) {
      log.error({ code: (e as FlagError).code }, (e as Error).message)
      process.exitCode = 2
      return
    }
    const { loadClusterAccess } = await import('../cluster/kubeconfig.ts')
    const { HttpTransport } = await import('../cluster/http-transport.ts')
    const { startDns } = await import('../dns/start.ts')
    let transport
    let running
    try {
      transport = new HttpTransport(await loadClusterAccess(args.kubeconfig))
      running = await startDns({ ...opts, transport, log })
    } catch (e) {
      log.error({ code: (e as { code?: unknown }).code }, (e as Error).message)
      transport?.close()
      process.exitCode = 1
      return
    }
    const dns = running
    const api = transport
    await new Promise<void>((resolve) => {
      let stopping = false
      const shutdown = (signal: string) => {
        if (stopping) return
        stopping = true
        log.info({ signal }, 'stopping')
        dns.stop().finally(() => api.close()).then(() => resolve(), () => resolve())
      }
      process.on('SIGTERM', () => shutdown('SIGTERM'))
      process.on('SIGINT', () => shutdown('SIGINT'))
    })
  },
}
