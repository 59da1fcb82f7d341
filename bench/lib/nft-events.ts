// The kernel's own word that an nf_tables element landed: a netlink socket in
// the node's namespace subscribed to NFNLGRP_NFTABLES, the multicast group the
// kernel tells of every committed change (what `nft monitor` listens to, minus
// the nft CLI, which first reads the whole ruleset into its cache: minutes at
// 175,000 lines). Each NEWSETELEM and NEWRULE event (iptables-nft writes rules)
// is searched for the bytes being waited for.
import { createRequire } from 'node:module'
import type { RawNetlinkSocket } from 'netlink/dist/raw.js'
import { inNetns } from '../../src/netns/index.ts'
import { NETLINK_NETFILTER } from '../../src/netlink/constants.ts'
import { nftType, NFT_MSG_NEWSETELEM } from '../../src/netlink/codec-nft.ts'

const NFT_MSG_NEWRULE = 6

const NFNLGRP_NFTABLES = 7

export interface NftEvents {
  /** resolve with the arrival time (performance.now()) of the first NEWSETELEM or NEWRULE holding these bytes */
  waitFor(bytes: Buffer): Promise<number>
  /** events the socket could not keep up with (ENOBUFS): a wait may then miss its event */
  overruns: number
  close(): void
}

export function nftEvents(nsPath: string): NftEvents {
  const Raw = (createRequire(import.meta.url)('netlink/dist/raw') as { RawNetlinkSocket: typeof RawNetlinkSocket }).RawNetlinkSocket
  const sock = inNetns(nsPath, () => new Raw(NETLINK_NETFILTER, { recvBufferSize: 8 << 20 } as never))
  sock.addMembership(NFNLGRP_NFTABLES)
  const waiting = new Map<Buffer, (at: number) => void>()
  const ev: NftEvents = {
    overruns: 0,
    waitFor: (bytes) => new Promise((resolve) => { waiting.set(bytes, resolve) }),
    close: () => sock.close(),
  }
  const types = new Set([nftType(NFT_MSG_NEWSETELEM), nftType(NFT_MSG_NEWRULE)])
  sock.on('message', (buf: Buffer) => {
    const at = performance.now()
    for (let off = 0; off + 16 <= buf.length;) {
      const len = buf.readUInt32LE(off)
      if (len < 16 || off + len > buf.length) break
      if (types.has(buf.readUInt16LE(off + 4))) {
        const msg = buf.subarray(off + 16, off + len)
        for (const [want, done] of waiting) if (msg.includes(want)) { waiting.delete(want); done(at) }
      }
      off += (len + 3) & ~3
    }
  })
  sock.on('error', () => { ev.overruns++ })
  return ev
}
