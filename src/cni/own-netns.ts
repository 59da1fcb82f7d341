// A CNI_NETNS that names the plugin's own network namespace would have the
// plugin configure the node as if it were a pod: a veth end called eth0, a
// default route, and on DEL the deletion of the node's own eth0. Refused before
// anything is touched.
import { statSync } from 'node:fs'
import { CniError, ErrCode } from './errors.ts'

/** dev:ino of a namespace file; undefined when it cannot be stat'ed (the caller reports that). */
function identity(path: string): string | undefined {
  try {
    const s = statSync(path)
    return `${s.dev}:${s.ino}`
  } catch {
    return undefined
  }
}

export function refuseOwnNetns(netns: string): void {
  if (!netns) return
  const target = identity(netns)
  // setns is per thread, so the thread's namespace is the one we would be acting in.
  if (target !== undefined && target === identity('/proc/thread-self/ns/net')) {
    throw new CniError(ErrCode.InvalidEnv, `CNI_NETNS: ${netns} is the plugin's own network namespace, not a container's; refusing to act on it`)
  }
}
