// Runs another plugin (an IPAM such as host-local) found on CNI_PATH, as the spec
// says a delegating plugin must: same environment, our config on stdin.
import { accessSync, constants } from 'node:fs'
import { join } from 'node:path'
import { run } from '../sys/run.ts'
import { CniError, ErrCode } from './errors.ts'
import { parseResult } from './result-version.ts'
import type { CniCommand, CniRequest, CniResult } from './types.ts'

export function findPlugin(type: string, path: string[]): string {
  if (type.includes('/')) throw new CniError(ErrCode.InvalidConfig, `ipam.type: ${JSON.stringify(type)} must be a plugin name, not a path`)
  for (const dir of path) {
    const p = join(dir, type)
    try { accessSync(p, constants.X_OK); return p } catch { /* next */ }
  }
  throw new CniError(ErrCode.InvalidConfig, `ipam.type: plugin ${JSON.stringify(type)} not found in CNI_PATH (${path.join(':') || 'empty'})`)
}

export function delegate(type: string, command: CniCommand, req: CniRequest): CniResult | undefined {
  const bin = findPlugin(type, req.path)
  const r = run(bin, [], { input: JSON.stringify(req.config), env: { ...req.env, CNI_COMMAND: command } })
  if (r.status !== 0) {
    let parsed: { code?: unknown; msg?: unknown; details?: unknown } = {}
    try { parsed = JSON.parse(r.stdout) } catch { /* not JSON: report raw */ }
    const code = typeof parsed.code === 'number' ? parsed.code : ErrCode.Delegate
    const msg = typeof parsed.msg === 'string' ? parsed.msg : (r.stderr || r.stdout).trim()
    throw new CniError(code, `ipam (${type}) ${command}: ${msg}`, typeof parsed.details === 'string' ? parsed.details : '')
  }
  if (command !== 'ADD') return undefined
  let raw: unknown
  try { raw = JSON.parse(r.stdout) } catch {
    throw new CniError(ErrCode.DecodeFailure, `ipam (${type}) ADD: result is not JSON: ${r.stdout.slice(0, 200)}`)
  }
  return parseResult(raw, `ipam (${type}) result`)
}
