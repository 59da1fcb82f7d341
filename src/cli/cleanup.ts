// `pontoon cleanup`: remove every Service rule pontoon may have written, in
// every proxy mode (a node switched from iptables to nftables must not keep the
// old chains), as `kube-proxy --cleanup` does. Safe to run twice.
import type { CommandModule } from 'yargs'

export const cleanupCommand: CommandModule<object, object> = {
  command: 'cleanup',
  describe: "remove pontoon's service proxy rules (nftables table, iptables chains, ipsets) from this network namespace",
  handler: async () => {
    const { cleanupAll } = await import('../proxy/backends.ts')
    let failed = false
    for (const r of await cleanupAll()) {
      if (r.error) {
        failed = true
        process.stderr.write(`pontoon cleanup: ${r.mode}: ${r.error}\n`)
      } else {
        process.stdout.write(`${r.mode}: removed\n`)
      }
    }
    if (failed) process.exitCode = 1
  },
}
