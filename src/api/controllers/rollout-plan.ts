// The Deployment controller's rollout step, pure: from the Deployment's spec
// and the replica counts of its ReplicaSets, the next change to make. Each
// call returns one step (as kube-controller-manager's rolloutRolling and
// rolloutRecreate do per sync); the controller applies it, the ReplicaSets'
// status moves, and the next call takes the next step, until nothing is left.
import { resolveFenceposts } from './int-or-percent.ts'

export interface RsState {
  name: string
  /** spec.replicas */
  replicas: number
  /** status.replicas: Pods that exist and are not terminating */
  current: number
  ready: number
  available: number
  /** deployment.kubernetes.io/revision */
  revision: number
}

export interface RolloutSpec {
  replicas: number
  strategy: 'RollingUpdate' | 'Recreate'
  maxSurge?: unknown
  maxUnavailable?: unknown
  revisionHistoryLimit: number
  paused: boolean
}

export interface RolloutStep {
  /** the replicas the new ReplicaSet should have (it is created when it does not exist); undefined: leave it */
  newReplicas: number | undefined
  /** old ReplicaSets to scale, by name */
  scale: { name: string; replicas: number }[]
  /** old ReplicaSets beyond revisionHistoryLimit, to delete */
  remove: string[]
}

const NOTHING: RolloutStep = { newReplicas: undefined, scale: [], remove: [] }
const sum = (rs: readonly RsState[], f: (r: RsState) => number) => rs.reduce((n, r) => n + f(r), 0)
const oldestFirst = (olds: readonly RsState[]) => [...olds].sort((a, b) => a.revision - b.revision || (a.name < b.name ? -1 : 1))

/** Fully scaled-down old ReplicaSets past the history limit, oldest first (cleanupDeployment). */
export function historyToRemove(olds: readonly RsState[], limit: number): string[] {
  const idle = oldestFirst(olds).filter((r) => r.replicas === 0 && r.current === 0)
  return idle.slice(0, Math.max(0, idle.length - limit)).map((r) => r.name)
}

/** NewRSNewReplicas: the new ReplicaSet grows towards replicas while all of them stay within replicas + maxSurge. */
export function newReplicaSetReplicas(spec: RolloutSpec, newRs: RsState | undefined, olds: readonly RsState[]): number {
  const cur = newRs?.replicas ?? 0
  if (spec.strategy === 'Recreate') return spec.replicas
  if (cur >= spec.replicas) return spec.replicas
  const { surge } = resolveFenceposts(spec.maxSurge, spec.maxUnavailable, spec.replicas)
  const total = cur + sum(olds, (r) => r.replicas)
  const maxTotal = spec.replicas + surge
  if (total >= maxTotal) return cur
  return cur + Math.min(maxTotal - total, spec.replicas - cur)
}

/** reconcileOldReplicaSets: scale old ReplicaSets down as far as maxUnavailable allows, unhealthy Pods first. */
export function scaleDownOld(spec: RolloutSpec, newRs: RsState, olds: readonly RsState[]): { name: string; replicas: number }[] {
  if (sum(olds, (r) => r.replicas) === 0) return []
  const { unavailable } = resolveFenceposts(spec.maxSurge, spec.maxUnavailable, spec.replicas)
  const minAvailable = spec.replicas - unavailable
  const all = [newRs, ...olds]
  const newUnavailable = newRs.replicas - newRs.available
  const maxScaledDown = sum(all, (r) => r.replicas) - minAvailable - newUnavailable
  if (maxScaledDown <= 0) return []
  const target = new Map(olds.map((r) => [r.name, r.replicas]))
  const sorted = oldestFirst(olds)
  // First the Pods that are not available anyway: removing them costs no availability.
  let cleaned = 0
  for (const r of sorted) {
    if (cleaned >= maxScaledDown) break
    const unhealthy = r.replicas - r.available
    if (r.replicas === 0 || unhealthy <= 0) continue
    const down = Math.min(maxScaledDown - cleaned, unhealthy)
    target.set(r.name, r.replicas - down)
    cleaned += down
  }
  // Then available ones, while at least minAvailable stay available.
  const available = sum(all, (r) => r.available)
  const budget = available - minAvailable
  let scaled = 0
  for (const r of sorted) {
    if (scaled >= budget) break
    const cur = target.get(r.name)!
    if (cur === 0) continue
    const down = Math.min(cur, budget - scaled)
    target.set(r.name, cur - down)
    scaled += down
  }
  return sorted.filter((r) => target.get(r.name) !== r.replicas).map((r) => ({ name: r.name, replicas: target.get(r.name)! }))
}

export function planRollout(spec: RolloutSpec, newRs: RsState | undefined, olds: readonly RsState[]): RolloutStep {
  if (spec.paused) return NOTHING
  if (spec.strategy === 'Recreate') {
    // Every old Pod goes, and is gone, before the first new one is made.
    const active = olds.filter((r) => r.replicas > 0)
    if (active.length) return { ...NOTHING, scale: active.map((r) => ({ name: r.name, replicas: 0 })) }
    if (olds.some((r) => r.current > 0)) return NOTHING
    if (!newRs || newRs.replicas !== spec.replicas) return { ...NOTHING, newReplicas: spec.replicas }
    return { ...NOTHING, remove: historyToRemove(olds, spec.revisionHistoryLimit) }
  }
  const want = newReplicaSetReplicas(spec, newRs, olds)
  if (!newRs || want !== newRs.replicas) return { ...NOTHING, newReplicas: want }
  const scale = scaleDownOld(spec, newRs, olds)
  if (scale.length) return { ...NOTHING, scale }
  return { ...NOTHING, remove: historyToRemove(olds, spec.revisionHistoryLimit) }
}
