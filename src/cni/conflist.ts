// Pure: the node's CNI conflist from its podCIDRs. The agent writes it (see
// agent/cni-config.ts); containerd reads it. Masquerade is left to the agent
// (Services: the proxy; pod egress: overlay/egress.ts): the plugin's per-pod
// ipMasq only knows the pod's own subnet and would hide pod sources from pods on
// other nodes.

export interface ConflistInput {
  podCIDRs: readonly string[]
  /** the resident CNI socket the agent serves, if any */
  agentSocket?: string
  mtu?: number
  /** where pontoon-ipam keeps its reservations (host-local's dataDir); its default when absent */
  ipamDataDir?: string
  bridge?: string
  network?: string
}

export function planConflist(i: ConflistInput): Record<string, unknown> {
  const bridge: Record<string, unknown> = {
    type: 'pontoon-cni',
    bridge: i.bridge ?? 'cni0',
    isDefaultGateway: true,
    hairpinMode: true,
    ipam: { type: 'pontoon-ipam', ranges: i.podCIDRs.map((subnet) => [{ subnet }]), ...(i.ipamDataDir ? { dataDir: i.ipamDataDir } : {}) },
  }
  if (i.mtu !== undefined) bridge.mtu = i.mtu
  if (i.agentSocket) bridge.agentSocket = i.agentSocket
  return {
    // 1.0.0, not 1.1.0: Debian's portmap (containernetworking-plugins 1.1.1) speaks
    // CNI up to 1.0.0 and refuses a 1.1.0 list, so every pod ADD would fail under
    // containerd as under the lab kubelet
    cniVersion: '1.0.0',
    name: i.network ?? 'pontoon',
    plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }],
  }
}

export function conflistText(i: ConflistInput): string {
  return JSON.stringify(planConflist(i), null, 2) + '\n'
}
