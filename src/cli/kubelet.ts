// `pontoon kubelet`: the lab's node agent for Pods, run inside a node's network namespace.
import type { CommandModule } from 'yargs'

interface Args {
  kubeconfig: string
  'node-name': string
  'cni-conf-dir': string
  'cni-bin-dir': string
  'netns-prefix': string
  'state-dir': string
  healthz?: string
  'drain-delay-ms': number
  'max-pods': number
  'log-cap-bytes': number
  'log-level': string
  'cluster-dns': string[]
  'cluster-domain': string
  'resolv-conf': string
}

export const kubeletCommand: CommandModule<object, Args> = {
  command: 'kubelet',
  describe: "run the lab kubelet for one node: the node's Pods get a netns through the conflist's CNI plugins and their containers' commands run in it (no images)",
  builder: (y) =>
    y
      .option('kubeconfig', { type: 'string', demandOption: true })
      .option('node-name', { type: 'string', demandOption: true, describe: 'the Node whose Pods (spec.nodeName) this kubelet runs' })
      .option('cni-conf-dir', { type: 'string', default: '/etc/cni/net.d', describe: 'the first *.conflist here (lexical order) is used, as containerd does' })
      .option('cni-bin-dir', { type: 'string', default: '/opt/cni/bin', describe: 'CNI plugin directories, colon-separated, searched in order (CNI_PATH)' })
      .option('netns-prefix', { type: 'string', demandOption: true, describe: 'pod namespaces are /run/netns/<prefix>-p<8 hex of sha256(pod uid)>' })
      .option('state-dir', { type: 'string', demandOption: true, describe: 'pod records (pids, netns, CNI results) and container logs' })
      .option('healthz', { type: 'string', describe: 'HOST:PORT for GET /healthz (200 once Pods and Services are listed)' })
      .option('drain-delay-ms', { type: 'number', default: 2000, describe: 'after a deleted Pod left every EndpointSlice as ready, wait this long before SIGTERM (within its grace period)' })
      .option('max-pods', { type: 'number', default: 110, describe: 'pods beyond this are rejected (phase Failed, reason OutOfpods)' })
      .option('log-cap-bytes', { type: 'number', default: 10 << 20, describe: 'a container log past this is moved to <log>.1 and truncated' })
      .option('cluster-dns', { type: 'string', array: true, default: [] as string[], describe: "DNS server IPs for the pods' resolv.conf (dnsPolicy ClusterFirst); none: the node's resolv.conf" })
      .option('cluster-domain', { type: 'string', default: 'cluster.local', describe: "the cluster domain in the pods' search path" })
      .option('resolv-conf', { type: 'string', default: '/etc/resolv.conf', describe: "the node's resolv.conf (dnsPolicy Default, and the search path ClusterFirst appends)" })
      .option('log-level', { type: 'string', default: 'info' }) as never,
  handler: async (a) => {
    const { default: pino } = await import('pino')
    const log = pino({ level: a['log-level'], base: { cmd: 'kubelet', node: a['node-name'] } }, pino.destination(2))
    const { loadClusterAccess } = await import('../cluster/kubeconfig.ts')
    const { startKubelet } = await import('../lab/kubelet/kubelet.ts')
    const fail = (code: string, msg: string) => {
      log.error({ code }, msg)
      process.stderr.write(`pontoon kubelet: ${code}: ${msg}\n`)
      process.exitCode = 1
    }
    let healthz: { host: string; port: number } | undefined
    if (a.healthz) {
      const m = /^(.*):(\d{1,5})$/.exec(a.healthz)
      if (!m || Number(m[2]) > 65535) return fail('EFLAG', `--healthz must be HOST:PORT, got ${JSON.stringify(a.healthz)}`)
      healthz = { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) }
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/.test(a['netns-prefix'])) return fail('EFLAG', `--netns-prefix must be a short plain name, got ${JSON.stringify(a['netns-prefix'])}`)
    if (!Number.isInteger(a['max-pods']) || a['max-pods'] < 1) return fail('EFLAG', `--max-pods must be a positive integer, got ${a['max-pods']}`)
    const { ipFamily } = await import('../net/address.ts')
    const badDns = a['cluster-dns'].flatMap((s) => s.split(',')).filter(Boolean).find((s) => !ipFamily(s))
    if (badDns !== undefined) return fail('EFLAG', `--cluster-dns must be IP addresses, got ${JSON.stringify(badDns)}`)
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(a['cluster-domain'])) return fail('EFLAG', `--cluster-domain must be a DNS name, got ${JSON.stringify(a['cluster-domain'])}`)
    if (!(a['drain-delay-ms'] >= 0)) return fail('EFLAG', `--drain-delay-ms must be >= 0, got ${a['drain-delay-ms']}`)
    let kubelet: Awaited<ReturnType<typeof startKubelet>>
    try {
      const access = await loadClusterAccess(a.kubeconfig)
      kubelet = await startKubelet({
        access, nodeName: a['node-name'], cniConfDir: a['cni-conf-dir'], cniBinDirs: a['cni-bin-dir'].split(':').filter(Boolean),
        netnsPrefix: a['netns-prefix'], stateDir: a['state-dir'], ...(healthz ? { healthz } : {}), drainDelayMs: a['drain-delay-ms'],
        maxPods: a['max-pods'], logCapBytes: a['log-cap-bytes'], log,
        dns: { servers: a['cluster-dns'].flatMap((s) => s.split(',')).filter(Boolean), domain: a['cluster-domain'] }, resolvConf: a['resolv-conf'],
      })
    } catch (e) {
      const err = e as Error & { code?: string }
      return fail(err.code ?? 'ESTART', err.message)
    }
    log.info({ healthz: kubelet.healthzPort() }, 'kubelet ready')
    const stop = (signal: string) => {
      log.info({ signal }, 'kubelet stopping; pods keep running')
      kubelet.close().finally(() => process.exit(0))
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  },
}
