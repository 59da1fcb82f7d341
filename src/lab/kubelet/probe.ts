// Pure: a readinessProbe's settings with kubelet's defaults, and the counter that
// turns probe results into "ready": successThreshold successes in a row make a
// container ready, failureThreshold failures in a row make it not ready. A
// container starts not ready (kubelet's initial readiness result is failure).

export interface ProbeTiming {
  initialDelayMs: number
  periodMs: number
  timeoutMs: number
  successThreshold: number
  failureThreshold: number
}

export type ProbeAction =
  | { kind: 'tcp'; port: number | string; host?: string }
  | { kind: 'exec'; command: string[] }

export interface ProbeCounter {
  ready: boolean
  successes: number
  failures: number
}

export const INITIAL: ProbeCounter = { ready: false, successes: 0, failures: 0 }

function positive(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : dflt
}

export function probeTiming(p: Record<string, unknown>): ProbeTiming {
  const delay = p.initialDelaySeconds
  return {
    initialDelayMs: typeof delay === 'number' && delay > 0 ? delay * 1000 : 0,
    periodMs: positive(p.periodSeconds, 10) * 1000,
    timeoutMs: positive(p.timeoutSeconds, 1) * 1000,
    successThreshold: positive(p.successThreshold, 1),
    failureThreshold: positive(p.failureThreshold, 3),
  }
}

/** The action of a probe the lab can run; undefined for httpGet/grpc (not supported) or a malformed one. */
export function probeAction(p: Record<string, unknown>): ProbeAction | undefined {
  const tcp = p.tcpSocket as { port?: unknown; host?: unknown } | undefined
  if (tcp && typeof tcp === 'object' && (typeof tcp.port === 'number' || typeof tcp.port === 'string')) {
    return { kind: 'tcp', port: tcp.port, ...(typeof tcp.host === 'string' && tcp.host ? { host: tcp.host } : {}) }
  }
  const exec = p.exec as { command?: unknown } | undefined
  if (exec && Array.isArray(exec.command) && exec.command.length > 0 && exec.command.every((x) => typeof x === 'string')) {
    return { kind: 'exec', command: exec.command as string[] }
  }
  return undefined
}

/** A named tcpSocket port is looked up in the container's ports. */
export function resolvePort(port: number | string, containerPorts: unknown): number | undefined {
  if (typeof port === 'number') return port >= 1 && port <= 65535 ? port : undefined
  if (/^\d+$/.test(port)) return resolvePort(Number(port), containerPorts)
  for (const cp of Array.isArray(containerPorts) ? containerPorts : []) {
    const c = cp as { name?: unknown; containerPort?: unknown }
    if (c?.name === port && typeof c.containerPort === 'number') return c.containerPort
  }
  return undefined
}

export function record(s: ProbeCounter, ok: boolean, t: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>): ProbeCounter {
  if (ok) {
    const successes = s.successes + 1
    return { ready: s.ready || successes >= t.successThreshold, successes, failures: 0 }
  }
  const failures = s.failures + 1
  return { ready: s.ready && failures < t.failureThreshold, successes: 0, failures }
}
