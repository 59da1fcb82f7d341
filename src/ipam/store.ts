// Where reservations live. The allocator only talks to this interface, so the
// same allocation logic runs over the disk store (shared with host-local) and
// over the memory store in table tests. Calls are synchronous: the disk store
// works under an flock, and a CNI command is one short-lived process.
import type { Addr } from '../net/address.ts'

export interface Reservation {
  addr: Addr
  containerId: string
  /** '' for records written before host-local stored the interface name */
  ifname: string
}

export interface Store {
  /** exclusive lock across processes; blocks until it is held */
  lock(): void
  unlock(): void
  close(): void
  /** throws when the store could not take a reservation now (e.g. its directory is not writable) */
  probe(): void
  /** claim `addr` for (id, ifname); false when it is already taken. Records it as the range set's last reserved address. */
  reserve(id: string, ifname: string, addr: Addr, rangeSet: number): boolean
  lastReserved(rangeSet: number): Addr | undefined
  /** release one address whatever holds it; false when nothing did */
  release(addr: Addr): boolean
  list(): Reservation[]
}

/** The record host-local writes: "<id>\r\n<ifname>", the id trimmed. */
export function formatRecord(id: string, ifname: string): string {
  return `${id.trim()}\r\n${ifname}`
}

/** Read a record back the way host-local compares it: trimmed, old records being just "<id>". */
export function parseRecord(content: string): { containerId: string; ifname: string } {
  const t = content.trim()
  const nl = t.indexOf('\r\n')
  return nl < 0 ? { containerId: t, ifname: '' } : { containerId: t.slice(0, nl), ifname: t.slice(nl + 2) }
}

/** The addresses held by (id, ifname); old records without an ifname count for any ifname of that id. */
export function getById(store: Store, id: string, ifname: string): Addr[] {
  const want = id.trim()
  return store.list().filter((r) => r.containerId === want && (r.ifname === ifname || r.ifname === '')).map((r) => r.addr)
}

/**
 * Release what (id, ifname) holds. Like host-local, old id-only records are
 * released only when no exact record was found. Returns the released addresses.
 */
export function releaseById(store: Store, id: string, ifname: string): Addr[] {
  const want = id.trim()
  const all = store.list().filter((r) => r.containerId === want)
  let hit = all.filter((r) => r.ifname === ifname)
  if (hit.length === 0) hit = all.filter((r) => r.ifname === '')
  return hit.filter((r) => store.release(r.addr)).map((r) => r.addr)
}

/** Run `fn` with the store locked. */
export function withLock<T>(store: Store, fn: () => T): T {
  store.lock()
  try {
    return fn()
  } finally {
    store.unlock()
  }
}
