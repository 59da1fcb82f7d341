// Pure: the demo's traffic matrix. From what the cluster holds (the client
// pod, an echo pod per node, the two-container pod, the Service, the nodes) it
// plans the cases; it judges each probe's answer (the echo server's line
// "<pod name> <client ip>:<client port>") and renders the results as a table.
// The probes themselves are matrix-run.ts.
import { canonicalIp } from '../net/address.ts'
import { renderTable } from './text-table.ts'

export interface MatrixPod { name: string; node: string; ip: string }

export interface MatrixInput {
  client: MatrixPod
  /** the echo pods, one per node */
  echo: MatrixPod[]
  /** the two-container pod: its relay container forwards relayPort to the echo container over localhost */
  duo: MatrixPod
  service: { name: string; clusterIP: string; port: number; nodePort: number }
  nodes: Array<{ name: string; ip: string }>
  echoPort: number
  relayPort: number
}

export type CaseKind = 'pod-pod-same-node' | 'pod-pod-cross-node' | 'container-localhost' | 'pod-clusterip' | 'pod-service-name' | 'outside-nodeport'

export interface MatrixCase {
  kind: CaseKind
  title: string
  /** a pod by name, or the outside client */
  from: { pod: string } | { outside: true }
  /** host is a name when resolve is set: the pod resolves it (cluster DNS, its search path) before connecting */
  to: { host: string; port: number }
  resolve?: true
  /** the answer must come from one of these pods */
  names: string[]
  /** and the server must have seen this client address (no NAT on the way) */
  peer?: string
}

export interface EchoAnswer { name: string; ip: string; port: number }

export type ProbeOutcome = { ok: true; line: string } | { ok: false; error: string }

export interface MatrixResult {
  case: MatrixCase
  pass: boolean
  /** the answer as read, or the error */
  detail: string
}

export function planMatrix(m: MatrixInput): MatrixCase[] {
  const fromClient = { pod: m.client.name }
  const cases: MatrixCase[] = []
  for (const e of m.echo) {
    const same = e.node === m.client.node
    cases.push({
      kind: same ? 'pod-pod-same-node' : 'pod-pod-cross-node',
      title: `pod -> pod ${same ? 'same node' : 'across nodes'} (${m.client.node} -> ${e.node})`,
      from: fromClient,
      to: { host: e.ip, port: m.echoPort },
      names: [e.name],
      peer: m.client.ip,
    })
  }
  cases.push({
    kind: 'container-localhost',
    title: `container -> container over localhost (${m.duo.name})`,
    from: fromClient,
    to: { host: m.duo.ip, port: m.relayPort },
    names: [m.duo.name],
    peer: '127.0.0.1',
  })
  const echoNames = m.echo.map((e) => e.name)
  cases.push({
    kind: 'pod-clusterip',
    title: `pod -> ClusterIP ${m.service.name}`,
    from: fromClient,
    to: { host: m.service.clusterIP, port: m.service.port },
    names: echoNames,
  })
  cases.push({
    kind: 'pod-service-name',
    title: `pod -> Service ${m.service.name} by its short name (cluster DNS)`,
    from: fromClient,
    to: { host: m.service.name, port: m.service.port },
    resolve: true,
    names: echoNames,
  })
  for (const n of m.nodes) {
    cases.push({
      kind: 'outside-nodeport',
      title: `outside -> NodePort on ${n.name}`,
      from: { outside: true },
      to: { host: n.ip, port: m.service.nodePort },
      names: echoNames,
    })
  }
  return cases
}

/** "<name> <ip>:<port>", the IP possibly IPv6 (bracketed or not): the port is after the last colon. */
export function parseEchoLine(line: string): EchoAnswer | undefined {
  const m = /^(\S+) (\S+):(\d{1,5})$/.exec(line.trim())
  if (!m) return undefined
  const ip = canonicalIp(m[2]!.replace(/^\[(.*)\]$/, '$1').replace(/^::ffff:(?=\d+\.)/, ''))
  const port = Number(m[3])
  if (!ip || port > 65535) return undefined
  return { name: m[1]!, ip, port }
}

export function judge(c: MatrixCase, o: ProbeOutcome): MatrixResult {
  if (!o.ok) return { case: c, pass: false, detail: o.error }
  const a = parseEchoLine(o.line)
  const shown = o.line.trim().slice(0, 80)
  if (!a) return { case: c, pass: false, detail: `not an echo answer: ${JSON.stringify(shown)}` }
  if (!c.names.includes(a.name)) return { case: c, pass: false, detail: `${shown} (expected ${c.names.join(' or ')})` }
  if (c.peer !== undefined && a.ip !== canonicalIp(c.peer)) return { case: c, pass: false, detail: `${shown} (client seen as ${a.ip}, expected ${c.peer})` }
  return { case: c, pass: true, detail: shown }
}

/** The matrix passed: there were cases, and every one passed. */
export function matrixPassed(results: readonly MatrixResult[]): boolean {
  return results.length > 0 && results.every((r) => r.pass)
}

export function renderMatrix(results: readonly MatrixResult[]): string {
  const from = (c: MatrixCase) => ('pod' in c.from ? `pod/${c.from.pod}` : 'outside')
  const rows = results.map((r) => [r.case.title, from(r.case), `${r.case.to.host}:${r.case.to.port}`, r.detail, r.pass ? 'PASS' : 'FAIL'])
  const passed = results.filter((r) => r.pass).length
  return renderTable(['CASE', 'FROM', 'TO', 'ANSWER', 'RESULT'], rows) + `${passed}/${results.length} passed\n`
}
