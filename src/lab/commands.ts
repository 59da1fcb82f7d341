// Pure: where the lab keeps its files inside the state directory, and the
// command lines of the processes it runs. Agents and kubelets run inside their
// node's namespace through `nsenter --net=` (which execs: the PID recorded is
// the program's own; `ip netns exec` would also remount /sys).
import { join } from 'node:path'
import { AGENT_HEALTHZ_PORT, AGENT_METRICS_PORT, CLUSTER_CIDR, CLUSTER_DOMAIN, DNS_METRICS_PORT, DNS_PORT, DNS_SERVICE_IP, KUBELET_HEALTHZ_PORT, netnsPath, SERVICE_CIDR, WIRE_CIDR, type LabTopology, type NodePlan } from './topology.ts'

export type ProxyMode = 'nftables' | 'iptables' | 'userspace' | 'ipvs'
export type OverlayMode = 'vxlan' | 'host-gw'
export const PROXY_MODES: readonly ProxyMode[] = ['nftables', 'iptables', 'userspace', 'ipvs']
export const OVERLAY_MODES: readonly OverlayMode[] = ['vxlan', 'host-gw']
/** the underlay veths' MTU, and what VXLAN's 50 bytes of headers leave for pods */
export const UNDERLAY_MTU = 1500
export const VXLAN_OVERHEAD = 50

export interface LabPaths {
  stateDir: string
  apiDir: string
  /** for kubectl in the root namespace (the loopback listener) */
  kubeconfig: string
  /** for agents and kubelets (the listener in the wire namespace) */
  nodeKubeconfig: string
  logs: string
  log(role: string, node?: string): string
  node(n: NodePlan): { dir: string; confDir: string; cniSocket: string; ipamDir: string; kubeletDir: string }
}

export function labPaths(stateDir: string, t: LabTopology): LabPaths {
  const apiDir = join(stateDir, 'api')
  const logs = join(stateDir, 'logs')
  return {
    stateDir,
    apiDir,
    kubeconfig: join(apiDir, 'kubeconfig'),
    // `pontoon api` writes kubeconfig-<host> for each listener when it has several
    nodeKubeconfig: join(apiDir, `kubeconfig-${t.api.host}`),
    logs,
    log: (role, node) => join(logs, `${role}${node ? `-${node}` : ''}.log`),
    node: (n) => {
      const dir = join(stateDir, 'nodes', n.name)
      return { dir, confDir: join(dir, 'net.d'), cniSocket: join(dir, 'cni.sock'), ipamDir: join(dir, 'ipam'), kubeletDir: join(dir, 'kubelet') }
    },
  }
}

export function apiArgs(t: LabTopology, p: LabPaths, loopbackPort: number): string[] {
  return ['api', '--data-dir', p.apiDir,
    // the first listener's kubeconfig is DATA_DIR/kubeconfig: kubectl's
    '--listen', `127.0.0.1:${loopbackPort}`,
    '--listen', `${t.api.host}:${t.api.port}@${netnsPath(t.wire.netns)}`,
    '--service-cidr', SERVICE_CIDR, '--cluster-cidr', CLUSTER_CIDR,
    '--scheduler']
}

export function agentArgs(n: NodePlan, p: LabPaths, proxyMode: ProxyMode, overlay: OverlayMode): string[] {
  const d = p.node(n)
  return ['agent', '--kubeconfig', p.nodeKubeconfig, '--node-name', n.name,
    '--proxy-mode', proxyMode,
    '--overlay', overlay, '--iface-cidr', WIRE_CIDR,
    '--cluster-cidr', CLUSTER_CIDR,
    '--cni-socket', d.cniSocket, '--cni-conf-dir', d.confDir, '--cni-ipam-data-dir', d.ipamDir,
    '--cni-mtu', String(overlay === 'vxlan' ? UNDERLAY_MTU - VXLAN_OVERHEAD : UNDERLAY_MTU),
    '--healthz-bind-address', `0.0.0.0:${AGENT_HEALTHZ_PORT}`, '--metrics-bind-address', `127.0.0.1:${AGENT_METRICS_PORT}`]
}

export function kubeletArgs(n: NodePlan, p: LabPaths, cniBinDir: string): string[] {
  const d = p.node(n)
  return ['kubelet', '--kubeconfig', p.nodeKubeconfig, '--node-name', n.name,
    '--cni-conf-dir', d.confDir, '--cni-bin-dir', cniBinDir,
    '--netns-prefix', n.podNetnsPrefix, '--state-dir', d.kubeletDir,
    '--healthz', `127.0.0.1:${KUBELET_HEALTHZ_PORT}`,
    '--cluster-dns', DNS_SERVICE_IP, '--cluster-domain', CLUSTER_DOMAIN]
}

/** cluster DNS on a node's address (kube-dns's endpoint); /metrics only on that node's loopback */
export function dnsArgs(n: NodePlan, p: LabPaths): string[] {
  return ['dns', '--kubeconfig', p.nodeKubeconfig, '--listen', `${n.ip}:${DNS_PORT}`, '--cluster-domain', CLUSTER_DOMAIN,
    '--metrics-bind-address', `127.0.0.1:${DNS_METRICS_PORT}`]
}

/** nsenter into the node's namespace, then the program. */
export function inNode(n: NodePlan, program: string, args: string[]): { cmd: string; args: string[] } {
  return { cmd: 'nsenter', args: [`--net=${netnsPath(n.netns)}`, '--', program, ...args] }
}

/** The lab's processes find the shipped binaries first; the host-namespace guard is passed on when set. */
export function labEnv(binDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { PATH: `${binDir}:${env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`, ...(env.PONTOON_FORBID_NETNS ? { PONTOON_FORBID_NETNS: env.PONTOON_FORBID_NETNS } : {}) }
}

/** CNI_PATH for the kubelets: our plugins, then Debian's reference ones (the conflist chains portmap). */
export function cniBinPath(binDir: string): string {
  return `${binDir}:/usr/lib/cni`
}
