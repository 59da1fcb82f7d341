// `pontoon demo` (the one-node CNI demo, the README's main job before the lab) run for real: it must carry TCP between two pods and clean up.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { BIN } from '../lib/cni.ts'

t.test('pontoon demo carries traffic and leaves no namespace behind', async (t) => {
  const r = spawnSync(join(BIN, 'pontoon'), ['demo'], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stdout + r.stderr)
  t.match(r.stdout, /TCP pod-a -> 10\.244\.0\.\d+:8080: "hello from pod-b - you are 10\.244\.0\.\d+"/)
  t.match(r.stdout, /reservations left 0/)
  const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  const run = /node namespace (pdemo[0-9a-f]{4})-node/.exec(r.stdout)?.[1]
  t.ok(run)
  t.notMatch(ns, new RegExp(`${run}-`), 'its namespaces are gone')
})
