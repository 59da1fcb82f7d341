// Kernel names for an attachment, derived from its identity so that DEL and GC
// can find what a killed ADD left behind without the pod's netns or any state file.
/**
 * 64-bit FNV-1a. Not cryptographic, and need not be: it only spreads attachment
 * identities over names, and it spares the ADD path loading node:crypto.
 */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n
  for (const b of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn
  return h.toString(16).padStart(16, '0')
}

/** The host end of the pod's veth: "pnv" + 10 hex of a hash of containerID/ifname; 13 bytes < IFNAMSIZ. */
export function hostVethName(containerId: string, ifName: string): string {
  return 'pnv' + fnv1a64(`${containerId}/${ifName}`).slice(0, 10)
}

export const HOST_VETH_PREFIX = 'pnv'

/** The comment that tags an attachment's masquerade rules. */
export function masqTag(network: string, containerId: string, ifName: string): string {
  return `pontoon:${network}:${containerId}:${ifName}`
}
