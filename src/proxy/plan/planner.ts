// The pure step snapshot -> intents, full and incremental. `full` plans every
// Service; `update` re-plans only the Services the changes touch, reading their
// slices from the snapshot's per-Service index, and diffs their new intents
// against the old ones by key, so one endpoint change at 10,000 Services costs
// one Service's work, never a walk or a sort of the cluster.
//
// Immutability: a plan handed out never changes. Its intents map is an
// IntentMap (persistent, bucketed copy-on-write), so the next update shares
// every untouched bucket with it and copies only the buckets it changes; each
// intent is frozen, and an unchanged intent is the very same object in both
// plans. The planner's own indexes (Service -> its intent keys, the
// zone-sensitive Services) are private and updated only after a plan is built.
import { deepEqual } from '../../cluster/equal.ts'
import { serviceKeyOf } from '../../cluster/model.ts'
import type { ChangeSet, ClusterSnapshot } from '../../cluster/snapshot.ts'
import { plannerConfig, type PlannerConfigInput } from './config.ts'
import type { PlanDelta, PortIntent, ProxyGlobals, ProxyPlan } from './intent.ts'
import { IntentMap } from './intent-map.ts'
import { planService } from './intents.ts'

export interface PlanUpdate {
  plan: ProxyPlan
  delta: PlanDelta
}

export class ProxyPlanner {
  readonly globals: ProxyGlobals
  #plan: ProxyPlan | undefined
  /** #plan's intents, as the persistent map the next update derives from */
  #intents = IntentMap.empty
  /** Service key -> the keys of its intents in #plan */
  #keysByService = new Map<string, readonly string[]>()
  /** Services whose endpoints carry zone hints: the ones a change of this node's zone re-plans */
  #zoneSensitive = new Set<string>()
  /** the node's zone #plan was built with */
  #zone: string | null = null

  /** `config` is checked by plannerConfig: a PlanConfigError names the first bad field. */
  constructor(config: PlannerConfigInput) {
    this.globals = Object.freeze(plannerConfig(config))
  }

  /** The last plan built, if any. */
  get plan(): ProxyPlan | undefined {
    return this.#plan
  }

  /** Plan every Service of the snapshot (a full sync). */
  full(snapshot: ClusterSnapshot): ProxyPlan {
    const zone = this.#zoneIn(snapshot)
    const keysByService = new Map<string, readonly string[]>()
    const zoneSensitive = new Set<string>()
    const all: PortIntent[] = []
    for (const [key, svc] of snapshot.services) {
      const sp = planService(svc, snapshot.endpointSlicesByService.get(key) ?? [], this.globals, { nodeName: this.globals.nodeName, zone })
      if (sp.intents.length > 0) keysByService.set(key, sp.intents.map((i) => i.key))
      if (sp.zoneSensitive) zoneSensitive.add(key)
      all.push(...sp.intents)
    }
    const intents = IntentMap.of(all)
    const plan: ProxyPlan = Object.freeze({ globals: this.globals, intents })
    this.#plan = plan
    this.#intents = intents
    this.#keysByService = keysByService
    this.#zoneSensitive = zoneSensitive
    this.#zone = zone
    return plan
  }

  /**
   * Re-plan the Services `changes` touch (a Service changed, or one of its slices,
   * by the slice's previous and current owner; a change of this node's zone
   * re-plans the zone-sensitive Services). `snapshot` is the state after the changes.
   * Without an earlier plan this is a full plan whose delta upserts everything.
   */
  update(snapshot: ClusterSnapshot, changes: ChangeSet): PlanUpdate {
    const before = this.#plan
    if (!before) {
      const plan = this.full(snapshot)
      return { plan, delta: { upserted: [...plan.intents.values()], removed: [], previous: new Map() } }
    }
    const zone = this.#zoneIn(snapshot)
    const touched = new Set<string>()
    for (const c of changes.services) touched.add(c.key)
    for (const c of changes.endpointSlices) {
      if (c.previous) touched.add(serviceKeyOf(c.previous))
      if (c.current) touched.add(serviceKeyOf(c.current))
    }
    if (zone !== this.#zone) for (const key of this.#zoneSensitive) touched.add(key)

    const upserted: PortIntent[] = []
    const removed: PortIntent[] = []
    const previous = new Map<string, PortIntent>()
    const newKeys = new Map<string, readonly string[]>()
    const sensitivity = new Map<string, boolean>()
    for (const key of touched) {
      const svc = snapshot.services.get(key)
      const sp = svc
        ? planService(svc, snapshot.endpointSlicesByService.get(key) ?? [], this.globals, { nodeName: this.globals.nodeName, zone })
        : { intents: [], zoneSensitive: false }
      sensitivity.set(key, sp.zoneSensitive)
      const now = new Set<string>()
      for (const intent of sp.intents) {
        now.add(intent.key)
        const old = before.intents.get(intent.key)
        if (old && deepEqual(old, intent)) continue
        upserted.push(intent)
        if (old) previous.set(intent.key, old)
      }
      for (const k of this.#keysByService.get(key) ?? []) {
        if (!now.has(k)) removed.push(before.intents.get(k)!)
      }
      newKeys.set(key, [...now])
    }

    const intents = this.#intents.with(upserted, removed.map((i) => i.key))
    const plan: ProxyPlan = Object.freeze({ globals: this.globals, intents })
    // Commit the indexes only now: nothing above can leave them half-updated.
    for (const [key, keys] of newKeys) {
      if (keys.length > 0) this.#keysByService.set(key, keys)
      else this.#keysByService.delete(key)
      if (sensitivity.get(key)) this.#zoneSensitive.add(key)
      else this.#zoneSensitive.delete(key)
    }
    this.#zone = zone
    this.#plan = plan
    this.#intents = intents
    return { plan, delta: { upserted, removed, previous } }
  }

  #zoneIn(snapshot: ClusterSnapshot): string | null {
    return snapshot.nodes.get(this.globals.nodeName)?.zone ?? null
  }
}
