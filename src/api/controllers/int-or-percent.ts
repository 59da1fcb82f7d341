// intstr.IntOrString as Deployments use it: a count, or a percent of a total
// rounded up (maxSurge) or down (maxUnavailable), as
// intstr.GetScaledValueFromIntOrPercent does.

export type IntOrPercent = number | string

const PERCENT = /^[0-9]+%$/

export const isPercent = (v: unknown): v is string => typeof v === 'string' && PERCENT.test(v)

/** The absolute value of `v` against `total`; undefined when `v` is neither an integer nor a percent. */
export function scaled(v: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined
  if (!isPercent(v)) return undefined
  const exact = (Number(v.slice(0, -1)) * total) / 100
  return roundUp ? Math.ceil(exact) : Math.floor(exact)
}

/** The number or percent as written, without a total (validation's "is it zero", "is it above 100%"). */
export function rawValue(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined
  return isPercent(v) ? Number(v.slice(0, -1)) : undefined
}

/**
 * maxSurge and maxUnavailable resolved against the desired replicas; both 0
 * would stall a rollout, so unavailable then becomes 1
 * (deploymentutil.ResolveFenceposts).
 */
export function resolveFenceposts(maxSurge: unknown, maxUnavailable: unknown, replicas: number): { surge: number; unavailable: number } {
  const surge = scaled(maxSurge, replicas, true) ?? 0
  let unavailable = scaled(maxUnavailable, replicas, false) ?? 0
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable }
}
