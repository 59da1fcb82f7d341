// `pontoon lab up|down|status|exec|kubeconfig`: the multi-node lab on one machine.
import type { Argv, CommandModule } from 'yargs'

const DEFAULT_STATE_DIR = '/var/lib/pontoon-lab'
const DEFAULT_PREFIX = 'plab'

interface Common { 'state-dir': string }

const stateDir = <T>(y: Argv<T>) => y.option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: "where the lab keeps its state file, the API's data and kubeconfig, and the logs" })

async function fail(e: unknown, what: string): Promise<void> {
  const err = e as Error & { code?: string }
  process.stderr.write(`pontoon lab ${what}: ${err.code ? `${err.code}: ` : ''}${err.message}\n`)
  process.exitCode = 1
}

interface LabFlags { nodes: number; 'proxy-mode': string; overlay: string; prefix: string; demo: boolean }

const labFlags = <T>(y: Argv<T>) => y
  .option('nodes', { type: 'number', default: 3, describe: 'how many nodes' })
  .option('proxy-mode', { type: 'string', default: 'nftables', choices: ['nftables', 'iptables', 'userspace', 'ipvs'] })
  .option('overlay', { type: 'string', default: 'vxlan', choices: ['vxlan', 'host-gw'] })
  .option('prefix', { type: 'string', default: DEFAULT_PREFIX, describe: 'every namespace of the lab is named <prefix>-...' })
  .option('demo', { type: 'boolean', default: true, describe: 'deploy the demo and run the matrix (--no-demo: an empty cluster)' })

const up: CommandModule<object, Common & LabFlags & { vm: boolean; 'vm-mem'?: number; 'vm-timeout'?: number }> = {
  command: 'up',
  describe: 'build the lab (wire, N nodes with agent and kubelet, the API, an outside client), deploy the demo and run the traffic matrix; exit 0 iff it passed',
  builder: (y) => labFlags(stateDir(y))
    .option('vm', { type: 'boolean', default: false, describe: "run the whole lab inside one qemu guest with Debian's kernel (IPVS, dummy); kubectl, exec, status and down work from here" })
    .option('vm-mem', { type: 'number', describe: 'with --vm: guest memory in MiB (default 2048)' })
    .option('vm-timeout', { type: 'number', describe: "with --vm: seconds for the guest's lab to come up (default 900)" }) as never,
  handler: async (a) => {
    const { labUp } = await import('../lab/up.ts')
    const { binDir } = await import('../demo/demo.ts')
    try {
      const o = {
        nodes: a.nodes, proxyMode: a['proxy-mode'] as 'nftables', overlay: a.overlay as 'vxlan', prefix: a.prefix,
        stateDir: a['state-dir'], demo: a.demo, binDir: binDir(), log: (s: string) => console.log(s),
      }
      const r = a.vm
        ? await (await import('../lab/vm/host-up.ts')).labUpVm({ ...o, mem: a['vm-mem'], timeout: a['vm-timeout'] })
        : await labUp(o)
      process.exitCode = r.passed ? 0 : 1
    } catch (e) {
      await fail(e, 'up')
    }
  },
}

// The VM's init runs this in the guest of `up --vm`: the lab there, and the control listener.
const guest: CommandModule<object, Common & LabFlags & { 'token-file': string }> = {
  command: 'guest',
  describe: false,
  builder: (y) => labFlags(stateDir(y)).option('token-file', { type: 'string', demandOption: true }) as never,
  handler: async (a) => {
    const { runGuest } = await import('../lab/vm/guest.ts')
    const { binDir } = await import('../demo/demo.ts')
    try {
      await runGuest({
        nodes: a.nodes, proxyMode: a['proxy-mode'] as 'nftables', overlay: a.overlay as 'vxlan', prefix: a.prefix,
        stateDir: a['state-dir'], demo: a.demo, binDir: binDir(), tokenFile: a['token-file'],
      })
    } catch (e) {
      await fail(e, 'guest')
    }
  },
}

/** For a lab in a VM, run the same lab command in the guest; false for a namespace lab. */
async function inVm(stateDir: string, args: string[], what: string): Promise<boolean> {
  const { vmLab, forwardToGuest } = await import('../lab/vm/forward.ts')
  let client
  try { client = vmLab(stateDir) } catch (e) { await fail(e, what); return true }
  if (!client) return false
  try { process.exitCode = await forwardToGuest(client, args) } catch (e) { await fail(e, what) }
  return true
}

