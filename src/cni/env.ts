// Validates the CNI_* environment for each command (spec "Parameters"), the way
// libcni's skel does, so that plugins only ever see a well-formed request.
import { CniError, ErrCode } from './errors.ts'
import type { CniCommand, CniEnv } from './types.ts'

export type { CniEnv }


const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS']
const NEEDS: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
}

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const c = env.CNI_COMMAND
  if (!c) throw new CniError(ErrCode.InvalidEnv, 'CNI_COMMAND: required environment variable is not set')
  if (!(COMMANDS as readonly string[]).includes(c)) {
    throw new CniError(ErrCode.InvalidEnv, `CNI_COMMAND: unknown command ${JSON.stringify(c)}; expected one of ${COMMANDS.join(', ')}`)
  }
  return c as CniCommand
}

export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = parseCommand(env)
  const missing = NEEDS[command].filter((k) => !env[k] && !(k === 'CNI_PATH' && env[k] === ''))
  if (missing.length) {
    throw new CniError(ErrCode.InvalidEnv, `${missing.join(', ')}: required for ${command} but not set`)
  }
  const containerId = env.CNI_CONTAINERID ?? ''
  if (containerId && !CONTAINER_ID.test(containerId)) {
    throw new CniError(ErrCode.InvalidEnv, `CNI_CONTAINERID: ${JSON.stringify(containerId)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`)
  }
  const ifName = env.CNI_IFNAME ?? ''
  if (ifName || NEEDS[command].includes('CNI_IFNAME')) validateIfName(ifName)
  return {
    command,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifName,
    args: parseArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  }
}

export function validateIfName(name: string): void {
  const bad = (why: string) => new CniError(ErrCode.InvalidEnv, `CNI_IFNAME: ${JSON.stringify(name)} ${why}`)
  if (name === '') throw bad('is empty')
  if (Buffer.byteLength(name) > 15) throw bad('is longer than 15 bytes (IFNAMSIZ)')
  if (name === '.' || name === '..') throw bad('is not a valid interface name')
  if (/[/:\s]/.test(name)) throw bad("must not contain '/', ':' or whitespace")
}

/** CNI_ARGS is "K=V;K2=V2". */
export function parseArgs(raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!raw) return out
  for (const pair of raw.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CniError(ErrCode.InvalidEnv, `CNI_ARGS: ${JSON.stringify(pair)} is not KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}
