// Runs the matrix's probes for real: each case connects from its namespace (a
// pod's, or the outside client's) and reads the echo server's line. A case is
// retried until it passes or its deadline passes (the proxy and the overlay
// program asynchronously); the result kept is the last one.
import { judge, type MatrixCase, type MatrixResult } from './matrix.ts'
import { tcpFirstLine } from './ns-probe.ts'

export interface MatrixWhere {
  /** the namespace file of a pod, by name */
  pod(name: string): string
  outside: string
  /** a name resolved inside a pod (its resolv.conf, glibc) */
  resolve(podNetns: string, name: string): Promise<{ ok: true; ip: string } | { ok: false; error: string }>
}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export async function runCase(c: MatrixCase, where: MatrixWhere, deadlineMs: number, probeTimeoutMs = 2000): Promise<MatrixResult> {
  const ns = 'pod' in c.from ? where.pod(c.from.pod) : where.outside
  const end = Date.now() + deadlineMs
  for (;;) {
    const host = c.resolve ? await where.resolve(ns, c.to.host) : { ok: true as const, ip: c.to.host }
    const r = judge(c, host.ok ? await tcpFirstLine(ns, host.ip, c.to.port, probeTimeoutMs) : host)
    if (r.pass || Date.now() >= end) return r
    await pause(100)
  }
}

export async function runMatrix(cases: MatrixCase[], where: MatrixWhere, deadlineMs = 20_000): Promise<MatrixResult[]> {
  return Promise.all(cases.map((c) => runCase(c, where, deadlineMs)))
}
