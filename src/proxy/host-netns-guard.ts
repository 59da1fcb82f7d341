// A safety net for development machines: the test runner sets
// PONTOON_FORBID_NETNS to its own network namespace ("net:[inode]", as
// readlink /proc/self/ns/net prints it), and no proxy backend may then write
// into that namespace, so a test that forgets to start the agent inside a
// namespace of its own fails loudly instead of rewriting the host's firewall.
// In production (a DaemonSet on the host network) the variable is unset.
import { readlinkSync } from 'node:fs'

export class HostNetnsError extends Error {
  readonly code = 'HOST_NETNS_FORBIDDEN'
}

export function assertNotHostNetns(what: string, env: NodeJS.ProcessEnv = process.env): void {
  const forbidden = env.PONTOON_FORBID_NETNS
  if (!forbidden) return
  if (readlinkSync('/proc/thread-self/ns/net') === forbidden) {
    throw new HostNetnsError(`${what}: refusing to write into the host's network namespace ${forbidden} (PONTOON_FORBID_NETNS); run it inside a namespace of your own`)
  }
}
