// Pure: how long to wait before restarting an exited container. The first
// restart is at once, then initialMs, doubling up to maxMs, as kubelet's
// CrashLoopBackOff does; a container that ran for resetAfterMs or longer starts
// the count again.

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
  resetAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, resetAfterMs: 120_000 }

export function nextRestartDelay(previousMs: number | undefined, ranMs: number, p: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (previousMs === undefined || ranMs >= p.resetAfterMs) return 0
  if (previousMs === 0) return p.initialMs
  return Math.min(p.maxMs, previousMs * 2)
}

/** Whether an exited container is started again (restartPolicy Always / OnFailure / Never). */
export function shouldRestart(policy: string, exitCode: number): boolean {
  if (policy === 'Never') return false
  if (policy === 'OnFailure') return exitCode !== 0
  return true
}
