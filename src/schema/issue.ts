// Naming the field a schema issue is about, the way users write it
// (`ipam.ranges[0][0].subnet`), for every validator in the project. zod/mini
// ships no messages (part of why it loads fast), so describeIssue words them too.
interface Issue {
  code: string
  path: readonly PropertyKey[]
  message: string
  expected?: string
  input?: unknown
  minimum?: number | bigint
  maximum?: number | bigint
  origin?: string
  values?: readonly unknown[]
}

/** `prefix` + path; `whole` names the object itself when both are empty. */
export function fieldPath(prefix: string, path: readonly PropertyKey[], whole = 'config'): string {
  let out = prefix
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p)
  return out || whole
}

/** The value the issue is about, found in the input by path (zod/mini does not report it). */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined
  return v
}

export function describeIssue(issue: Issue, input: unknown, prefix = ''): string {
  const where = fieldPath(prefix, issue.path)
  issue = { ...issue, input: valueAt(input, issue.path) }
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `${where}: required but missing` : `${where}: expected ${issue.expected}, got ${JSON.stringify(issue.input)}`
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `${where}: must have at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : `${where}: must be at least ${issue.minimum}`
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `${where}: must have at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}`
        : `${where}: must be at most ${issue.maximum}`
    case 'invalid_value':
      return `${where}: must be one of ${(issue.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`
    default:
      return `${where}: ${issue.message && issue.message !== 'Invalid input' ? issue.message : 'invalid value'}${issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : ''}`
  }
}
