// metav1.LabelSelector (matchLabels + matchExpressions), the structured form
// Deployments and ReplicaSets carry: checked, turned into the requirement list
// that selectors/labels.ts matches, and printed as kube-apiserver prints it
// (Scale's status.selector, `kubectl get rs -o wide`).
import { isObject } from '../types.ts'
import { matchLabels, type LabelRequirement, type LabelSelector } from './labels.ts'

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

export const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const

/** The requirements a well-formed selector stands for (call after validation; malformed parts are skipped). */
export function requirementsOf(sel: unknown): LabelSelector {
  if (!isObject(sel)) return []
  const out: LabelRequirement[] = []
  if (isObject(sel.matchLabels)) for (const [key, value] of Object.entries(sel.matchLabels)) if (typeof value === 'string') out.push({ op: 'eq', key, value })
  for (const x of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    if (!isObject(x) || typeof x.key !== 'string') continue
    const values = Array.isArray(x.values) ? x.values.filter((v): v is string => typeof v === 'string') : []
    if (x.operator === 'In') out.push({ op: 'in', key: x.key, values })
    else if (x.operator === 'NotIn') out.push({ op: 'notin', key: x.key, values })
    else if (x.operator === 'Exists') out.push({ op: 'exists', key: x.key })
    else if (x.operator === 'DoesNotExist') out.push({ op: 'notexists', key: x.key })
  }
  return out
}

/** Whether the selector has no requirement at all (it then selects everything, as in Kubernetes). */
export const isEmptySelector = (sel: unknown): boolean => requirementsOf(sel).length === 0

export function selects(sel: unknown, labels: Record<string, string> | undefined): boolean {
  return matchLabels(requirementsOf(sel), labels)
}

const byKey = (a: LabelRequirement, b: LabelRequirement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/** labels.Selector.String(): requirements sorted by key, values sorted. */
export function selectorString(sel: unknown): string {
  return requirementsOf(sel)
    .sort(byKey)
    .map((r) => {
      switch (r.op) {
        case 'eq':
          return `${r.key}=${r.value}`
        case 'neq':
          return `${r.key}!=${r.value}`
        case 'in':
          return `${r.key} in (${[...r.values].sort().join(',')})`
        case 'notin':
          return `${r.key} notin (${[...r.values].sort().join(',')})`
        case 'exists':
          return r.key
        case 'notexists':
          return `!${r.key}`
      }
    })
    .join(',')
}
