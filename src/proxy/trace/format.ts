// What `pontoon trace` prints: one decision per line with its reason, then a
// one-line verdict a user can paste into an issue, e.g.
//   10.96.0.10:80/tcp from 10.244.1.5 => one of {10.244.1.7:8080, 10.244.2.9:8080}, masq
import { hostPort, type Trace, type TraceVerdict } from './trace.ts'

export function verdictLine(trace: Trace): string {
  const p = trace.packet
  return `${hostPort(p.to, p.port)}/${p.protocol} from ${p.from} => ${verdictText(trace.verdict)}`
}

function verdictText(v: TraceVerdict): string {
  if (v.kind === 'routed') return `routed normally (${v.reason})`
  if (v.kind !== 'endpoints') return `${v.kind} (${v.reason})`
  const targets = v.endpoints.map((e) => hostPort(e.ip, e.port))
  let s = targets.length === 1 ? targets[0]! : `one of {${targets.join(', ')}}`
  if (v.masquerade) s += ', masq'
  else {
    const hairpin = v.endpoints.filter((e) => e.hairpin).map((e) => hostPort(e.ip, e.port))
    if (hairpin.length > 0) s += `, masq on hairpin to ${hairpin.join(', ')}`
  }
  if (v.affinityTimeoutSeconds > 0) s += `, affinity ${v.affinityTimeoutSeconds}s`
  return s
}

/** The human form: one "step: reason" line per decision, the verdict last. */
export function formatTrace(trace: Trace): string {
  const lines = trace.steps.map((s) => `${s.step}: ${s.text}`)
  lines.push(verdictLine(trace))
  return lines.join('\n') + '\n'
}

/** The --json form: the whole trace plus the verdict line, stable key order. */
export function formatTraceJson(trace: Trace): string {
  return JSON.stringify({ ...trace, line: verdictLine(trace) }, null, 2) + '\n'
}
