// What changed between two plans, as a PlanDelta: how a full sync tells its
// follow-ups (stale conntrack flows above all) what it changed. A full sync
// re-plans from scratch, so intents are compared by value, not by identity;
// `keep` narrows the comparison to the intents a caller cares about, which
// keeps it cheap at 10,000 Services.
import { deepEqual } from '../../cluster/equal.ts'
import type { PlanDelta, PortIntent } from './intent.ts'

export function deltaBetween(
  before: ReadonlyMap<string, PortIntent>,
  after: ReadonlyMap<string, PortIntent>,
  keep: (i: PortIntent) => boolean = () => true,
): PlanDelta {
  const upserted: PortIntent[] = []
  const removed: PortIntent[] = []
  const previous = new Map<string, PortIntent>()
  for (const [key, now] of after) {
    const old = before.get(key)
    if (!keep(now) && (old === undefined || !keep(old))) continue
    if (old === undefined) upserted.push(now)
    else if (old !== now && !deepEqual(old, now)) { upserted.push(now); previous.set(key, old) }
  }
  for (const [key, old] of before) if (!after.has(key) && keep(old)) removed.push(old)
  return { upserted, removed, previous }
}
