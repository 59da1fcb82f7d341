// The overlay as a sync consumer ("overlay"). A full sync (the first, after a
// failure, when the device or underlay changes, when the drift watch saw the
// kernel differ from what was applied, and every --sync-period) reads the kernel
// back and repairs whatever drifted: entries (or the device) deleted by hand come
// back within the watch's 2 s. Between full syncs a Node change is diffed
// against what the last sync wrote, without reading the kernel: one remote node
// costs its three entries, whatever the cluster's size.
import type { Logger } from 'pino'
import type { Clock } from '../agent/clock.ts'
import type { DriftWatch, SyncConsumer, SyncContext } from '../agent/consumer.ts'
import { deepEqual } from '../cluster/equal.ts'
import type { ChangeSet, ClusterSnapshot } from '../cluster/snapshot.ts'
import type { Rtnl } from '../netlink/index.ts'
import { changedEntries, diffEntries, entriesOf, opCount } from './diff.ts'
import { ANNOTATION_BACKEND, ANNOTATION_PUBLIC_IP, ANNOTATION_VTEP_MAC, planOverlay, type DevicePlan, type OverlayMode, type OverlayPlan, type RemotePlan } from './plan.ts'
import { OVERLAY_DEVICE, type OverlayReconciler } from './reconciler.ts'
import { selectUnderlay, type Underlay, type UnderlayFlags } from './underlay.ts'
import { annotationsToPublish, chooseVtepMac } from './vtep-mac.ts'

export interface OverlayConsumerOptions {
  mode: OverlayMode
  nodeName: string
  underlay: UnderlayFlags
  /** pod CIDRs of the whole cluster: egress from them to elsewhere is masqueraded */
  clusterCIDRs: readonly string[]
  rtnl: Rtnl
  reconciler: OverlayReconciler
  egress: { apply(clusterCIDRs: readonly string[]): void }
  /** merge-patch this node's annotations (null removes one) */
  publish(annotations: Record<string, string | null>): Promise<void>
  syncPeriodMs: number
  clock: Clock
  log: Logger
  /** after each sync: what it did (tests and the bench read this) */
  onSynced?: (r: { full: boolean; ops: number; remotes: number }) => void
}

interface Applied {
  plan: OverlayPlan
  remotes: ReadonlyMap<string, RemotePlan>
  device: DevicePlan | null
  underlay: Underlay
  overlayIndex: number | null
}

/**
 * How often the kernel's entries are compared with what was applied: a few
 * netlink dumps (neighbours and FDB of one device, the routes), sized by the
 * number of nodes, not of pods or Services.
 */
export const OVERLAY_DRIFT_CHECK_MS = 2000

export function overlayConsumer(o: OverlayConsumerOptions): SyncConsumer {
  let applied: Applied | null = null
  /** the drift watch found the kernel changed behind our back: the next sync is full */
  let driftSeen = false
  let lastFull = Number.NEGATIVE_INFINITY
  let vtepMac: string | undefined
  let egressDone = false
  const said = new Set<string>()
  const once = (level: 'info' | 'warn', msg: string, extra: Record<string, unknown> = {}) => {
    const key = `${msg} ${JSON.stringify(extra)}`
    if (said.has(key)) return
    if (said.size > 10_000) said.clear() // bounded: a churning cluster must not grow this forever
    said.add(key)
    o.log[level]({ node: o.nodeName, ...extra }, msg)
  }

  const drift: DriftWatch = {
    everyMs: OVERLAY_DRIFT_CHECK_MS,
    async check() {
      const a = applied
      if (driftSeen || a === null) return driftSeen // a full sync is due anyway
      let observed
      try {
        observed = await o.reconciler.observe({ overlay: a.overlayIndex, underlay: a.underlay.index })
      } catch (e) {
        driftSeen = true // the device itself may be gone: the full sync makes it again
        throw e
      }
      const ops = diffEntries(entriesOf(a.plan), observed)
      const n = opCount(ops)
      if (n === 0) return false
      o.log.warn({ node: o.nodeName, ops: n }, 'overlay entries changed by someone else: full resync')
      return (driftSeen = true)
    },
  }

  return {
    name: 'overlay',
    drift,
    async sync(snapshot: ClusterSnapshot, _changes: ChangeSet, ctx: SyncContext) {
      const now = o.clock.now()
      const self = snapshot.nodes.get(o.nodeName)
      if (!self) { once('info', 'overlay waits: this node is not in the API yet'); return }
      try {
        let full = ctx.fullResync || applied === null || driftSeen || now - lastFull >= o.syncPeriodMs
        driftSeen = false
        const underlay = full || !applied
          ? selectUnderlay(o.underlay, await o.rtnl.links(), await o.rtnl.addrs(), self.internalIPs, [OVERLAY_DEVICE])
          : applied.underlay
        if (o.mode === 'vxlan' && vtepMac === undefined) vtepMac = chooseVtepMac(self, await o.reconciler.device())
        const result = planOverlay({ mode: o.mode, nodeName: o.nodeName, nodes: snapshot.nodes.values(), underlay, ...(vtepMac ? { vtepMac } : {}) })
        if (result.kind === 'waiting') { once('info', `overlay waits: ${result.reason}`); return }
        const plan = result.plan
        for (const s of plan.skipped) once('info', 'overlay leaves a node out', { remote: s.node, reason: s.reason })
        if (applied && (!deepEqual(applied.device, plan.device) || !deepEqual(applied.underlay, underlay))) full = true
        let overlayIndex: number | null
        let ops
        if (full) {
          overlayIndex = plan.device ? await o.reconciler.ensureDevice(plan.device, underlay.index) : null
          if (!plan.device && await o.reconciler.removeDevice()) o.log.info({ device: OVERLAY_DEVICE }, 'overlay device removed (host-gw mode)')
          ops = diffEntries(entriesOf(plan), await o.reconciler.observe({ overlay: overlayIndex, underlay: underlay.index }))
          o.egress.apply(o.clusterCIDRs)
          if (!egressDone) {
            egressDone = true
            if (o.clusterCIDRs.length === 0) o.log.warn({}, 'no --cluster-cidr: pod egress is not masqueraded')
            else o.log.info({ clusterCIDRs: o.clusterCIDRs }, 'pod egress masquerade in place')
          }
        } else {
          overlayIndex = applied!.overlayIndex
          const changed = changedEntries(plan.remotes, applied!.remotes)
          ops = diffEntries(changed.want, changed.have)
        }
        // Until the apply succeeds nothing is known of the kernel: the next sync is full.
        applied = null
        await o.reconciler.apply(ops, { overlay: overlayIndex, underlay: underlay.index })
        applied = { plan, remotes: plan.remotes, device: plan.device, underlay, overlayIndex }
        if (full) lastFull = now
        const n = opCount(ops)
        if (n > 0 || full) o.log.debug({ full, ops: n, remotes: plan.remotes.size, ms: Math.round((o.clock.now() - now) * 10) / 10 }, 'overlay synced')
        // Published only once the device is there: remote nodes act on these at once.
        const patch = annotationsToPublish(self, {
          [ANNOTATION_BACKEND]: o.mode,
          [ANNOTATION_PUBLIC_IP]: underlay.publicIP,
          [ANNOTATION_VTEP_MAC]: plan.device ? plan.device.mac : null,
        })
        if (patch) {
          await o.publish(patch)
          o.log.info({ annotations: patch }, 'overlay annotations published on this node')
        }
        o.onSynced?.({ full, ops: n, remotes: plan.remotes.size })
      } catch (err) {
        applied = null
        throw err
      }
    },
  }
}
