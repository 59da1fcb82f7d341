// Decodes the network configuration on stdin: the single-plugin config a runtime
// sends, or (for convenience when driving the plugin by hand) a whole conflist.
import { CniError, ErrCode } from './errors.ts'
import { checkSupported } from './version.ts'

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export interface NetConfHead {
  cniVersion: string
  name: string
  type: string
}

export function decodeStdin(stdin: Buffer): Record<string, unknown> {
  const text = stdin.toString('utf8')
  if (text.trim() === '') throw new CniError(ErrCode.DecodeFailure, 'stdin: empty; expected the network configuration as JSON')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new CniError(ErrCode.DecodeFailure, `stdin: not valid JSON: ${(e as Error).message}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CniError(ErrCode.DecodeFailure, 'stdin: expected a JSON object')
  }
  return raw as Record<string, unknown>
}

/** If given a conflist, pick our plugin's entry and give it the list's name and version. */
export function selectPlugin(conf: Record<string, unknown>, ourTypes: readonly string[]): Record<string, unknown> {
  if (!('plugins' in conf)) return conf
  const plugins = conf.plugins
  if (!Array.isArray(plugins)) throw new CniError(ErrCode.InvalidConfig, 'plugins: expected an array of plugin configurations')
  const mine = plugins.find((p) => p && typeof p === 'object' && ourTypes.includes((p as { type?: unknown }).type as string))
  if (!mine) throw new CniError(ErrCode.InvalidConfig, `plugins: no entry has type ${ourTypes.map((t) => JSON.stringify(t)).join(' or ')}`)
  return { ...(mine as Record<string, unknown>), cniVersion: conf.cniVersion, name: conf.name }
}

export function checkHead(conf: Record<string, unknown>): NetConfHead {
  const cniVersion = checkSupported(conf.cniVersion)
  const name = conf.name
  if (typeof name !== 'string' || name === '') throw new CniError(ErrCode.InvalidConfig, 'name: required string is missing')
  if (!NAME.test(name)) {
    throw new CniError(ErrCode.InvalidConfig, `name: ${JSON.stringify(name)} must start with a letter or digit and hold only letters, digits, '_', '.' and '-'`)
  }
  const type = conf.type
  if (typeof type !== 'string' || type === '') throw new CniError(ErrCode.InvalidConfig, 'type: required string is missing')
  return { cniVersion, name, type }
}
