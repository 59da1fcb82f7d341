// kube-proxy's /healthz answer: 503 until the first full sync, then 200 while
// syncs keep happening. The body has the same fields kube-proxy writes.
export interface HealthState {
  /** wall-clock ms of the last completed sync, or null before the first */
  lastUpdated: number | null
  synced: boolean
}

export interface HealthAnswer {
  status: 200 | 503
  body: { lastUpdated: string; currentTime: string; nodeHealthy: boolean; synced: boolean }
}

export function healthAnswer(state: HealthState, nowMs: number): HealthAnswer {
  const healthy = state.synced && state.lastUpdated !== null
  return {
    status: healthy ? 200 : 503,
    body: {
      lastUpdated: new Date(state.lastUpdated ?? 0).toISOString(),
      currentTime: new Date(nowMs).toISOString(),
      nodeHealthy: healthy,
      synced: state.synced,
    },
  }
}