const down: CommandModule<object, Common & { prefix: string }> = {
  command: 'down',
  describe: 'remove every namespace, process and file the lab made',
  builder: (y) => stateDir(y).option('prefix', { type: 'string', default: DEFAULT_PREFIX, describe: 'also sweep namespaces named <prefix>-... (the state file names its own)' }) as never,
  handler: async (a) => {
    const { cleanLab } = await import('../lab/teardown.ts')
    try {
      const r = await cleanLab(a['state-dir'], a.prefix)
      console.log(`stopped ${r.stopped.length} lab processes, killed ${r.killed.length} left in its namespaces, removed ${r.netns.length} namespaces and ${a['state-dir']}`)
      if (r.failed.length) {
        process.stderr.write(`pontoon lab down: could not remove namespaces ${r.failed.join(', ')}\n`)
        process.exitCode = 1
      }
    } catch (e) {
      await fail(e, 'down')
    }
  },
}

const status: CommandModule<object, Common> = {
  command: 'status',
  describe: 'nodes, pods, services and agent/kubelet health as tables',
  builder: (y) => stateDir(y) as never,
  handler: async (a) => {
    if (await inVm(a['state-dir'], ['status'], 'status')) return
    const { gatherStatus, statusTables } = await import('../lab/status.ts')
    try {
      const d = await gatherStatus(a['state-dir'])
      process.stdout.write(statusTables(d))
      if (d.health.some((h) => !h.running || h.healthz !== 200)) process.exitCode = 1
    } catch (e) {
      await fail(e, 'status')
    }
  },
}

const exec: CommandModule<object, Common & { target: string; namespace: string; cmd: string[] }> = {
  command: 'exec <target> [cmd..]',
  describe: 'run a command inside a pod (by name), node-N, or outside: pontoon lab exec client -- ip addr',
  builder: (y) => stateDir(y)
    .positional('target', { type: 'string', describe: 'a pod name, node-N, or outside' })
    .positional('cmd', { type: 'string', array: true })
    .option('namespace', { alias: 'n', type: 'string', default: 'default', describe: "the pod's namespace" }) as never,
  handler: async (a) => {
    // everything after the first "--" is the command, verbatim (yargs would parse its flags)
    const dd = process.argv.indexOf('--')
    const cmd = dd >= 0 ? process.argv.slice(dd + 1) : (a.cmd ?? []).map(String)
    if (await inVm(a['state-dir'], ['exec', a.target, '--namespace', a.namespace, '--', ...cmd], 'exec')) return
    const { resolveTarget, execIn } = await import('../lab/exec.ts')
    try {
      const ns = await resolveTarget(a['state-dir'], a.target, a.namespace)
      process.exitCode = await execIn(ns, cmd)
    } catch (e) {
      await fail(e, 'exec')
    }
  },
}

const kubeconfig: CommandModule<object, Common> = {
  command: 'kubeconfig',
  describe: "print the path of the lab's kubeconfig (export KUBECONFIG=$(pontoon lab kubeconfig))",
  builder: (y) => stateDir(y) as never,
  handler: async (a) => {
    const { requireState } = await import('../lab/status.ts')
    const { labPaths } = await import('../lab/commands.ts')
    const { labTopology } = await import('../lab/topology.ts')
    try {
      const s = requireState(a['state-dir'])
      console.log(labPaths(a['state-dir'], labTopology(s.prefix, s.nodes)).kubeconfig)
    } catch (e) {
      await fail(e, 'kubeconfig')
    }
  },
}

const restart: CommandModule<object, Common & { what: string; node?: string }> = {
  command: 'restart <what>',
  describe: 'restart one lab process (api, or agent/kubelet/dns with --node node-N; dns runs on node-1) with the command line up gave it',
  builder: (y) => stateDir(y)
    .positional('what', { type: 'string', choices: ['api', 'agent', 'kubelet', 'dns'] })
    .option('node', { type: 'string', describe: 'node-N, for agent, kubelet and dns' }) as never,
  handler: async (a) => {
    if (await inVm(a['state-dir'], ['restart', a.what, ...(a.node ? ['--node', a.node] : [])], 'restart')) return
    const { restartProcess } = await import('../lab/restart.ts')
    const { binDir } = await import('../demo/demo.ts')
    try {
      const r = await restartProcess(a['state-dir'], a.what, a.node, binDir())
      console.log(`${a.what}${a.node ? ` on ${a.node}` : ''}: ${r.old ? `pid ${r.old} stopped, ` : ''}pid ${r.now.pid} started (log ${r.now.log})`)
    } catch (e) {
      await fail(e, 'restart')
    }
  },
}

export const labCommand: CommandModule = {
  command: 'lab <command>',
  describe: 'a multi-node cluster of network namespaces on this machine, driven with kubectl',
  builder: (y) => y.command([up, down, status, exec, kubeconfig, restart, guest] as CommandModule[]).demandCommand(1),
  handler: () => { /* a subcommand runs */ },
}
