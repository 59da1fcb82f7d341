// Process wiring for the plugin executables: read stdin, dispatch, exit.
// Plugins are imported only after VERSION has been answered, so it loads nothing.
import { readFileSync } from 'node:fs'
import { dispatch } from './skel.ts'

export async function runPlugin(kind: 'bridge' | 'ipam'): Promise<number> {
  const needsStdin = process.env.CNI_COMMAND !== 'VERSION'
  let stdin = Buffer.alloc(0)
  if (needsStdin) {
    try { stdin = readFileSync(0) } catch { /* no stdin: the decoder reports it */ }
  }
  const io = { env: process.env, stdin, write: (s: string) => process.stdout.write(s) }
  if (kind === 'ipam') {
    return dispatch(io, ['pontoon-ipam'], async () => (await import('../ipam/plugin.ts')).ipamPlugin, false)
  }
  return dispatch(io, ['pontoon-cni', 'pontoon'], async () => (await import('./bridge/plugin.ts')).bridgePlugin)
}
