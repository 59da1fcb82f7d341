// One dispatcher for every pontoon plugin, in the manner of libcni's skel: it
// validates the environment and config per command, negotiates the version and
// turns any failure into the spec's error JSON. Env, stdin and stdout are passed
// in, so tests need no processes.
import { asCniError, CniError, ErrCode } from './errors.ts'
import { parseCommand, parseEnv } from './env.ts'
import { checkHead, decodeStdin, selectPlugin } from './netconf.ts'
import { resultForVersion } from './result-version.ts'
import { atLeast, LATEST_VERSION, SUPPORTED_VERSIONS } from './version.ts'
import { logCommand, type LogRecord } from './log.ts'
import type { CniPlugin, CniRequest } from './types.ts'

export interface SkelIo {
  env: NodeJS.ProcessEnv
  stdin: Buffer
  write(text: string): void
}

/** Runs one command; returns the process exit code. */
export async function dispatch(io: SkelIo, types: readonly string[], load: () => Promise<CniPlugin>, checkType = true): Promise<number> {
  let version = LATEST_VERSION
  const t0 = performance.now()
  const rec: Omit<LogRecord, 'ms'> = { command: io.env.CNI_COMMAND ?? '' }
  let logFile = io.env.PONTOON_CNI_LOG || undefined
  try {
    const command = parseCommand(io.env)
    if (command === 'VERSION') {
      io.write(JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS }) + '\n')
      return 0
    }
    const env = parseEnv(io.env)
    const config = selectPlugin(decodeStdin(io.stdin), types)
    // Report errors in the caller's version from here on, if it is one we speak.
    if (typeof config.cniVersion === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(config.cniVersion)) {
      version = config.cniVersion
    }
    const head = checkHead(config)
    // An IPAM plugin is handed its caller's config (type "bridge" and so on): only main plugins check type.
    if (checkType && !types.includes(head.type)) {
      throw new CniError(ErrCode.InvalidConfig, `type: ${JSON.stringify(head.type)} is not this plugin (${types.join(', ')})`)
    }
    if (command === 'CHECK' && !atLeast(head.cniVersion, '0.4.0')) {
      throw new CniError(ErrCode.IncompatibleVersion, `cniVersion: ${head.cniVersion} does not support CHECK (needs 0.4.0 or later)`)
    }
    if ((command === 'GC' || command === 'STATUS') && !atLeast(head.cniVersion, '1.1.0')) {
      throw new CniError(ErrCode.IncompatibleVersion, `cniVersion: ${head.cniVersion} does not support ${command} (needs 1.1.0)`)
    }
    const req: CniRequest = { ...env, config, stdin: io.stdin, env: io.env }
    Object.assign(rec, { containerId: env.containerId, ifName: env.ifName, network: head.name })
    if (typeof config.logFile === 'string' && config.logFile) logFile = config.logFile
    const plugin = await load()
    switch (command) {
      case 'ADD': {
        const result = await plugin.add(req)
        io.write(JSON.stringify(resultForVersion(result, head.cniVersion)) + '\n')
        break
      }
      case 'DEL': await plugin.del(req); break
      case 'CHECK': await plugin.check(req); break
      case 'GC': await plugin.gc(req); break
      case 'STATUS': await plugin.status(req); break
    }
    logCommand({ ...rec, ms: Math.round(performance.now() - t0) }, logFile)
    return 0
  } catch (err) {
    const e = asCniError(err)
    io.write(JSON.stringify(e.toJSON(version)) + '\n')
    logCommand({ ...rec, ms: Math.round(performance.now() - t0), code: e.code, msg: e.message }, logFile)
    return 1
  }
}
