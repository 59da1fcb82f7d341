// The overlay's kernel side: reads what the node has (the device, its addresses,
// neighbours, FDB entries, our routes), and writes only what the diff says, in
// flannel's order. Routes are ours by their protocol number, so a route someone
// else added to the same table is never touched; the device is ours by name.
import type { Logger } from 'pino'
import { delFdbWrite, delNeighWrite, delRouteWrite, replaceRouteWrite, Rtnl, setFdbWrite, setNeighWrite, type Link, type NlWrite, type Route } from '../netlink/index.ts'
import { contains, parseCidr } from '../net/address.ts'
import { judgeDevice } from './device-compat.ts'
import type { Observed, ObservedNeigh, OverlayOps } from './diff.ts'
import { setTxOffload } from './offload.ts'
import type { DevicePlan, FdbEntry, RouteEntry } from './plan.ts'

export const OVERLAY_DEVICE = 'pontoon.1'
/** rtm_protocol of every route the overlay writes (unassigned in /etc/iproute2/rt_protos) */
export const RTPROT_PONTOON = 0x75
const LINK_LOCAL6 = parseCidr('fe80::/10')

export class OverlayApplyError extends Error {
  readonly code = 'EOVERLAY_APPLY'
  constructor(readonly failures: Error[]) {
    super(`${failures.length} overlay entries could not be written: ${failures.slice(0, 3).map((e) => e.message).join('; ')}${failures.length > 3 ? '; ...' : ''}`, { cause: failures[0] })
  }
}

export interface DeviceIndexes { overlay: number | null; underlay: number }

export class OverlayReconciler {
  private offloadDone = new Set<number>()

  constructor(private readonly rtnl: Rtnl, private readonly log: Logger, private readonly deviceName = OVERLAY_DEVICE, private readonly txOffload = false) {}

  device(): Promise<Link | undefined> {
    return this.rtnl.linkByName(this.deviceName)
  }

  /** Create, adopt (fixing MTU, MAC, up) or recreate the vxlan device, and give it exactly its addresses. */
  async ensureDevice(want: DevicePlan, underlayIndex: number): Promise<number> {
    let have = await this.device()
    const verdict = judgeDevice(have, want, underlayIndex)
    if (verdict.action === 'recreate') {
      this.log.warn({ device: this.deviceName, reasons: verdict.reasons }, 'overlay device is incompatible: recreating it')
      await this.rtnl.deleteLink(have!.index)
      have = undefined
    }
    if (!have) {
      have = await this.rtnl.addVxlan(this.deviceName, { vni: want.vni, port: want.port, local: want.local, dev: underlayIndex, learning: false, mtu: want.mtu, mac: want.mac })
      this.log.info({ device: this.deviceName, index: have.index, mtu: want.mtu, mac: want.mac, local: want.local }, 'overlay device created')
    } else if (verdict.action === 'adopt') {
      if (verdict.setMtu !== undefined) await this.rtnl.setMtu(have.index, verdict.setMtu)
      if (verdict.setMac !== undefined) await this.rtnl.setMac(have.index, verdict.setMac)
    }
    if (!this.offloadDone.has(have.index)) {
      setTxOffload(this.deviceName, this.txOffload, this.rtnl.nsPath, this.log)
      this.offloadDone.add(have.index)
    }
    if (!have.up) await this.rtnl.setUp(have.index)
    const addrs = (await this.rtnl.addrs(have.index)).filter((a) => !(a.family === 6 && contains(LINK_LOCAL6, parseCidr(a.cidr, { hostBits: 'keep' }).addr)))
    for (const a of addrs) if (!want.addresses.includes(a.cidr)) await this.rtnl.delAddr(have.index, a.cidr)
    for (const cidr of want.addresses) if (!addrs.some((a) => a.cidr === cidr)) await this.rtnl.addAddr(have.index, cidr, { noDad: true })
    return have.index
  }

  /** host-gw or a mode change: the device (and with it every entry on it) goes. */
  async removeDevice(): Promise<boolean> {
    return this.rtnl.deleteLink(this.deviceName)
  }

  /**
   * What the kernel has of ours. Our routes on a device that is neither the
   * overlay nor the underlay (the underlay changed) are deleted here: no plan
   * can name them.
   */
  async observe(idx: DeviceIndexes): Promise<Observed> {
    const neighs: ObservedNeigh[] = []
    const fdb: FdbEntry[] = []
    if (idx.overlay !== null) {
      for (const n of await this.rtnl.neighs(idx.overlay)) neighs.push({ ip: n.ip, mac: n.mac ?? '', permanent: n.permanent })
      for (const f of await this.rtnl.fdb(idx.overlay)) if (f.self && f.dst !== undefined) fdb.push({ mac: f.mac, dst: f.dst })
    }
    const routes: RouteEntry[] = []
    const strays: Route[] = []
    for (const family of [4, 6] as const) {
      for (const r of await this.rtnl.routes(family)) {
        if (r.protocol !== RTPROT_PONTOON || !r.gw) continue
        const dev = r.index === idx.overlay && idx.overlay !== null ? 'overlay' : r.index === idx.underlay ? 'underlay' : null
        if (dev) routes.push({ dst: r.dst, gw: r.gw, dev, onlink: r.onlink === true })
        else strays.push(r)
      }
    }
    for (const r of strays) await this.rtnl.delRoute({ dst: r.dst, gw: r.gw, ...(r.index !== undefined ? { index: r.index } : {}), protocol: RTPROT_PONTOON })
    return { neighs, fdb, routes }
  }

  /** Every phase is attempted; the failures are thrown together at the end (the next sync is a full one). */
  async apply(ops: OverlayOps, idx: DeviceIndexes): Promise<void> {
    const failures: Error[] = []
    const overlay = () => {
      if (idx.overlay === null) throw new Error('no overlay device for a neighbour or FDB entry')
      return idx.overlay
    }
    const devIndex = (r: RouteEntry) => (r.dev === 'overlay' ? overlay() : idx.underlay)
    const route = (r: RouteEntry): Route => ({ dst: r.dst, gw: r.gw, index: devIndex(r), protocol: RTPROT_PONTOON, ...(r.onlink ? { onlink: true } : {}) })
    // Each phase is built whole (bad input fails here, before anything is sent),
    // then goes out in batches: one sendmsg per WRITES_PER_BATCH entries.
    const phase = async <T>(items: readonly T[], build: (x: T) => NlWrite) => {
      if (items.length === 0) return
      const writes: NlWrite[] = []
      for (const x of items) {
        try { writes.push(build(x)) } catch (e) { failures.push(e as Error) }
      }
      for (const e of await this.rtnl.writeAll(writes)) if (e) failures.push(e)
    }
    await phase(ops.delRoutes, (r) => delRouteWrite(route(r)))
    await phase(ops.delFdb, (f) => delFdbWrite({ index: overlay(), mac: f.mac, dst: f.dst }))
    await phase(ops.delNeighs, (n) => delNeighWrite({ index: overlay(), ip: n.ip }))
    await phase(ops.setNeighs, (n) => setNeighWrite({ index: overlay(), ip: n.ip, mac: n.mac }))
    await phase(ops.setFdb, (f) => setFdbWrite({ index: overlay(), mac: f.mac, dst: f.dst }))
    await phase(ops.setRoutes, (r) => replaceRouteWrite(route(r)))
    if (failures.length > 0) throw new OverlayApplyError(failures)
  }
}

