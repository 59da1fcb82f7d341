// The scheduler's pure choice: which Pods it takes, which Nodes can run one
// (kube-scheduler's filters the lab needs: NodeUnschedulable, NodeName,
// NodeSelector, TaintToleration with the lifecycle taints of a NotReady or
// unreachable node), and a round-robin pick among them. No I/O.
import { isObject, type KObject } from '../types.ts'

export const DEFAULT_SCHEDULER = 'default-scheduler'

/** Why a node cannot take a pod: kube-scheduler's wording, counted per reason in the message. */
export const REASONS = {
  unschedulable: 'node(s) were unschedulable',
  selector: "node(s) didn't match Pod's node affinity/selector",
  deleting: 'node(s) were being deleted',
} as const

const NOT_READY = 'node.kubernetes.io/not-ready'
const UNREACHABLE = 'node.kubernetes.io/unreachable'
const BLOCKING = new Set(['NoSchedule', 'NoExecute'])

interface Taint {
  key: string
  value: string
  effect: string
}

/** A Pod this scheduler should place: unbound, ours, alive, not finished, not gated. */
export function wantsScheduling(pod: KObject): boolean {
  const spec = pod.spec
  if (!isObject(spec)) return false
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') return false
  if (spec.schedulerName !== undefined && spec.schedulerName !== '' && spec.schedulerName !== DEFAULT_SCHEDULER) return false
  if (Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0) return false
  if (pod.metadata.deletionTimestamp) return false
  const phase = pod.status?.phase
  return phase !== 'Succeeded' && phase !== 'Failed'
}

/**
 * The taints that keep pods off a node: its own, plus the one the node
 * lifecycle controller would add for a Ready condition of False or Unknown. A
 * node with no Ready condition yet counts as ready: the lab creates Nodes
 * before their agent and kubelet run, and pods may be placed on them already.
 */
export function taintsOf(node: KObject): Taint[] {
  const out: Taint[] = []
  const own = node.spec?.taints
  if (Array.isArray(own))
    for (const t of own) {
      if (!isObject(t) || typeof t.key !== 'string') continue
      out.push({ key: t.key, value: typeof t.value === 'string' ? t.value : '', effect: typeof t.effect === 'string' ? t.effect : '' })
    }
  const conds = node.status?.conditions
  const ready = Array.isArray(conds) ? conds.find((c) => isObject(c) && c.type === 'Ready') : undefined
  if (isObject(ready) && ready.status === 'False') out.push({ key: NOT_READY, value: '', effect: 'NoSchedule' })
  if (isObject(ready) && ready.status === 'Unknown') out.push({ key: UNREACHABLE, value: '', effect: 'NoSchedule' })
  return out
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(tol: unknown, t: Taint): boolean {
  if (!isObject(tol)) return false
  if (tol.effect !== undefined && tol.effect !== '' && tol.effect !== t.effect) return false
  const key = typeof tol.key === 'string' ? tol.key : ''
  if (key !== '' && key !== t.key) return false
  const op = tol.operator ?? 'Equal'
  if (op === 'Exists') return true
  return op === 'Equal' && key !== '' && (tol.value ?? '') === t.value
}

/** Why `node` cannot run `pod`, or undefined when it can. */
export function misfit(pod: KObject, node: KObject): string | undefined {
  if (node.metadata.deletionTimestamp) return REASONS.deleting
  const tolerations = Array.isArray(pod.spec?.tolerations) ? pod.spec.tolerations : []
  if (node.spec?.unschedulable === true && !tolerations.some((tol) => tolerates(tol, { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' })))
    return REASONS.unschedulable
  // kube-scheduler's filter order (taints before affinity): a node is counted under the first filter it fails.
  for (const t of taintsOf(node)) {
    if (!BLOCKING.has(t.effect)) continue
    if (!tolerations.some((tol) => tolerates(tol, t))) return `node(s) had untolerated taint {${t.key}: ${t.value}}`
  }
  const sel = pod.spec?.nodeSelector
  const labels = node.metadata.labels ?? {}
  if (isObject(sel) && Object.entries(sel).some(([k, v]) => labels[k] !== v)) return REASONS.selector
  return undefined
}

export type Choice = { node: string; next: number } | { node?: undefined; message: string }

/**
 * Pick the node for `pod`: the feasible nodes in name order, the one at
 * `cursor` (modulo their count), and the cursor to use next. When none fits,
 * kube-scheduler's FailedScheduling message: "0/3 nodes are available: 1
 * node(s) were unschedulable, 2 node(s) didn't match ...".
 */
export function chooseNode(pod: KObject, nodes: readonly KObject[], cursor: number): Choice {
  const fit: string[] = []
  const why = new Map<string, number>()
  for (const n of nodes) {
    const name = n.metadata.name ?? ''
    const reason = misfit(pod, n)
    if (reason === undefined) fit.push(name)
    else why.set(reason, (why.get(reason) ?? 0) + 1)
  }
  if (fit.length > 0) {
    fit.sort()
    const i = ((cursor % fit.length) + fit.length) % fit.length
    return { node: fit[i]!, next: cursor + 1 }
  }
  if (nodes.length === 0) return { message: 'no nodes available to schedule pods' }
  const parts = [...why.entries()].map(([r, n]) => `${n} ${r}`).sort()
  return { message: `0/${nodes.length} nodes are available: ${parts.join(', ')}.` }
}
