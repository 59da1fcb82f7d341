// The overlay consumer as `pontoon agent` builds it from its flags: one netlink
// socket and one nftables context in the agent's own namespace, which must not
// be the one PONTOON_FORBID_NETNS names (see proxy/host-netns-guard.ts).
import type { Logger } from 'pino'
import type { Clock } from '../agent/clock.ts'
import type { SyncConsumer } from '../agent/consumer.ts'
import type { MergePatcher } from '../cluster/transport.ts'
import { Rtnl } from '../netlink/index.ts'
import { assertNotHostNetns } from '../proxy/host-netns-guard.ts'
import { overlayConsumer } from './consumer.ts'
import { EgressTable } from './egress.ts'
import type { OverlayMode } from './plan.ts'
import { OverlayReconciler } from './reconciler.ts'
import type { UnderlayFlags } from './underlay.ts'

export interface OverlayFlags {
  mode: OverlayMode
  nodeName: string
  underlay: UnderlayFlags
  clusterCIDRs: string[]
  syncPeriodMs: number
  /** VXLAN tx checksum offload left on (see offload.ts); off unless asked */
  txChecksumOffload?: boolean
}

export interface StartedOverlay {
  consumer: SyncConsumer
  close(): void
}

export async function startOverlay(flags: OverlayFlags, deps: { api: MergePatcher; clock: Clock; log: Logger; onSynced?: (r: { full: boolean; ops: number; remotes: number }) => void }): Promise<StartedOverlay> {
  assertNotHostNetns('the overlay')
  const rtnl = await Rtnl.open()
  const egress = new EgressTable()
  const path = `/api/v1/nodes/${encodeURIComponent(flags.nodeName)}`
  const consumer = overlayConsumer({
    mode: flags.mode,
    nodeName: flags.nodeName,
    underlay: flags.underlay,
    clusterCIDRs: flags.clusterCIDRs,
    rtnl,
    reconciler: new OverlayReconciler(rtnl, deps.log, undefined, flags.txChecksumOffload === true),
    egress,
    publish: (annotations) => deps.api.mergePatch(path, { metadata: { annotations } }),
    syncPeriodMs: flags.syncPeriodMs,
    clock: deps.clock,
    log: deps.log,
    ...(deps.onSynced ? { onSynced: deps.onSynced } : {}),
  })
  return {
    consumer,
    close() {
      egress.close()
      rtnl.close()
    },
  }
}
