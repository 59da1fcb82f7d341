import t from 'tap'
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cacheDirVerdict, CompileCacheDirError, preparePrivateDir, type DirFacts } from '../../src/sys/compile-cache.ts'

const dir = (over: Partial<DirFacts> = {}): DirFacts => ({ isSymbolicLink: false, isDirectory: true, uid: 0, mode: 0o40700, ...over })
const codeOf = (e: unknown) => (e instanceof CompileCacheDirError ? e.code : `not a CompileCacheDirError: ${String(e)}`)

t.test('verdict: only a private directory of the same uid, in a parent nobody else writes', async (t) => {
  t.equal(cacheDirVerdict('/c', dir(), 0), undefined, 'root-owned 0700')
  t.equal(cacheDirVerdict('/c', dir({ uid: 1000, mode: 0o40755 }), 1000), undefined, 'own 0755: others may read, not write')
  t.equal(cacheDirVerdict('/c', dir(), 0, { path: '/', facts: dir({ mode: 0o40755 }) }), undefined, 'root parent 0755')
  t.equal(cacheDirVerdict('/c', dir({ uid: 7 }), 7, { path: '/p', facts: dir({ uid: 7 }) }), undefined, 'parent of the same uid')
  const cases: Array<[string, DirFacts, number, { path: string; facts: DirFacts } | undefined, string]> = [
    ['symlink', dir({ isSymbolicLink: true, isDirectory: false }), 0, undefined, 'CACHE_DIR_SYMLINK'],
    ['a file', dir({ isDirectory: false, mode: 0o100600 }), 0, undefined, 'CACHE_DIR_NOT_DIR'],
    ['another owner', dir({ uid: 1000 }), 0, undefined, 'CACHE_DIR_OWNER'],
    ['root-owned for a user', dir({ uid: 0 }), 1000, undefined, 'CACHE_DIR_OWNER'],
    ['group-writable', dir({ mode: 0o40770 }), 0, undefined, 'CACHE_DIR_WRITABLE'],
    ['world-writable', dir({ mode: 0o40707 }), 0, undefined, 'CACHE_DIR_WRITABLE'],
    ['sticky world-writable (/tmp)', dir({ mode: 0o41777 }), 0, undefined, 'CACHE_DIR_WRITABLE'],
    ['parent world-writable', dir(), 0, { path: '/tmp', facts: dir({ mode: 0o41777 }) }, 'CACHE_DIR_WRITABLE'],
    ['parent group-writable', dir(), 0, { path: '/p', facts: dir({ mode: 0o40775 }) }, 'CACHE_DIR_WRITABLE'],
    ['parent of a third uid', dir({ uid: 5 }), 5, { path: '/p', facts: dir({ uid: 6 }) }, 'CACHE_DIR_OWNER'],
    ['parent not a directory', dir(), 0, { path: '/p', facts: dir({ isDirectory: false }) }, 'CACHE_DIR_NOT_DIR'],
  ]
  for (const [name, facts, uid, parent, code] of cases) {
    const e = cacheDirVerdict('/c', facts, uid, parent)
    t.equal(codeOf(e), code, name)
    t.match(e?.message, parent ? parent.path : '/c', `${name}: the message names the path`)
  }
  t.match(cacheDirVerdict('/c', dir({ mode: 0o40777 }), 0)?.message, /mode 777/, 'the message says the mode')
})

t.test('preparePrivateDir on real directories', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'pontoon-cc-test-'))
  chmodSync(base, 0o700)
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  const uid = process.getuid!()

  const missing = join(base, 'missing')
  t.equal(preparePrivateDir(missing, uid), missing, 'a missing directory is created')
  const st = lstatSync(missing)
  t.ok(st.isDirectory())
  t.equal(st.mode & 0o777, 0o700, 'created 0700')
  t.equal(preparePrivateDir(missing, uid), missing, 'and accepted the second time')

  const target = join(base, 'target')
  mkdirSync(target, { mode: 0o700 })
  const link = join(base, 'link')
  symlinkSync(target, link)
  t.throws(() => preparePrivateDir(link, uid), { code: 'CACHE_DIR_SYMLINK' }, 'a symlink to a private directory is refused')

  const open = join(base, 'open')
  mkdirSync(open, { mode: 0o700 })
  chmodSync(open, 0o770)
  t.throws(() => preparePrivateDir(open, uid), { code: 'CACHE_DIR_WRITABLE' }, 'group-writable is refused')
  t.equal(lstatSync(open).mode & 0o777, 0o770, 'and left as it was, not chmod-ed')

  const file = join(base, 'file')
  writeFileSync(file, '')
  t.throws(() => preparePrivateDir(file, uid), { code: 'CACHE_DIR_NOT_DIR' }, 'a file is refused')

  t.throws(() => preparePrivateDir(join(base, 'no', 'parent'), uid), { code: 'CACHE_DIR_UNUSABLE' }, 'a missing parent is not invented')

  t.throws(() => preparePrivateDir(missing, uid + 1), { code: 'CACHE_DIR_OWNER' }, 'a directory of another uid is refused')
  if (uid === 0) {
    const theirs = join(base, 'theirs')
    mkdirSync(theirs, { mode: 0o700 })
    chownSync(theirs, 4321, 4321)
    t.throws(() => preparePrivateDir(theirs, 0), { code: 'CACHE_DIR_OWNER' }, 'a directory chowned to another user is refused')
  }

  const shared = join(base, 'shared')
  mkdirSync(shared, { mode: 0o700 })
  chmodSync(shared, 0o1777)
  t.throws(() => preparePrivateDir(join(shared, 'cache'), uid), { code: 'CACHE_DIR_WRITABLE' }, 'a private directory inside a /tmp-like one is refused')
})
