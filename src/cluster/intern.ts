// Node names and zones repeat across every endpoint of every slice; sharing one
// string per distinct value keeps a 100,000-endpoint cache small.
const pool = new Map<string, string>()
const MAX = 100_000

export function intern(s: string): string {
  const hit = pool.get(s)
  if (hit !== undefined) return hit
  if (pool.size >= MAX) pool.clear()
  pool.set(s, s)
  return s
}
