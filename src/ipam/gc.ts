// GC: which reservations no attachment the runtime still knows about holds.
// Old id-only records survive when any attachment of that container is valid.
import type { CniAttachment } from '../cni/types.ts'
import type { Reservation } from './store.ts'

export function planGc(reservations: Reservation[], valid: CniAttachment[]): Reservation[] {
  const keep = new Set(valid.map((a) => `${a.containerID.trim()}\n${a.ifname}`))
  const keepIds = new Set(valid.map((a) => a.containerID.trim()))
  return reservations.filter((r) => (r.ifname === '' ? !keepIds.has(r.containerId) : !keep.has(`${r.containerId}\n${r.ifname}`)))
}
