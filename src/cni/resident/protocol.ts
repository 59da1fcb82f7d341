// The resident CNI protocol: one JSON line each way over a unix socket. The
// plugin process forwards its CNI_* environment and stdin; the resident server
// (started by `pontoon cni-server`, or the agent) runs the same dispatcher and
// returns what the plugin would have printed and its exit code.

export interface ResidentRequest {
  /** CNI_* (and PONTOON_CNI_LOG) variables of the invocation */
  env: Record<string, string>
  stdin: string
  /** the caller's network namespace (dev:inode of /proc/thread-self/ns/net); the server only serves its own */
  netns: string
}

export type ResidentResponse =
  | { kind: 'done'; code: number; stdout: string }
  /** the server is in another netns (or cannot serve): the plugin does the work itself */
  | { kind: 'fallback'; reason: string }

export const FORWARDED = /^(CNI_|PONTOON_CNI_LOG$)/

export function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && FORWARDED.test(k)) out[k] = v
  return out
}
