// Kernel names for an attachment, derived from its identity so that DEL and GC
// can find what a killed ADD left behind without the pod's netns or any state file.
import { createHash } from 'node:crypto'

/** The host end of the pod's veth: "pnv" + 10 hex of sha256(containerID/ifname); 13 bytes < IFNAMSIZ. */
export function hostVethName(containerId: string, ifName: string): string {
  return 'pnv' + createHash('sha256').update(`${containerId}/${ifName}`).digest('hex').slice(0, 10)
}

export const HOST_VETH_PREFIX = 'pnv'

/** The comment that tags an attachment's masquerade rules. */
export function masqTag(network: string, containerId: string, ifName: string): string {
  return `pontoon:${network}:${containerId}:${ifName}`
}
