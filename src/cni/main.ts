// Process wiring for the plugin executables: read stdin, dispatch, exit.
// Plugins are imported only after VERSION has been answered, so it loads nothing.
// A bridge config that names an `agentSocket` is first offered to the resident
// server there (see resident/), which has every module loaded already.
import { readFileSync } from 'node:fs'
import { dispatch, type SkelIo } from './skel.ts'

export function runBridge(io: SkelIo): Promise<number> {
  return dispatch(io, ['pontoon-cni', 'pontoon'], async () => (await import('./bridge/plugin.ts')).bridgePlugin)
}

export function runIpam(io: SkelIo): Promise<number> {
  return dispatch(io, ['pontoon-ipam'], async () => (await import('../ipam/plugin.ts')).ipamPlugin, false)
}

/** The config's agentSocket, if it has one; any decoding problem is left to the dispatcher. */
function residentSocket(stdin: Buffer): string | undefined {
  try {
    const conf = JSON.parse(stdin.toString('utf8')) as { agentSocket?: unknown; plugins?: Array<{ agentSocket?: unknown }> }
    const s = conf.agentSocket ?? conf.plugins?.find((p) => p?.agentSocket)?.agentSocket
    return typeof s === 'string' && s.startsWith('/') ? s : undefined
  } catch {
    return undefined
  }
}

export async function runPlugin(kind: 'bridge' | 'ipam'): Promise<number> {
  const needsStdin = process.env.CNI_COMMAND !== 'VERSION'
  let stdin = Buffer.alloc(0)
  if (needsStdin) {
    try { stdin = readFileSync(0) } catch { /* no stdin: the decoder reports it */ }
  }
  const io = { env: process.env, stdin, write: (s: string) => { process.stdout.write(s) } }
  if (kind === 'ipam') return runIpam(io)
  const socket = needsStdin ? residentSocket(stdin) : undefined
  if (socket) {
    const { forward } = await import('./resident/client.ts')
    const r = await forward(socket, process.env, stdin)
    if (r) {
      process.stdout.write(r.stdout)
      return r.code
    }
  }
  return runBridge(io)
}
