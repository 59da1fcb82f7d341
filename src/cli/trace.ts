// `pontoon trace --from IP --to IP:PORT/PROTO --node-name N`: lists Services,
// EndpointSlices and Nodes once, plans them as the agent would for that node,
// and prints where one packet goes and why. The work is in runTrace, with the
// API and the planner passed in, so tests run it without a cluster.
import type { CommandModule } from 'yargs'
import type { ClusterSnapshot } from '../cluster/snapshot.ts'
import type { ProxyPlan } from '../proxy/plan/intent.ts'
import type { NodeFacts, RawTraceFlags } from '../proxy/trace/flags.ts'

export interface TraceArgs extends RawTraceFlags {
  kubeconfig?: string
  json?: boolean
}

export type PlannerFactory = (config: NodeFacts['plannerConfig']) => { full(snapshot: ClusterSnapshot): ProxyPlan }

export interface TraceDeps {
  loadSnapshot(kubeconfig: string | undefined): Promise<ClusterSnapshot>
  newPlanner: PlannerFactory
  out(text: string): void
  err(text: string): void
}

const codeOf = (e: unknown) => String((e as { code?: unknown }).code ?? 'ERROR')

/** Returns the exit status: 0 traced, 2 bad flags (or flags the cluster refutes), 1 the API or the plan failed. */
export async function runTrace(args: TraceArgs, deps: TraceDeps): Promise<number> {
  const { FlagError } = await import('../agent/bind-address.ts')
  const { parseTraceFlags, nodeFacts } = await import('../proxy/trace/flags.ts')
  const { tracePacket } = await import('../proxy/trace/trace.ts')
  const { formatTrace, formatTraceJson } = await import('../proxy/trace/format.ts')
  const fail = (status: number, e: unknown) => {
    deps.err(`pontoon trace: ${(e as Error).message} (${codeOf(e)})\n`)
    return status
  }
  let flags
  try {
    flags = parseTraceFlags(args)
  } catch (e) {
    return fail(2, e)
  }
  let snapshot
  try {
    snapshot = await deps.loadSnapshot(args.kubeconfig)
  } catch (e) {
    return fail(1, e)
  }
  const node = snapshot.nodes.get(flags.nodeName)
  if (node === undefined) return fail(2, new FlagError('--node-name', `no Node "${flags.nodeName}" in the cluster`))
  const facts = nodeFacts(flags, node)
  let plan
  try {
    plan = deps.newPlanner(facts.plannerConfig).full(snapshot)
  } catch (e) {
    // a PlanConfigError is about the flags (a CIDR of a family the node lacks, ...)
    return fail(codeOf(e).startsWith('PLAN_CONFIG') ? 2 : 1, e)
  }
  const trace = tracePacket(plan, flags.packet, { localAddresses: facts.localAddresses })
  deps.out(args.json ? formatTraceJson(trace) : formatTrace(trace))
  return 0
}

const SYNC_DEADLINE_MS = 30_000

/** One list of every resource through the agent's own client, then stop. */
export async function listOnce(kubeconfig: string | undefined, deadlineMs = SYNC_DEADLINE_MS): Promise<ClusterSnapshot> {
  const { loadClusterAccess } = await import('../cluster/kubeconfig.ts')
  const { HttpTransport } = await import('../cluster/http-transport.ts')
  const { ClusterClient } = await import('../cluster/client.ts')
  const transport = new HttpTransport(await loadClusterAccess(kubeconfig))
  let lastFailure: unknown
  const client = new ClusterClient({
    transport,
    observer: { malformed: () => {}, stored: () => {}, synced: () => {}, listed: () => {}, watchEvent: () => {}, failed: (_r, e) => { lastFailure = e } },
  })
  let timer: NodeJS.Timeout | undefined
  try {
    client.start()
    await Promise.race([
      client.whenSynced(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(
          new Error(`the API did not list Services, EndpointSlices and Nodes within ${deadlineMs / 1000} s${lastFailure ? `: ${(lastFailure as Error).message}` : ''}`),
          { code: codeOf(lastFailure ?? { code: 'ETRACE_API_TIMEOUT' }) },
        )), deadlineMs)
      }),
    ])
    return client.snapshot()
  } finally {
    clearTimeout(timer)
    await client.stop()
    transport.close()
  }
}

async function loadPlanner(): Promise<PlannerFactory> {
  const { ProxyPlanner } = await import('../proxy/plan/planner.ts')
  return (config) => new ProxyPlanner(config)
}

export const traceCommand: CommandModule<object, TraceArgs> = {
  command: 'trace',
  describe: 'show where one packet to a Service goes on a node, and why',
  builder: (y) =>
    y
      .option('from', { type: 'string', demandOption: true, describe: 'source IP of the packet' })
      .option('to', { type: 'string', demandOption: true, describe: 'destination IP:PORT/PROTO, e.g. 10.96.0.10:53/udp or [fd00::10]:80/tcp' })
      .option('node-name', { type: 'string', demandOption: true, describe: 'the node the packet enters' })
      .option('kubeconfig', { type: 'string', describe: 'kubeconfig file; without it, the in-cluster service account' })
      .option('cluster-cidr', { type: 'string', describe: 'pod CIDRs, comma-separated (local-traffic detection)' })
      .option('masquerade-all', { type: 'boolean', default: false, describe: 'as the agent\'s --masquerade-all' })
      .option('nodeport-addresses', { type: 'string', describe: '"primary" or CIDRs, comma-separated; default: every node address' })
      .option('json', { type: 'boolean', default: false, describe: 'print the trace as JSON' }),
  handler: async (args) => {
    process.exitCode = await runTrace(args, {
      loadSnapshot: (k) => listOnce(k),
      newPlanner: await loadPlanner(),
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
    })
  },
}
