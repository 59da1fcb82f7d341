// Pure: a Pod's status from what the kubelet knows about its sandbox and its
// containers, in kubelet's terms: phase (getPhase), the four conditions with
// lastTransitionTime kept while a condition holds, and containerStatuses.

export interface Terminated {
  exitCode: number
  signal?: number
  reason: string
  message?: string
  startedAt: string
  finishedAt: string
  containerID?: string
}

export interface ContainerView {
  name: string
  image: string
  state: 'waiting' | 'running' | 'terminated'
  waiting?: { reason: string; message?: string }
  startedAt?: string
  terminated?: Terminated
  lastTerminated?: Terminated
  restartCount: number
  ready: boolean
  containerID?: string
}

export interface PodView {
  restartPolicy: string
  sandboxReady: boolean
  podIPs: string[]
  hostIP?: string
  startTime: string
  containers: ContainerView[]
  /** the pod was refused (e.g. the node is full): phase Failed with this reason */
  rejected?: { reason: string; message: string }
  /** the sandbox could not be made yet: Pending with this message */
  sandboxError?: string
}

export interface Condition {
  type: string
  status: 'True' | 'False'
  lastProbeTime: null
  lastTransitionTime: string
  reason?: string
  message?: string
}

export function phaseOf(v: PodView): string {
  if (v.rejected) return 'Failed'
  if (!v.sandboxReady) return 'Pending'
  let running = 0, waiting = 0, stopped = 0, succeeded = 0
  for (const c of v.containers) {
    if (c.state === 'running') running++
    else if (c.state === 'terminated') {
      stopped++
      if (c.terminated?.exitCode === 0) succeeded++
    } else if (c.lastTerminated) {
      stopped++
      if (c.lastTerminated.exitCode === 0) succeeded++
    } else waiting++
  }
  if (waiting > 0) return 'Pending'
  if (running > 0) return 'Running'
  if (stopped === 0) return 'Pending'
  if (v.restartPolicy === 'Always') return 'Running'
  if (stopped === succeeded) return 'Succeeded'
  if (v.restartPolicy === 'Never') return 'Failed'
  return 'Running'
}

function condition(type: string, ok: boolean, now: string, previous: readonly Condition[], reason?: string, message?: string): Condition {
  const status = ok ? 'True' : 'False'
  const prev = previous.find((c) => c.type === type)
  const c: Condition = { type, status, lastProbeTime: null, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now }
  if (!ok && reason) c.reason = reason
  if (!ok && message) c.message = message
  return c
}

function terminatedStatus(t: Terminated): Record<string, unknown> {
  const s: Record<string, unknown> = { exitCode: t.exitCode, reason: t.reason, startedAt: t.startedAt, finishedAt: t.finishedAt }
  if (t.signal !== undefined) s.signal = t.signal
  if (t.message) s.message = t.message
  if (t.containerID) s.containerID = t.containerID
  return { terminated: s }
}

export function containerStatus(c: ContainerView): Record<string, unknown> {
  let state: Record<string, unknown>
  if (c.state === 'running') state = { running: { startedAt: c.startedAt } }
  else if (c.state === 'terminated' && c.terminated) state = terminatedStatus(c.terminated)
  else state = { waiting: { reason: c.waiting?.reason ?? 'ContainerCreating', ...(c.waiting?.message ? { message: c.waiting.message } : {}) } }
  const s: Record<string, unknown> = {
    name: c.name,
    image: c.image,
    imageID: '',
    ready: c.ready,
    started: c.state === 'running',
    restartCount: c.restartCount,
    state,
    lastState: c.lastTerminated ? terminatedStatus(c.lastTerminated) : {},
  }
  if (c.containerID) s.containerID = c.containerID
  return s
}

export function podStatus(v: PodView, previous: readonly Condition[], now: string): Record<string, unknown> {
  const notReady = v.containers.filter((c) => !c.ready).map((c) => c.name)
  const allReady = notReady.length === 0 && v.containers.length > 0 && !v.rejected
  const msg = notReady.length ? `containers with unready status: [${notReady.join(' ')}]` : undefined
  const status: Record<string, unknown> = {
    phase: phaseOf(v),
    conditions: [
      condition('PodScheduled', true, now, previous),
      condition('Initialized', true, now, previous),
      condition('ContainersReady', allReady, now, previous, 'ContainersNotReady', msg),
      condition('Ready', allReady, now, previous, 'ContainersNotReady', msg),
    ],
    startTime: v.startTime,
    containerStatuses: v.containers.map(containerStatus),
  }
  if (v.podIPs.length) {
    status.podIP = v.podIPs[0]
    status.podIPs = v.podIPs.map((ip) => ({ ip }))
  }
  if (v.hostIP) {
    status.hostIP = v.hostIP
    status.hostIPs = [{ ip: v.hostIP }]
  }
  if (v.rejected) {
    status.reason = v.rejected.reason
    status.message = v.rejected.message
  } else if (!v.sandboxReady && v.sandboxError) {
    status.message = v.sandboxError
  }
  return status
}
