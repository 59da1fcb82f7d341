// Is our table still wired in? Asked of the kernel directly: one rule dump over
// nfnetlink, filtered by the kernel to our entry chain, so it costs the same at
// 10 or 10,000 Services. Through libnftables even `list chain` first fills a
// cache of every set element: 6.4 s per call at 100,000 elements on this kernel
// (2.8 s with terse output), which is why the canary used to be rate-limited.
import { inNetns } from '../../netns/index.ts'
import { attr, getStr, parseAttrs, str } from '../../netlink/attrs.ts'
import { NETLINK_NETFILTER, NLM_F_DUMP } from '../../netlink/constants.ts'
import { NetlinkError } from '../../netlink/errors.ts'
import { NlSocket } from '../../netlink/socket.ts'

const NFNL_SUBSYS_NFTABLES = 10
const NFT_MSG_GETRULE = 7
const NFPROTO_INET = 1
const NFTA_RULE_TABLE = 1
const NFTA_RULE_CHAIN = 2
const NFTA_RULE_EXPRESSIONS = 4
const NFTA_LIST_ELEM = 1
const NFTA_EXPR_NAME = 1
const NFTA_EXPR_DATA = 2
const NFTA_IMMEDIATE_DATA = 2
const NFTA_DATA_VERDICT = 2
const NFTA_VERDICT_CODE = 1
const NFTA_VERDICT_CHAIN = 2
const NFT_JUMP = -3
/** struct nfgenmsg: family, version (NFNETLINK_V0), resource id (big-endian, 0) */
const NFGENMSG = 4

export interface CanaryTarget {
  table: string
  /** the chain holding the rule */
  chain: string
  /** the rule jumps to this chain */
  jumpTo: string
}

/** Does any rule in the dumped messages jump to `jumpTo`? Pure: the messages are nfgenmsg + attributes. */
export function holdsJump(messages: Buffer[], jumpTo: string): boolean {
  for (const m of messages) {
    const exprs = parseAttrs(m.subarray(NFGENMSG)).get(NFTA_RULE_EXPRESSIONS)
    if (!exprs) continue
    for (const elem of parseAttrs(exprs).all(NFTA_LIST_ELEM)) {
      const e = parseAttrs(elem)
      if (getStr(e.get(NFTA_EXPR_NAME)) !== 'immediate') continue
      const data = e.get(NFTA_EXPR_DATA)
      const value = data && parseAttrs(data).get(NFTA_IMMEDIATE_DATA)
      const verdict = value && parseAttrs(value).get(NFTA_DATA_VERDICT)
      if (!verdict) continue
      const v = parseAttrs(verdict)
      const code = v.get(NFTA_VERDICT_CODE)
      if (code && code.length >= 4 && code.readInt32BE(0) === NFT_JUMP && getStr(v.get(NFTA_VERDICT_CHAIN)) === jumpTo) return true
    }
  }
  return false
}

export class NftCanary {
  private constructor(private readonly sock: NlSocket, private readonly target: CanaryTarget) {}

  /** A socket bound to the namespace at `netns` (a /run/netns path), or the current one. */
  static open(target: CanaryTarget, netns?: string): NftCanary {
    return new NftCanary(inNetns(netns, () => new NlSocket({ protocol: NETLINK_NETFILTER })), target)
  }

  /** true while the chain holds its jump; false when the rule, the chain or the table is gone */
  async present(): Promise<boolean> {
    const header = Buffer.from([NFPROTO_INET, 0, 0, 0])
    let msgs: Buffer[]
    try {
      msgs = await this.sock.request('nft canary', (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETRULE, NLM_F_DUMP,
        [header, attr(NFTA_RULE_TABLE, str(this.target.table)), attr(NFTA_RULE_CHAIN, str(this.target.chain))])
    } catch (e) {
      // kernels that look the filter's table or chain up answer a missing one with ENOENT
      if (e instanceof NetlinkError && e.code === 'ENOENT') return false
      throw e
    }
    return holdsJump(msgs, this.target.jumpTo)
  }

  close(): void { this.sock.close() }
}
