// A Deployment's status, pure: counts summed over its ReplicaSets, and the
// Available and Progressing conditions with kube-controller-manager's reasons
// (syncRolloutStatus, calculateStatus), which `kubectl rollout status` reads.
import { isObject } from '../types.ts'
import { resolveFenceposts } from './int-or-percent.ts'
import type { RolloutSpec, RsState } from './rollout-plan.ts'

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  lastUpdateTime: string
  lastTransitionTime: string
  reason: string
  message: string
}

export interface DeploymentStatus {
  observedGeneration: number
  replicas: number
  updatedReplicas: number
  readyReplicas: number
  availableReplicas: number
  unavailableReplicas: number
  collisionCount?: number
  conditions: Condition[]
}

export const REASONS = {
  available: 'MinimumReplicasAvailable',
  unavailable: 'MinimumReplicasUnavailable',
  created: 'NewReplicaSetCreated',
  updated: 'ReplicaSetUpdated',
  complete: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
} as const

export interface StatusInput {
  name: string
  generation: number
  spec: RolloutSpec
  /** seconds; undefined means no deadline */
  progressDeadlineSeconds: number | undefined
  newRs: RsState | undefined
  olds: readonly RsState[]
  /** the status stored now */
  previous: unknown
  /** the new ReplicaSet was created in this sync */
  createdNew: boolean
  /** ms since the epoch */
  now: number
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z')
const num = (v: unknown) => (typeof v === 'number' ? v : 0)

function previousConditions(prev: unknown): Condition[] {
  const list = isObject(prev) && Array.isArray(prev.conditions) ? prev.conditions : []
  return list.filter((c): c is Condition => isObject(c) && typeof c.type === 'string').map((c) => ({ ...c }))
}

/** SetDeploymentCondition: same status and reason keeps the old one; same status keeps its transition time. */
function setCondition(conds: Condition[], c: Condition): Condition[] {
  const i = conds.findIndex((x) => x.type === c.type)
  const cur = conds[i]
  if (cur && cur.status === c.status && cur.reason === c.reason) return conds
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime
  return [...conds.filter((x) => x.type !== c.type), c]
}

const condition = (type: string, status: Condition['status'], reason: string, message: string, now: number): Condition => ({ type, status, lastUpdateTime: iso(now), lastTransitionTime: iso(now), reason, message })

/** DeploymentComplete: every desired replica is updated, exists and is available, for the current generation. */
export function isComplete(replicas: number, s: Pick<DeploymentStatus, 'updatedReplicas' | 'replicas' | 'availableReplicas' | 'observedGeneration'>, generation: number): boolean {
  return s.updatedReplicas === replicas && s.replicas === replicas && s.availableReplicas === replicas && s.observedGeneration >= generation
}

export function deploymentStatus(i: StatusInput): { status: DeploymentStatus; checkAt: number | undefined } {
  const all = i.newRs ? [i.newRs, ...i.olds] : [...i.olds]
  const prev = isObject(i.previous) ? i.previous : {}
  const replicas = all.reduce((n, r) => n + r.current, 0)
  const available = all.reduce((n, r) => n + r.available, 0)
  const specTotal = all.reduce((n, r) => n + r.replicas, 0)
  const status: DeploymentStatus = {
    observedGeneration: i.generation,
    replicas,
    updatedReplicas: i.newRs?.current ?? 0,
    readyReplicas: all.reduce((n, r) => n + r.ready, 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specTotal - available),
    conditions: [],
  }
  if (typeof prev.collisionCount === 'number') status.collisionCount = prev.collisionCount
  let conds = previousConditions(prev)
  const maxUnavailable = i.spec.strategy === 'RollingUpdate' && i.spec.replicas > 0 ? Math.min(i.spec.replicas, resolveFenceposts(i.spec.maxSurge, i.spec.maxUnavailable, i.spec.replicas).unavailable) : 0
  conds =
    available >= i.spec.replicas - maxUnavailable
      ? setCondition(conds, condition('Available', 'True', REASONS.available, 'Deployment has minimum availability.', i.now))
      : setCondition(conds, condition('Available', 'False', REASONS.unavailable, 'Deployment does not have minimum availability.', i.now))

  const rsName = i.newRs?.name
  const which = rsName ? `ReplicaSet "${rsName}"` : `Deployment "${i.name}"`
  let checkAt: number | undefined
  const cur = () => conds.find((c) => c.type === 'Progressing')
  if (i.spec.paused) {
    if (cur()?.reason !== REASONS.paused) conds = setCondition(conds, condition('Progressing', 'Unknown', REASONS.paused, 'Deployment is paused', i.now))
  } else if (i.progressDeadlineSeconds === undefined) {
    conds = conds.filter((c) => c.type !== 'Progressing')
  } else {
    if (cur()?.reason === REASONS.paused) conds = setCondition(conds, condition('Progressing', 'Unknown', REASONS.resumed, 'Deployment is resumed', i.now))
    if (i.createdNew && rsName) conds = setCondition(conds, condition('Progressing', 'True', REASONS.created, `Created new replica set "${rsName}"`, i.now))
    const done = status.replicas === status.updatedReplicas && cur()?.reason === REASONS.complete
    if (!done) {
      const oldBefore = num(prev.replicas) - num(prev.updatedReplicas)
      const progressed =
        status.updatedReplicas > num(prev.updatedReplicas) ||
        status.replicas - status.updatedReplicas < oldBefore ||
        status.readyReplicas > num(prev.readyReplicas) ||
        status.availableReplicas > num(prev.availableReplicas)
      const c = cur()
      if (isComplete(i.spec.replicas, status, i.generation)) {
        conds = setCondition(conds, condition('Progressing', 'True', REASONS.complete, `${which} has successfully progressed.`, i.now))
      } else if (progressed) {
        // Progress refreshes lastUpdateTime even when the reason stays, which is what the deadline counts from.
        const next = condition('Progressing', 'True', REASONS.updated, `${which} is progressing.`, i.now)
        if (c?.status === 'True') next.lastTransitionTime = c.lastTransitionTime
        conds = [...conds.filter((x) => x.type !== 'Progressing'), next]
        checkAt = i.now + i.progressDeadlineSeconds * 1000
      } else if (c && c.reason !== REASONS.timedOut) {
        const from = Date.parse(c.lastUpdateTime)
        const deadline = (Number.isFinite(from) ? from : i.now) + i.progressDeadlineSeconds * 1000
        if (deadline < i.now) conds = setCondition(conds, condition('Progressing', 'False', REASONS.timedOut, `${which} has timed out progressing.`, i.now))
        else checkAt = deadline + 1000
      }
    }
  }
  status.conditions = conds
  return { status, checkAt }
}
