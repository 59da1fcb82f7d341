// The ReplicaSet controller's pure half: from a ReplicaSet and the Pods it
// controls, how many Pods to create, which to delete (the least useful first,
// as kube-controller-manager ranks them), and the status to report.
import { isObject, type KObject } from '../types.ts'

export interface PodView {
  name: string
  uid: string
  /** ms since the epoch */
  created: number
  nodeName: string
  phase: string
  ready: boolean
  /** when the Ready condition last became True (ms), when ready */
  readySince: number | undefined
  restarts: number
  deleting: boolean
  labels: Record<string, string>
}

type Rec = Record<string, unknown>
const objs = (v: unknown): Rec[] => (Array.isArray(v) ? v.filter(isObject) : [])
const time = (v: unknown): number | undefined => {
  const t = typeof v === 'string' ? Date.parse(v) : NaN
  return Number.isFinite(t) ? t : undefined
}

export function podView(p: KObject): PodView {
  const st = p.status ?? {}
  const readyCond = objs(st.conditions).find((c) => c.type === 'Ready')
  const ready = readyCond?.status === 'True'
  return {
    name: p.metadata.name ?? '',
    uid: p.metadata.uid ?? '',
    created: time(p.metadata.creationTimestamp) ?? 0,
    nodeName: typeof p.spec?.nodeName === 'string' ? p.spec.nodeName : '',
    phase: typeof st.phase === 'string' ? st.phase : 'Pending',
    ready,
    readySince: ready ? (time(readyCond?.lastTransitionTime) ?? time(p.metadata.creationTimestamp) ?? 0) : undefined,
    restarts: objs(st.containerStatuses).reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0),
    deleting: !!p.metadata.deletionTimestamp,
    labels: { ...(p.metadata.labels ?? {}) },
  }
}

/** Pods that count: not being deleted, not finished (controller.FilterActivePods). */
export const isActive = (p: PodView): boolean => !p.deleting && p.phase !== 'Succeeded' && p.phase !== 'Failed'

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 }

/**
 * Negative when `a` should be deleted before `b` (controller.ActivePods'
 * order): unscheduled before scheduled, Pending before Unknown before
 * Running, not ready before ready, ready for less time before longer,
 * more restarts before fewer, newer before older; the name breaks ties.
 */
export function deleteFirst(a: PodView, b: PodView): number {
  if (!a.nodeName !== !b.nodeName) return a.nodeName ? 1 : -1
  const pa = PHASE_RANK[a.phase] ?? 1
  const pb = PHASE_RANK[b.phase] ?? 1
  if (pa !== pb) return pa - pb
  if (a.ready !== b.ready) return a.ready ? 1 : -1
  if (a.ready && b.ready && a.readySince !== b.readySince) return (b.readySince ?? 0) - (a.readySince ?? 0)
  if (a.restarts !== b.restarts) return b.restarts - a.restarts
  if (a.created !== b.created) return b.created - a.created
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0
}

export interface ReplicaSetDiff {
  create: number
  /** names, in the order to delete them */
  delete: string[]
}

/** Pods to create or delete so that `replicas` active Pods remain; at most `burst` of either per step. */
export function planReplicaSet(replicas: number, pods: readonly PodView[], burst: number): ReplicaSetDiff {
  const active = pods.filter(isActive)
  const diff = active.length - replicas
  if (diff < 0) return { create: Math.min(-diff, burst), delete: [] }
  if (diff === 0) return { create: 0, delete: [] }
  return { create: 0, delete: [...active].sort(deleteFirst).slice(0, Math.min(diff, burst)).map((p) => p.name) }
}

export interface ReplicaSetStatus {
  replicas: number
  fullyLabeledReplicas: number
  readyReplicas: number
  availableReplicas: number
  observedGeneration: number
}

/**
 * The status of a ReplicaSet from its Pods at `now`, and when the next Pod
 * becomes available (ready for minReadySeconds), so the caller can look again
 * then.
 */
export function replicaSetStatus(rs: KObject, pods: readonly PodView[], now: number): { status: ReplicaSetStatus; nextAvailableAt: number | undefined } {
  const spec = rs.spec ?? {}
  const minReadyMs = (typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0) * 1000
  const template = isObject(spec.template) ? (spec.template as Rec) : {}
  const tmplLabels = isObject(template.metadata) && isObject((template.metadata as Rec).labels) ? ((template.metadata as Rec).labels as Record<string, string>) : {}
  const active = pods.filter(isActive)
  let fully = 0
  let ready = 0
  let available = 0
  let next: number | undefined
  for (const p of active) {
    if (Object.entries(tmplLabels).every(([k, v]) => p.labels[k] === v)) fully++
    if (!p.ready) continue
    ready++
    const at = (p.readySince ?? 0) + minReadyMs
    if (minReadyMs === 0 || at <= now) available++
    else if (next === undefined || at < next) next = at
  }
  return {
    status: { replicas: active.length, fullyLabeledReplicas: fully, readyReplicas: ready, availableReplicas: available, observedGeneration: rs.metadata.generation ?? 0 },
    nextAvailableAt: next,
  }
}
