// Kernel names for an attachment, derived from its identity so that DEL and GC
// can find what a killed ADD left behind without the pod's netns or any state file.
// The name only finds a link; the alias proves whose it is, so a name collision
// (or a link someone else named like ours) is never deleted.
/**
 * 64-bit FNV-1a. Not cryptographic, and need not be: it only spreads attachment
 * identities over names, and it spares the ADD path loading node:crypto.
 */
export function fnv1a64(text: string): string {
  let h = 0xcbf29ce484222325n
  for (const b of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn
  return h.toString(16).padStart(16, '0')
}

export const HOST_VETH_PREFIX = 'pnv'

/**
 * The host end of the pod's veth: "pnv" + 12 hex (48 bits) of a hash of
 * containerID/ifname, 15 bytes, the most IFNAMSIZ allows. At 48 bits two of a
 * node's attachments share a name with odds of about n^2/2^49: 1e-7 at 10,000.
 */
export function hostVethName(containerId: string, ifName: string): string {
  return HOST_VETH_PREFIX + fnv1a64(`${containerId}/${ifName}`).slice(0, 12)
}

// Neither a container ID nor a network name may contain '~' (env.ts, netconf.ts),
// so a '~' marks a hashed part and can never be mistaken for a real one.
const hashed = (text: string): string => '~' + fnv1a64(text)

/** The kernel's IFALIASZ is 256 with the NUL. */
export const ALIAS_MAX = 255
export const ALIAS_PREFIX = 'pontoon:'

/**
 * The owner written into both veth ends' IFLA_IFALIAS: "pontoon:<containerID>/<ifname>".
 * Neither part may hold '/', so the text is unambiguous; a container ID too long to
 * fit is replaced by its hash.
 */
export function vethAlias(containerId: string, ifName: string): string {
  const full = `${ALIAS_PREFIX}${containerId}/${ifName}`
  return Buffer.byteLength(full) <= ALIAS_MAX ? full : `${ALIAS_PREFIX}${hashed(containerId)}/${ifName}`
}

/** nft refuses a comment longer than 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN). */
export const MASQ_TAG_MAX = 128
const NET_PART_MAX = 48

/** The network's part of every masquerade tag: GC selects a network's rules by this prefix. */
export function masqNetworkPrefix(network: string): string {
  const net = Buffer.byteLength(network) <= NET_PART_MAX ? network : hashed(network)
  return `pontoon:${net}:`
}

/**
 * The comment that tags an attachment's masquerade rules:
 * "pontoon:<network>:<containerID>:<ifname>", with a long network name, or an
 * attachment that would not fit, replaced by its hash. Always <= 128 bytes.
 */
export function masqTag(network: string, containerId: string, ifName: string): string {
  const prefix = masqNetworkPrefix(network)
  const full = `${prefix}${containerId}:${ifName}`
  return Buffer.byteLength(full) <= MASQ_TAG_MAX ? full : prefix + hashed(`${containerId}/${ifName}`)
}
