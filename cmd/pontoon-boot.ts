// The pontoon launcher's first module: turns on Node's compile cache in a private
// directory, then loads the CLI (pontoon-cli.mjs, cmd/pontoon.ts). The cache must
// be on before the 2 MB bundle is compiled, so this stays a separate, tiny module.
import { DEFAULT_COMPILE_CACHE_DIR, preparePrivateDir } from '../src/sys/compile-cache.ts'

// Node 22.1+ (the shipped Node is 24); @types/node is 20's, hence the shape here.
interface CompileCacheApi {
  enableCompileCache?: (dir: string) => { status: number; message?: string }
  flushCompileCache?: () => void
  constants?: { compileCacheStatus?: { FAILED: number } }
}
// getBuiltinModule, not an import: the bundler's ESM wrapper around a builtin copies all its exports.
const { enableCompileCache, flushCompileCache, constants: moduleConstants } = process.getBuiltinModule('node:module') as unknown as CompileCacheApi

/** One pino-shaped line on stderr (pino itself is in the bundle this module loads). */
const warn = (code: string, msg: string) =>
  process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, name: 'pontoon', code, msg })}\n`)

// PONTOON_COMPILE_CACHE_DIR: another private directory, or '' for none. Without it
// only root uses the cache: a user's `pontoon --help` has no business under /var/cache.
const wanted = process.env.PONTOON_COMPILE_CACHE_DIR ?? (process.getuid?.() === 0 ? DEFAULT_COMPILE_CACHE_DIR : '')
if (wanted !== '' && enableCompileCache && flushCompileCache) {
  try {
    const r = enableCompileCache(preparePrivateDir(wanted))
    if (r.status === moduleConstants?.compileCacheStatus?.FAILED) warn('CACHE_DIR_UNUSABLE', `compile cache off: ${r.message ?? wanted}`)
    // Node writes the cache at exit; a daemon killed hard never exits, so write what the start compiled once it has run.
    else setTimeout(() => flushCompileCache(), 3000).unref()
  } catch (e) {
    warn((e as { code?: string }).code ?? 'CACHE_DIR_UNUSABLE', `compile cache off: ${(e as Error).message}`)
  }
}

// A computed specifier: esbuild leaves it alone, so the CLI stays its own file.
await import(new URL('./pontoon-cli.mjs', import.meta.url).href)
