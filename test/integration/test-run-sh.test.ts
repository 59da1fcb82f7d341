// test/run.sh itself, run in a throwaway copy with dummy test files: it builds
// every time, and a file that is skipped, reports no tests or skips a test fails
// the run, where tap alone would pass it.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, copyFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Three whole runs of run.sh (each starts tap twice over): more than run.sh's per-file
// --timeout on a loaded box. The root test tells the runner its own bound.
t.setTimeout(900_000)

// plain ESM, so the copy's tap runs without compiling TypeScript
const PASS = "import t from 'tap'\nt.test('passes', async (t) => { t.ok(true) })\n"

/** A copy of run.sh beside the project's node_modules and kubectl, with these files as its tests and this build. */
function copy(t: Test, files: Record<string, string>, build = 'echo built >> build.log') {
  const dir = mkdtempSync(join(tmpdir(), 'pontoon-run-sh-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'test/unit'), { recursive: true })
  mkdirSync(join(dir, 'test/integration'), { recursive: true })
  mkdirSync(join(dir, '.tools/bin'), { recursive: true })
  copyFileSync(join(ROOT, 'test/run.sh'), join(dir, 'test/run.sh'))
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'))
  symlinkSync(join(ROOT, '.tools/bin/kubectl'), join(dir, '.tools/bin/kubectl'))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'run-sh-copy', private: true, type: 'module', scripts: { build } }))
  for (const [path, text] of Object.entries({ 'test/unit/a.test.mjs': PASS, 'test/integration/b.test.mjs': PASS, ...files })) writeFileSync(join(dir, path), text)
  return dir
}

// tap tells its children how it was run (TAP_*, NODE_OPTIONS): the copy must run as from a shell.
const shellEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TAP|_TAPJS|NODE_OPTIONS$|PONTOON_RUN$)/.test(k)))

function run(dir: string) {
  const r = spawnSync('bash', [join(dir, 'test/run.sh')], { encoding: 'utf8', timeout: 240_000, env: shellEnv })
  const lines = (r.stdout ?? '').trim().split('\n')
  return { status: r.status, last: lines.at(-1) ?? '', stdout: r.stdout ?? '', stderr: r.stderr ?? '', builds: existsSync(join(dir, 'build.log')) ? readFileSync(join(dir, 'build.log'), 'utf8').split('\n').filter(Boolean).length : 0 }
}

t.test('all files pass: exit 0, the closing line, and a build every run', async (t) => {
  const dir = copy(t, {})
  const first = run(dir)
  t.equal(first.status, 0, first.stderr)
  t.equal(first.last, '2 passed, 0 failed')
  t.equal(first.builds, 1, 'built before testing')
  const second = run(dir)
  t.equal(second.status, 0, second.stderr)
  t.equal(second.builds, 2, 'built again, though nothing changed')
})

t.test('a failed build fails the run before any test', async (t) => {
  const r = run(copy(t, {}, 'exit 3'))
  t.not(r.status, 0)
  t.match(r.stderr, /build failed/)
  t.notMatch(r.stdout, /a\.test\.mjs/, 'no test ran')
})

// One run for the three ways a file passes tap without testing anything: each must be
// named, and any one of them fails the run (the verdict is "this list is empty").
t.test('a skipped file, an empty file and a skipped or todo test each fail the run', async (t) => {
  const r = run(copy(t, {
    'test/unit/skipped.test.mjs': "import t from 'tap'\nt.plan(0, 'needs something this machine lacks')\n",
    'test/integration/empty.test.mjs': "import t from 'tap'\nvoid t\n",
    'test/unit/some.test.mjs': "import t from 'tap'\nt.test('runs', async (t) => { t.ok(true) })\nt.test('later', { skip: 'not today' }, async (t) => { t.ok(true) })\nt.test('someday', { todo: 'one day' }, async (t) => { t.ok(true) })\n",
  }))
  t.not(r.status, 0)
  t.match(r.stderr, /test\/unit\/skipped\.test\.mjs # SKIP needs something this machine lacks/)
  t.match(r.stderr, /test\/integration\/empty\.test\.mjs: reports no tests/)
  t.match(r.stderr, /test\/unit\/some\.test\.mjs: later # SKIP not today/)
  t.match(r.stderr, /test\/unit\/some\.test\.mjs: someday # TODO one day/)
  t.match(r.last, /^\d+ passed, 0 failed, \d+ skipped$/, 'the closing line counts them')
})
