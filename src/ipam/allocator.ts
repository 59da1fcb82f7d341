// Allocation with host-local's semantics over any Store. The caller holds the
// store's lock. Round-robin: the walk starts just after the range set's last
// reserved address, runs through the ranges in order, wraps around, and ends
// on that last address itself; gateways (and IPv4 network/broadcast) are skipped.
import { CniError, ErrCode } from '../cni/errors.ts'
import { type Addr, formatIp, formatCidr } from '../net/address.ts'
import { type Range, type RangeSet, isReservedInRange, rangeContains, rangeFor, rangeString } from './range.ts'
import { type Store, getById } from './store.ts'

export interface Allocation {
  rangeSet: number
  addr: Addr
  range: Range
}

/** Every address the walk would try, in order. Lazy: an IPv6 /64 is never enumerated. */
export function* candidates(set: RangeSet, last: Addr | undefined): Generator<{ addr: Addr; range: Range }> {
  let total = 0n
  for (const r of set) total += r.rangeEnd.n - r.rangeStart.n + 1n
  const family = set[0]!.subnet.addr.family
  const from = last === undefined ? -1 : set.findIndex((r) => rangeContains(r, last))
  // Position the cursor on the address before the first candidate.
  let i = from >= 0 ? from : set.length - 1
  let cur = from >= 0 ? last!.n : set[i]!.rangeEnd.n
  for (let step = 0n; step < total; step++) {
    if (cur === set[i]!.rangeEnd.n) {
      i = (i + 1) % set.length
      cur = set[i]!.rangeStart.n
    } else {
      cur++
    }
    const range = set[i]!
    const addr: Addr = { family, n: cur }
    if (!isReservedInRange(range, addr)) yield { addr, range }
  }
}

/** Short form for messages: "10.244.0.0/30 (10.244.0.1-10.244.0.2)". */
export function describeSet(set: RangeSet): string {
  return set.map((r) => `${formatCidr(r.subnet)} (${rangeString(r)})`).join(', ')
}

function holderOf(store: Store, addr: Addr): string {
  const r = store.list().find((x) => x.addr.n === addr.n && x.addr.family === addr.family)
  return r ? ` (held by container ${r.containerId}${r.ifname ? ` ifname ${r.ifname}` : ''})` : ''
}

/**
 * Reserve one address from range set `index` for (id, ifname): `requested` if
 * given (config.ts has already checked it lies in this set), else the next free one.
 */
export function allocate(store: Store, set: RangeSet, index: number, id: string, ifname: string, requested?: Addr): Allocation {
  if (requested) {
    const range = rangeFor(set, requested)
    if (!range) throw new CniError(ErrCode.InvalidConfig, `requested IP ${formatIp(requested)} is not in range set ${describeSet(set)}`)
    if (!store.reserve(id, ifname, requested, index)) {
      throw new CniError(ErrCode.AddressInUse, `requested IP ${formatIp(requested)} is already in use in range set ${describeSet(set)}${holderOf(store, requested)}`)
    }
    return { rangeSet: index, addr: requested, range }
  }
  // The spec forbids a second ADD for the same attachment without a DEL in between.
  for (const held of getById(store, id, ifname)) {
    if (rangeFor(set, held)) {
      throw new CniError(ErrCode.AddressInUse, `${formatIp(held)} is already allocated to container ${id.trim()} ifname ${ifname} in range set ${describeSet(set)}; duplicate allocation is not allowed`)
    }
  }
  for (const c of candidates(set, store.lastReserved(index))) {
    if (store.reserve(id, ifname, c.addr, index)) return { rangeSet: index, addr: c.addr, range: c.range }
  }
  throw new CniError(ErrCode.PoolExhausted, `no IP addresses available in range set ${describeSet(set)}`)
}

/** True when range set `set` has no free address left (under the caller's lock). */
export function isExhausted(store: Store, set: RangeSet): boolean {
  const taken = new Set(store.list().map((r) => `${r.addr.family}/${r.addr.n}`))
  for (const c of candidates(set, undefined)) if (!taken.has(`${c.addr.family}/${c.addr.n}`)) return false
  return true
}
