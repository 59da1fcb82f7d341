// Pure: which subnets are already routed, and does a new one overlap any of
// them? CIDRs nest or are disjoint, so a new subnet overlaps a claimed one
// exactly when one is inside the other. Both questions are set lookups keyed by
// an address cut to a prefix length, so 1,000 nodes cost 1,000 claims, not a
// million comparisons (the planner runs on every Node change).
import { bits, type Cidr } from '../net/address.ts'

// A planner keeps its Cidr objects across syncs (see plan.ts), so their keys are worked out once.
const cutCache = new WeakMap<Cidr, string[]>()
function cut(c: Cidr, len: number): string {
  let keys = cutCache.get(c)
  // Stryker disable next-line all: equivalent, a cache (a miss only recomputes the same key)
  if (!keys) { keys = []; cutCache.set(c, keys) }
  return keys[len] ??= `${c.addr.family}/${len}/${c.addr.n >> BigInt(bits(c.addr.family) - len)}`
}

export class SubnetClaims {
  /** each claimed subnet, by itself */
  private readonly exact = new Set<string>()
  /** prefix lengths claimed, per family */
  private readonly lengths = { 4: new Set<number>(), 6: new Set<number>() }
  /** for a prefix length L asked about: every claimed subnet of length >= L, cut to L */
  private readonly inside = new Map<string, Set<string>>()
  private readonly claimed: Cidr[] = []

  /** Claims all of them, or none when one overlaps a subnet claimed before (or another of them). */
  claim(cidrs: readonly Cidr[]): boolean {
    for (const [i, c] of cidrs.entries()) {
      if (this.overlaps(c)) return false
      for (const d of cidrs.slice(0, i)) if (nested(c, d)) return false
    }
    for (const c of cidrs) this.add(c)
    return true
  }

  overlaps(c: Cidr): boolean {
    const f = c.addr.family
    // a claimed subnet that holds c (len <= prefix only saves lookups: a longer
    // claimed subnet matching c's cut lies inside c, which the next line finds)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, see above
    for (const len of this.lengths[f]) if (len <= c.prefix && this.exact.has(cut(c, len))) return true
    // a claimed subnet inside c (or c itself)
    return this.insideOf(f, c.prefix).has(cut(c, c.prefix))
  }

  private insideOf(f: 4 | 6, len: number): Set<string> {
    const key = `${f}/${len}`
    let set = this.inside.get(key)
    // The filters only keep the sets small: keys carry the family, and a shorter
    // subnet cut past its own length matches only subnets inside it, which the
    // holder lookup in overlaps() finds anyway. Equivalent mutants, so:
    // Stryker disable all
    if (!set) {
      set = new Set()
      for (const d of this.claimed) if (d.addr.family === f && d.prefix >= len) set.add(cut(d, len))
      this.inside.set(key, set)
    }
    // Stryker restore all
    return set
  }

  private add(c: Cidr): void {
    this.claimed.push(c)
    this.exact.add(cut(c, c.prefix))
    this.lengths[c.addr.family].add(c.prefix)
    for (const [key, set] of this.inside) {
      const [f, len] = key.split('/').map(Number) as [number, number]
      // Stryker disable next-line all: equivalent, as in insideOf()
      if (f === c.addr.family && c.prefix >= len) set.add(cut(c, len))
    }
  }
}

function nested(a: Cidr, b: Cidr): boolean {
  // Stryker disable next-line ConditionalExpression: equivalent, cut keys carry the family
  if (a.addr.family !== b.addr.family) return false
  const len = Math.min(a.prefix, b.prefix)
  return cut(a, len) === cut(b, len)
}
