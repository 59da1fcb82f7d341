// Invoke a CNI plugin exactly as a runtime does: env + stdin, inside the node's
// netns (nsenter --net), reading stdout as the protocol.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Netns } from './netns.ts'

export const ROOT = resolve(import.meta.dirname, '../..')
export const BIN = join(ROOT, 'dist/bin')
export const PONTOON_CNI = join(BIN, 'pontoon-cni')
export const PONTOON_IPAM = join(BIN, 'pontoon-ipam')
export const REF_DIR = '/usr/lib/cni'
/** CNI_PATH: our bin dir first, then Debian's reference plugins. */
export const CNI_PATH = `${BIN}:${REF_DIR}`

export interface CniCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS'
  containerId?: string
  netns?: string
  ifName?: string
  args?: string
  path?: string
  env?: NodeJS.ProcessEnv
}

export interface CniOutcome { status: number; stdout: string; stderr: string; json: any }

/** Run `plugin` in `node`'s namespace with CNI_* env built from `call` and `config` on stdin. */
export function cni(node: Netns | undefined, plugin: string, call: CniCall, config: unknown): CniOutcome {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, CNI_COMMAND: call.command, CNI_PATH: call.path ?? CNI_PATH }
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId
  if (call.netns !== undefined) env.CNI_NETNS = call.netns
  if (call.ifName !== undefined) env.CNI_IFNAME = call.ifName
  if (call.args !== undefined) env.CNI_ARGS = call.args
  Object.assign(env, call.env)
  const input = typeof config === 'string' ? config : JSON.stringify(config)
  const [cmd, args] = node ? ['/usr/bin/nsenter', ['--net=' + node.path, '--', plugin]] : [plugin, []]
  const r = spawnSync(cmd, args as string[], { input, env, encoding: 'utf8' })
  let json: unknown
  try { json = r.stdout ? JSON.parse(r.stdout) : undefined } catch { json = undefined }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json }
}

/** A temporary IPAM data dir, removed by the returned cleanup. */
export function tempDataDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `pontoon-${tag}-`))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A bridge conflist entry for pontoon-cni with pontoon-ipam over one /24. */
export function bridgeConf(opts: { name?: string; subnet?: string; dataDir: string; cniVersion?: string; [k: string]: unknown }) {
  const { name = 'podnet', subnet = '10.244.7.0/24', dataDir, cniVersion = '1.1.0', ...rest } = opts
  return {
    cniVersion, name, type: 'pontoon-cni', bridge: 'cni0', isDefaultGateway: true,
    ipam: { type: 'pontoon-ipam', ranges: [[{ subnet }]], dataDir },
    ...rest,
  }
}

/** A kubeconfig whose API never answers (port 1 on loopback): the agent runs without a cluster. */
export function writeUnreachableKubeconfig(path: string): string {
  writeFileSync(path, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: k, cluster: {server: "http://127.0.0.1:1"}}]',
    'contexts: [{name: c, context: {cluster: k, user: u}}]', 'users: [{name: u, user: {}}]', '',
  ].join('\n'))
  return path
}
