// Label selectors in the string form kube-apiserver accepts:
// `a=b,c==d,e!=f,g in (h,i),j notin (k),l,!m`. Parsing is separate from matching
// so a bad selector is rejected before any object is read.
import { badRequest } from '../errors.ts'

export type LabelRequirement =
  | { op: 'eq' | 'neq'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | 'notexists'; key: string }

export type LabelSelector = LabelRequirement[]

// Kubernetes label keys: optional DNS subdomain prefix and a name of up to 63 chars.
const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/

/** Split on commas that are not inside a `( ... )` value set. */
function splitTop(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let cur = ''
  for (const ch of s) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      out.push(cur)
      cur = ''
    } else cur += ch
  }
  out.push(cur)
  return out
}

function checkKey(key: string, sel: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${sel}"`, 'ESELECTOR')
  return key
}

function checkValue(v: string, sel: string): string {
  if (v.length > 63 || !VALUE.test(v)) throw badRequest(`unable to parse requirement: invalid label value "${v}" in selector "${sel}"`, 'ESELECTOR')
  return v
}

export function parseLabelSelector(sel: string | undefined): LabelSelector {
  if (!sel || !sel.trim()) return []
  const reqs: LabelSelector = []
  for (const raw of splitTop(sel)) {
    const part = raw.trim()
    if (!part) throw badRequest(`unable to parse requirement: empty requirement in selector "${sel}"`, 'ESELECTOR')
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part)
    if (set) {
      const values = set[3]!.split(',').map((v) => checkValue(v.trim(), sel))
      reqs.push({ op: set[2] as 'in' | 'notin', key: checkKey(set[1]!, sel), values })
      continue
    }
    const cmp = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part)
    if (cmp) {
      const op = cmp[2] === '!=' ? 'neq' : 'eq'
      reqs.push({ op, key: checkKey(cmp[1]!, sel), value: checkValue(cmp[3]!.trim(), sel) })
      continue
    }
    if (part.startsWith('!')) {
      reqs.push({ op: 'notexists', key: checkKey(part.slice(1).trim(), sel) })
      continue
    }
    reqs.push({ op: 'exists', key: checkKey(part, sel) })
  }
  return reqs
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  for (const r of sel) {
    const v = labels?.[r.key]
    switch (r.op) {
      case 'eq':
        if (v !== r.value) return false
        break
      case 'neq':
        // As in Kubernetes: a missing label satisfies `!=`.
        if (v === r.value) return false
        break
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false
        break
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false
        break
      case 'exists':
        if (v === undefined) return false
        break
      case 'notexists':
        if (v !== undefined) return false
        break
    }
  }
  return true
}

/** A Service-style selector map: every key must equal. An empty map selects nothing here (Services treat it so). */
export function matchSelectorMap(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const keys = Object.keys(selector)
  if (keys.length === 0) return false
  for (const k of keys) if (labels?.[k] !== selector[k]) return false
  return true
}
