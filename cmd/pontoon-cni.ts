// The CNI plugin entry. The fast path (hand the call to a resident server) loads
// only a few kB; the plugin proper is a separate bundle, imported only when this
// process must do the work itself.
import { readStdin, tryResident } from '../src/cni/resident/fast-path.ts'

const stdin = readStdin()
const answer = await tryResident(stdin)
if (answer) {
  process.stdout.write(answer.stdout)
  process.exitCode = answer.code
} else {
  // A computed specifier: the bundler leaves it alone, so the local bundle stays separate.
  const local = new URL(import.meta.url.endsWith('.ts') ? './pontoon-cni-local.ts' : './pontoon-cni-local.mjs', import.meta.url).href
  const { runLocal } = (await import(local)) as typeof import('./pontoon-cni-local.ts')
  process.exitCode = await runLocal('bridge', stdin)
}
