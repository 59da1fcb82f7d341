// What the plugin process does before loading anything else: if the config names
// an agentSocket, offer the invocation to the resident server there. Kept tiny
// (node:fs, node:net, no schema library) because it runs at every pod operation.
import { readFileSync } from 'node:fs'
import { forward, type Forwarded } from './client.ts'

export function readStdin(): Buffer {
  if (process.env.CNI_COMMAND === 'VERSION') return Buffer.alloc(0)
  try { return readFileSync(0) } catch { return Buffer.alloc(0) }
}

/** The config's agentSocket, if it has one; any decoding problem is left to the dispatcher. */
export function residentSocket(stdin: Buffer): string | undefined {
  try {
    const conf = JSON.parse(stdin.toString('utf8')) as { agentSocket?: unknown; plugins?: Array<{ agentSocket?: unknown }> }
    const s = conf.agentSocket ?? conf.plugins?.find((p) => p?.agentSocket)?.agentSocket
    return typeof s === 'string' && s.startsWith('/') ? s : undefined
  } catch {
    return undefined
  }
}

/** The resident server's answer, or undefined when the plugin must do the work itself. */
export async function tryResident(stdin: Buffer): Promise<Forwarded | undefined> {
  if (process.env.CNI_COMMAND === 'VERSION') return undefined
  const socket = residentSocket(stdin)
  return socket ? forward(socket, process.env, stdin) : undefined
}
