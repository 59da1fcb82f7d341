// Pure: what to change to turn the observed entries into the planned ones. Only
// differences are written. Removals come first and in reverse of flannel's order
// (route, FDB, neighbour), then additions in flannel's order (neighbour, FDB,
// route), so a remote node's route never points at a missing neighbour.
import type { FdbEntry, NeighEntry, OverlayPlan, RouteEntry } from './plan.ts'

/** Entries as the kernel holds them, or as the last sync wrote them. */
export interface EntrySet {
  neighs: readonly NeighEntry[]
  fdb: readonly FdbEntry[]
  routes: readonly RouteEntry[]
}

export interface ObservedNeigh extends NeighEntry { permanent: boolean }

/** What the reconciler read back: neighbours that are not permanent are the kernel's own (or stale). */
export interface Observed {
  neighs: readonly ObservedNeigh[]
  fdb: readonly FdbEntry[]
  routes: readonly RouteEntry[]
}

export interface OverlayOps {
  delRoutes: RouteEntry[]
  delFdb: FdbEntry[]
  delNeighs: NeighEntry[]
  setNeighs: NeighEntry[]
  setFdb: FdbEntry[]
  setRoutes: RouteEntry[]
}

export function entriesOf(plan: OverlayPlan): EntrySet {
  const out = { neighs: [] as NeighEntry[], fdb: [] as FdbEntry[], routes: [] as RouteEntry[] }
  for (const r of plan.remotes.values()) {
    out.neighs.push(...r.neighs)
    out.fdb.push(...r.fdb)
    out.routes.push(...r.routes)
  }
  return out
}

export function opCount(ops: OverlayOps): number {
  return ops.delRoutes.length + ops.delFdb.length + ops.delNeighs.length + ops.setNeighs.length + ops.setFdb.length + ops.setRoutes.length
}

const sameRoute = (a: RouteEntry, b: RouteEntry) => a.gw === b.gw && a.dev === b.dev && a.onlink === b.onlink

export function diffEntries(want: EntrySet, have: Observed | EntrySet): OverlayOps {
  const ops: OverlayOps = { delRoutes: [], delFdb: [], delNeighs: [], setNeighs: [], setFdb: [], setRoutes: [] }

  const wantNeigh = new Map(want.neighs.map((n) => [n.ip, n]))
  const haveNeigh = new Map<string, NeighEntry & { permanent?: boolean }>(have.neighs.map((n) => [n.ip, n]))
  for (const [ip, n] of haveNeigh) {
    // Entries the kernel made itself (ARP attempts) age out; only static ones are ours to remove.
    if (!wantNeigh.has(ip) && n.permanent !== false) ops.delNeighs.push({ ip, mac: n.mac })
  }
  for (const [ip, n] of wantNeigh) {
    const h = haveNeigh.get(ip)
    if (!h || h.mac !== n.mac || h.permanent === false) ops.setNeighs.push(n)
  }

  // One destination per MAC is ours; any other destination of that MAC goes.
  const wantFdb = new Map(want.fdb.map((f) => [f.mac, f]))
  for (const f of have.fdb) {
    if (wantFdb.get(f.mac)?.dst !== f.dst) ops.delFdb.push(f)
  }
  const haveFdb = new Set(have.fdb.map((f) => `${f.mac} ${f.dst}`))
  for (const f of want.fdb) if (!haveFdb.has(`${f.mac} ${f.dst}`)) ops.setFdb.push(f)

  const wantRoute = new Map(want.routes.map((r) => [r.dst, r]))
  const haveRoute = new Map<string, RouteEntry[]>()
  for (const r of have.routes) {
    const list = haveRoute.get(r.dst)
    if (list) list.push(r)
    else haveRoute.set(r.dst, [r])
  }
  for (const [dst, list] of haveRoute) {
    const w = wantRoute.get(dst)
    for (const r of list) if (!w || !sameRoute(w, r)) ops.delRoutes.push(r)
  }
  for (const [dst, r] of wantRoute) {
    if (!(haveRoute.get(dst) ?? []).some((h) => sameRoute(h, r))) ops.setRoutes.push(r)
  }
  // A changed route is replaced in place: deleting it first would open a gap.
  const replaced = new Set(ops.setRoutes.map((r) => r.dst))
  ops.delRoutes = ops.delRoutes.filter((r) => !replaced.has(r.dst) || (haveRoute.get(r.dst)?.length ?? 0) > 1)
  return ops
}
