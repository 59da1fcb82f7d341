// kube-proxy's health answers, over every consumer of the sync loop.
// /healthz: 503 until the cache has synced and every consumer has synced once,
// and 503 again whenever a change has waited longer than the health timeout
// without a successful sync of the consumer it was meant for (kube-proxy:
// "QueuedUpdate" older than healthTimeout). /livez drops the start-up condition,
// as kube-proxy's drops node eligibility: an agent that cannot reach the API yet
// is not ready, but restarting it would not help.
export interface ConsumerHealth {
  name: string
  /** wall-clock ms of the consumer's last successful sync, or null before the first */
  lastSuccess: number | null
  /** monotonic ms since when the consumer's oldest unsynced change (or resync) has waited, or null */
  waitingSince: number | null
}

export interface HealthState {
  synced: boolean
  consumers: readonly ConsumerHealth[]
  timeoutMs: number
}

export interface HealthBody {
  lastUpdated: string
  currentTime: string
  nodeHealthy: boolean
  synced: boolean
  /** consumers whose changes have waited past the timeout */
  stale: string[]
}

export interface HealthAnswer {
  status: 200 | 503
  body: HealthBody
}

/** nowMono compares with waitingSince; nowWall is what the body reports. */
export function healthAnswer(state: HealthState, kind: 'healthz' | 'livez', nowMono: number, nowWall: number): HealthAnswer {
  const stale = state.consumers
    .filter((c) => c.waitingSince !== null && nowMono - c.waitingSince > state.timeoutMs)
    .map((c) => c.name)
  const started = state.synced && state.consumers.every((c) => c.lastSuccess !== null)
  const healthy = stale.length === 0 && (kind === 'livez' || started)
  const last = Math.max(0, ...state.consumers.map((c) => c.lastSuccess ?? 0))
  return {
    status: healthy ? 200 : 503,
    body: {
      lastUpdated: new Date(last).toISOString(),
      currentTime: new Date(nowWall).toISOString(),
      nodeHealthy: healthy,
      synced: state.synced,
      stale,
    },
  }
}
