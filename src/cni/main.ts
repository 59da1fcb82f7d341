// Process wiring for the plugin executables: read stdin, dispatch, exit.
// Plugins are imported only after VERSION has been answered, so it loads nothing.
import { dispatch, type SkelIo } from './skel.ts'

export function runBridge(io: SkelIo): Promise<number> {
  return dispatch(io, ['pontoon-cni', 'pontoon'], async () => (await import('./bridge/plugin.ts')).bridgePlugin)
}

export function runIpam(io: SkelIo): Promise<number> {
  return dispatch(io, ['pontoon-ipam'], async () => (await import('../ipam/plugin.ts')).ipamPlugin, false)
}

/** Run the plugin in this process. */
export function runLocal(kind: 'bridge' | 'ipam', stdin: Buffer): Promise<number> {
  const io = { env: process.env, stdin, write: (s: string) => { process.stdout.write(s) } }
  return kind === 'ipam' ? runIpam(io) : runBridge(io)
}
