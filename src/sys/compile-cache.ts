// Node's on-disk compile cache for a root daemon. V8 code cached from an earlier
// start skips re-compiling the 2 MB bundle (issue 7), but whoever can write the
// cache directory can swap in code that the next root start runs: the directory
// must be private to the user that runs pontoon. So no shared /tmp, and a
// directory that is a symlink, belongs to someone else or is writable by group or
// world is refused; pontoon then starts without a cache and says why.
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'

/** Where the root agent keeps its compile cache (FHS: data an application can rebuild). */
export const DEFAULT_COMPILE_CACHE_DIR = '/var/cache/pontoon'

export class CompileCacheDirError extends Error {
  constructor(
    readonly code: 'CACHE_DIR_SYMLINK' | 'CACHE_DIR_NOT_DIR' | 'CACHE_DIR_OWNER' | 'CACHE_DIR_WRITABLE' | 'CACHE_DIR_UNUSABLE',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'CompileCacheDirError'
  }
}

/** What `lstat` says of a path, as far as the verdict needs it. */
export interface DirFacts {
  isSymbolicLink: boolean
  isDirectory: boolean
  uid: number
  mode: number
}

/**
 * Why `path` may not hold code for a process of `uid`, or undefined when it may:
 * a real directory (not a symlink), owned by `uid`, writable by nobody else.
 * `parent` is the directory that holds it: it too must be owned by `uid` or root
 * and writable by nobody else, or another user could rename the cache away and
 * put their own in its place (its facts are those of what it resolves to: /var/cache
 * may be a root-owned link).
 */
export function cacheDirVerdict(path: string, facts: DirFacts, uid: number, parent?: { path: string; facts: DirFacts }): CompileCacheDirError | undefined {
  if (facts.isSymbolicLink) return new CompileCacheDirError('CACHE_DIR_SYMLINK', `${path} is a symlink`)
  if (!facts.isDirectory) return new CompileCacheDirError('CACHE_DIR_NOT_DIR', `${path} is not a directory`)
  if (facts.uid !== uid) return new CompileCacheDirError('CACHE_DIR_OWNER', `${path} belongs to uid ${facts.uid}, not ${uid}`)
  if ((facts.mode & 0o022) !== 0) return new CompileCacheDirError('CACHE_DIR_WRITABLE', `${path} is writable by group or others (mode ${(facts.mode & 0o7777).toString(8)})`)
  if (parent) {
    const p = parent.facts
    if (!p.isDirectory) return new CompileCacheDirError('CACHE_DIR_NOT_DIR', `${parent.path} (holding ${path}) is not a directory`)
    if (p.uid !== uid && p.uid !== 0) return new CompileCacheDirError('CACHE_DIR_OWNER', `${parent.path} (holding ${path}) belongs to uid ${p.uid}`)
    if ((p.mode & 0o022) !== 0) return new CompileCacheDirError('CACHE_DIR_WRITABLE', `${parent.path} (holding ${path}) is writable by group or others (mode ${(p.mode & 0o7777).toString(8)})`)
  }
  return undefined
}

const factsOf = (st: Stats): DirFacts => ({ isSymbolicLink: st.isSymbolicLink(), isDirectory: st.isDirectory(), uid: st.uid, mode: st.mode })

/**
 * Makes `dir` (mode 0700) if it is missing and returns it once it passes
 * cacheDirVerdict; throws CompileCacheDirError otherwise. An existing directory
 * is never chmod-ed or chown-ed: one that is not already private is refused.
 */
export function preparePrivateDir(dir: string, uid = process.getuid?.() ?? -1): string {
  let st: Stats
  try {
    st = lstatSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new CompileCacheDirError('CACHE_DIR_UNUSABLE', `${dir}: ${(e as Error).message}`, { cause: e })
    try {
      // Not recursive: a missing parent is a broken system, not something to invent.
      mkdirSync(dir, { mode: 0o700 })
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw new CompileCacheDirError('CACHE_DIR_UNUSABLE', `cannot create ${dir}: ${(e2 as Error).message}`, { cause: e2 })
    }
    st = lstatSync(dir)
  }
  const parentPath = dirname(dir)
  const bad = cacheDirVerdict(dir, factsOf(st), uid, { path: parentPath, facts: factsOf(statSync(parentPath)) })
  if (bad) throw bad
  return dir
}
