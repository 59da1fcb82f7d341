// `pontoon agent --kubeconfig FILE --node-name NAME`. The agent's modules load
// only when this command runs: other commands should not pay their start-up.
import type { CommandModule } from 'yargs'
import { FlagError, parseBindAddress } from '../agent/bind-address.ts'

interface AgentArgs {
  kubeconfig?: string
  'node-name': string
  'log-level': string
  'healthz-bind-address': string
  'metrics-bind-address': string
  'min-sync-period': number
  'sync-period': number
  'cni-socket'?: string
  'cni-conf-dir'?: string
  'cni-mtu'?: number
  'cni-ipam-data-dir'?: string
  'proxy-mode': string
  'cluster-cidr'?: string
  'masquerade-all': boolean
  'nodeport-addresses': string
  'iptables-backend': string
  'ipvs-scheduler': string
  'ipvs-strict-arp': boolean
  'ipvs-tcp-timeout': number
  'ipvs-tcpfin-timeout': number
  'ipvs-udp-timeout': number
  overlay: string
  'vxlan-tx-checksum-offload'?: boolean
  iface?: string
  'iface-cidr'?: string
  'public-ip'?: string
}

export const agentCommand: CommandModule<object, AgentArgs> = {
  command: 'agent',
  describe: 'watch the cluster and run the node dataplane',
  builder: (y) =>
    y
      .option('kubeconfig', { type: 'string', describe: 'kubeconfig file; without it, the in-cluster service account' })
      .option('node-name', { type: 'string', demandOption: true, describe: 'this node\'s name in the API' })
      .option('healthz-bind-address', { type: 'string', default: '0.0.0.0:10256', describe: 'IP:port for /healthz' })
      .option('metrics-bind-address', { type: 'string', default: '127.0.0.1:10249', describe: 'IP:port for /metrics' })
      .option('min-sync-period', { type: 'number', default: 1, describe: 'seconds: syncs run at most this often' })
      .option('sync-period', { type: 'number', default: 30, describe: 'seconds: syncs run at least this often' })
      .option('cni-socket', { type: 'string', describe: 'serve pontoon-cni invocations on this unix socket (conflist key "agentSocket")' })
      .option('cni-conf-dir', { type: 'string', describe: "write this node's conflist (from its podCIDRs) into this directory, e.g. /etc/cni/net.d" })
      .option('cni-ipam-data-dir', { type: 'string', describe: "pontoon-ipam's reservation directory written into the conflist (default /var/lib/cni/networks); the lab gives each node its own" })
      .option('cni-mtu', { type: 'number', describe: 'pod MTU written into the conflist (the underlay MTU minus the overlay header)' })
      .option('proxy-mode', { type: 'string', default: 'nftables', describe: 'service proxy: nftables, iptables, ipvs (IPVS virtual servers over netlink, kube-ipvs0, ipset), userspace (a local socket per Service port, iptables REDIRECT), or none (no Service rules)' })
      .option('ipvs-scheduler', { type: 'string', default: 'rr', describe: 'with --proxy-mode ipvs: rr, wrr, lc, sh or mh' })
      .option('ipvs-strict-arp', { type: 'boolean', default: false, describe: 'with --proxy-mode ipvs: arp_ignore=1, arp_announce=2, so the node does not answer ARP for the VIPs on kube-ipvs0' })
      .option('ipvs-tcp-timeout', { type: 'number', default: 0, describe: 'with --proxy-mode ipvs: idle timeout of established TCP connections, seconds (0: the kernel\'s)' })
      .option('ipvs-tcpfin-timeout', { type: 'number', default: 0, describe: 'with --proxy-mode ipvs: timeout of TCP connections after a FIN, seconds (0: the kernel\'s)' })
      .option('ipvs-udp-timeout', { type: 'number', default: 0, describe: 'with --proxy-mode ipvs: UDP idle timeout, seconds (0: the kernel\'s)' })
      .option('cluster-cidr', { type: 'string', describe: 'pod CIDRs, comma-separated: traffic from outside them to a clusterIP is masqueraded' })
      .option('masquerade-all', { type: 'boolean', default: false, describe: 'masquerade all traffic to clusterIPs' })
      .option('iptables-backend', { type: 'string', default: 'auto', describe: "with --proxy-mode iptables or userspace: nft, legacy, or auto (whatever the system's iptables is)" })
      .option('overlay', { type: 'string', default: 'vxlan', describe: 'pod network across nodes: vxlan, host-gw (nodes on one L2 segment), or none' })
      .option('iface', { type: 'string', describe: 'overlay underlay interface: a name, or /REGEX/ matched against names (default: the one holding the Node\'s InternalIP)' })
      .option('iface-cidr', { type: 'string', describe: 'overlay underlay: the interface with an address in this CIDR' })
      .option('vxlan-tx-checksum-offload', { type: 'boolean', describe: "VXLAN device tx checksum offload (much faster bulk transfers). Default: on with pontoon's own proxy, whose masquerade never SNATs tunnel packets; off with --proxy-mode none, where other rules might (the 63 s delay flannel turns it off for)" })
      .option('public-ip', { type: 'string', describe: 'the address other nodes send overlay traffic to (published as pontoon.io/public-ip); default: the underlay address' })
      .option('log-level', { type: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] })
      .option('nodeport-addresses', { type: 'string', default: 'primary', describe: "addresses NodePorts serve on: 'primary' (the Node's InternalIPs) or CIDRs, comma-separated (0.0.0.0/0: every local address)" }),
  handler: async (args) => {
    const { default: pino } = await import('pino')
    const log = pino({ name: 'pontoon-agent', level: args['log-level'] })
    let healthz, metrics
    let proxyFlags: { clusterCIDRs: string[]; nodePortAddresses: import('../proxy/nodeport-addresses.ts').NodePortAddressesFlag; ipvs?: import('../proxy/flags.ts').IpvsFlags } | undefined
    let overlayFlags: import('../overlay/start.ts').OverlayFlags | undefined
    try {
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(args['node-name'])) {
        throw new FlagError('--node-name', `"${args['node-name']}" is not a DNS-1123 subdomain`)
      }
      if (!(args['min-sync-period'] >= 0) || !(args['sync-period'] >= args['min-sync-period']) || args['sync-period'] <= 0) {
        throw new FlagError('--sync-period', 'need 0 <= --min-sync-period <= --sync-period, and --sync-period > 0')
      }
      if (!['nftables', 'iptables', 'ipvs', 'userspace', 'none'].includes(args['proxy-mode'])) {
        throw new FlagError('--proxy-mode', `"${args['proxy-mode']}" is not one of nftables, iptables, ipvs, userspace, none`)
      }
      if (!['nft', 'legacy', 'auto'].includes(args['iptables-backend'])) {
        throw new FlagError('--iptables-backend', `"${args['iptables-backend']}" is not one of nft, legacy, auto`)
      }
      if (args['proxy-mode'] !== 'none') {
        const { parseClusterCIDRs, parseIpvsFlags } = await import('../proxy/flags.ts')
        const { parseNodePortAddresses } = await import('../proxy/nodeport-addresses.ts')
        proxyFlags = { clusterCIDRs: parseClusterCIDRs(args['cluster-cidr']), nodePortAddresses: parseNodePortAddresses(args['nodeport-addresses']) }
        if (args['proxy-mode'] === 'ipvs') {
          proxyFlags.ipvs = parseIpvsFlags({ scheduler: args['ipvs-scheduler'], strictARP: args['ipvs-strict-arp'], tcp: args['ipvs-tcp-timeout'], tcpFin: args['ipvs-tcpfin-timeout'], udp: args['ipvs-udp-timeout'] })
        }
      }
      const { parseOverlayMode, parseUnderlayFlags } = await import('../overlay/flags.ts')
      const overlay = parseOverlayMode(args.overlay)
      const underlay = parseUnderlayFlags({ iface: args.iface, ifaceCidr: args['iface-cidr'], publicIP: args['public-ip'] })
      if (overlay !== 'none') {
        const { parseClusterCIDRs } = await import('../proxy/flags.ts')
        const { txOffloadWanted } = await import('../overlay/offload.ts')
        overlayFlags = { mode: overlay, nodeName: args['node-name'], underlay, clusterCIDRs: parseClusterCIDRs(args['cluster-cidr']), syncPeriodMs: args['sync-period'] * 1000, txChecksumOffload: txOffloadWanted(args['vxlan-tx-checksum-offload'], args['proxy-mode']) }
      }
      healthz = parseBindAddress('--healthz-bind-address', args['healthz-bind-address'], 10256)
      metrics = parseBindAddress('--metrics-bind-address', args['metrics-bind-address'], 10249)
    } catch (e) {
      log.error({ code: (e as FlagError).code }, (e as Error).message)
      process.exitCode = 2
      return
    }
    // The resident CNI server works without the API: pods must get networks even while it is down.
    const cni = args['cni-socket']
      ? await (await import('../cni/resident/server.ts')).startCniServer(args['cni-socket'], (msg, extra) => log.info(extra ?? {}, msg))
      : undefined
    const { loadClusterAccess } = await import('../cluster/kubeconfig.ts')
    const { HttpTransport } = await import('../cluster/http-transport.ts')
    const { startAgent } = await import('../agent/agent.ts')
    const { cniConfigWriter } = await import('../agent/cni-config.ts')
    const { createAgentMetrics } = await import('../metrics/agent-metrics.ts')
    const { systemClock } = await import('../agent/clock.ts')
    const confDir = args['cni-conf-dir']
    const consumers = confDir
      ? [cniConfigWriter({ nodeName: args['node-name'], confDir, log, ...(args['cni-socket'] ? { agentSocket: args['cni-socket'] } : {}), ...(args['cni-mtu'] ? { mtu: args['cni-mtu'] } : {}), ...(args['cni-ipam-data-dir'] ? { ipamDataDir: args['cni-ipam-data-dir'] } : {}) })]
      : []
    const agentMetrics = createAgentMetrics()
    let agent
    let transport
    let proxy: { close(): Promise<void> } | undefined
    let overlay: { close(): void } | undefined
    try {
      if (proxyFlags) {
        const { startProxy } = await import('../proxy/start.ts')
        const started = await startProxy({
          mode: args['proxy-mode'] as 'nftables' | 'iptables' | 'ipvs' | 'userspace',
          ...(proxyFlags.ipvs ? { ipvs: proxyFlags.ipvs } : {}),
          nodeName: args['node-name'],
          clusterCIDRs: proxyFlags.clusterCIDRs,
          masqueradeAll: args['masquerade-all'],
          nodePortAddresses: proxyFlags.nodePortAddresses,
          syncPeriodMs: args['sync-period'] * 1000,
          iptablesBackend: args['iptables-backend'] as 'nft' | 'legacy' | 'auto',
        }, { registry: agentMetrics.registry, clock: systemClock, log })
        proxy = started
        consumers.push(started.consumer)
      }
      transport = new HttpTransport(await loadClusterAccess(args.kubeconfig))
      if (overlayFlags) {
        const { startOverlay } = await import('../overlay/start.ts')
        const started = await startOverlay(overlayFlags, { api: transport, clock: systemClock, log })
        overlay = started
        consumers.push(started.consumer)
      }
      agent = await startAgent({
        transport,
        nodeName: args['node-name'],
        healthz,
        metrics,
        log,
        minSyncIntervalMs: args['min-sync-period'] * 1000,
        maxSyncIntervalMs: args['sync-period'] * 1000,
        consumers,
        agentMetrics,
      })
    } catch (e) {
      log.error({ code: (e as { code?: unknown }).code }, (e as Error).message)
      transport?.close()
      overlay?.close()
      await proxy?.close()
      await cni?.close()
      process.exitCode = 1
      return
    }
    const running = agent
    const api = transport
    await new Promise<void>((resolve) => {
      // `on`, not `once`: a second signal during the stop must not fall through to
      // the default action (execa's signal-exit re-raises it when no listener is left).
      let stopping = false
      const shutdown = (signal: string) => {
        if (stopping) return
        stopping = true
        log.info({ signal }, 'stopping')
        // The proxy's rules and the overlay's entries stay: pods keep their connections while the agent restarts (kube-proxy and flannel do the same).
        Promise.all([running.stop().finally(() => { api.close(); overlay?.close(); return proxy?.close() }), cni?.close()]).then(() => resolve(), () => resolve())
      }
      process.on('SIGTERM', () => shutdown('SIGTERM'))
      process.on('SIGINT', () => shutdown('SIGINT'))
    })
  },
}
