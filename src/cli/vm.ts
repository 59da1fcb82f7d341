// `pontoon vm run [--mem MiB] [--timeout s] [--module m]... -- CMD...`: runs CMD as root in a
// qemu guest with Debian's kernel (ip_vs, dummy, vxlan... that this host may lack), the host
// root shared read-only under a tmpfs overlay, and no network uplink. Exits with CMD's status.
import type { CommandModule } from 'yargs'

interface Args { mem: number; timeout: number; module?: string[]; cmd?: string[]; '--'?: string[] }

// 125: the harness failed, not the command (as `env`, `timeout` and container runners do).
const HARNESS_FAILED = 125

export const vmCommand: CommandModule<object, Args> = {
  command: 'vm <action>',
  describe: 'run a command inside a throwaway qemu guest with an IPVS-capable kernel and no network uplink',
  builder: (y) =>
    y
      .parserConfiguration({ 'populate--': true, 'unknown-options-as-args': false })
      .positional('action', { choices: ['run'] as const, describe: 'run: boot, run CMD after --, power off' })
      .option('mem', { type: 'number', default: 1024, describe: 'guest memory in MiB' })
      .option('timeout', { type: 'number', default: 300, describe: 'seconds before the guest is killed' })
      .option('module', { type: 'string', array: true, describe: 'kernel module to load before CMD (default ip_vs and br_netfilter; given, it replaces them); repeatable' })
      .example('pontoon vm run -- cat /proc/net/ip_vs', '') as never,
  handler: async (a) => {
    const cmd = (a['--'] ?? []).map(String)
    const fail = (code: string, message: string) => {
      process.stderr.write(`pontoon vm: ${code}: ${message}\n`)
      process.exitCode = HARNESS_FAILED
    }
    if (cmd.length === 0) return fail('EVMINPUT', 'name the command to run after --, e.g. pontoon vm run -- uname -r')
    if (!Number.isFinite(a.timeout) || a.timeout <= 0) return fail('EVMINPUT', `--timeout ${a.timeout}: give a positive number of seconds`)
    const { runInVm, DEFAULT_MODULES } = await import('../vm/run.ts')
    try {
      const r = await runInVm({
        argv: cmd,
        mem: a.mem,
        timeout: a.timeout,
        modules: a.module?.length ? a.module : DEFAULT_MODULES,
        maxOutput: 0, // streamed below, not kept
        onStdout: (d) => process.stdout.write(d),
        onStderr: (d) => process.stderr.write(d),
      })
      process.exitCode = r.status
    } catch (e) {
      const err = e as Error & { code?: string; console?: string }
      fail(err.code ?? 'ERROR', err.message + (err.console ? `\n--- guest console ---\n${err.console}` : ''))
    }
  },
}
