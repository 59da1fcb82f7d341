// Affinity entries that point at an endpoint the frontend no longer offers.
// The kernel fills the sticky maps itself (one entry per client and frontend)
// and nft cannot delete by value, so after a change the applier lists them and
// names the stale ones here. Pure.
import type { RenderedElements } from './render.ts'

/** sticky map -> frontend key -> the endpoints ("ip . port") it may still stick to */
export type StickyTargets = Map<string, Map<string, Set<string>>>

export function stickyTargets(renders: Iterable<RenderedElements>): StickyTargets {
  const out: StickyTargets = new Map()
  for (const r of renders) {
    for (const a of r.elements) {
      if (!a.set.startsWith('affinity-') || !a.value) continue
      const map = a.value.replace(/^jump sticky-update-/, 'sticky-')
      const front = a.set.startsWith('affinity-nodeports-') ? /^(alt-)?nodeport-backends-/ : /^(alt-)?backends-/
      let byFront = out.get(map)
      if (!byFront) out.set(map, byFront = new Map())
      let values = byFront.get(a.key)
      if (!values) byFront.set(a.key, values = new Set())
      for (const b of r.elements) if (front.test(b.set) && b.key.startsWith(`${a.key} . `) && b.value) values.add(b.value)
    }
  }
  return out
}

function term(v: unknown): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v)
  const o = v as { concat?: unknown[]; elem?: { val: unknown } }
  if (o.concat) return o.concat.map(term).join(' . ')
  if (o.elem) return term(o.elem.val)
  throw new Error(`unexpected nft json term ${JSON.stringify(v)}`)
}

/**
 * The keys (nft text) of the entries of one sticky map, from its `nft -j list map`
 * output, whose endpoint is not among its frontend's endpoints any more. The key
 * is `client . frontend-address . proto . port`; a NodePort frontend is `proto . port`.
 */
export function staleStickyKeys(listing: unknown, map: string, targets: StickyTargets): string[] {
  const byFront = targets.get(map) ?? new Map<string, Set<string>>()
  const stale: string[] = []
  for (const item of (listing as { nftables?: { map?: { name: string; elem?: unknown[] } }[] }).nftables ?? []) {
    if (item.map?.name !== map) continue
    for (const e of item.map.elem ?? []) {
      if (!Array.isArray(e)) continue
      const key = term(e[0])
      const value = term(e[1])
      const parts = key.split(' . ')
      const ip = parts.slice(1).join(' . ')
      const np = parts.slice(2).join(' . ')
      const ok = byFront.get(ip)?.has(value) || byFront.get(np)?.has(value)
      if (!ok) stale.push(key)
    }
  }
  return stale
}
