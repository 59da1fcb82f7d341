// returnFreedHeap in a child Node: after a burst of garbage the RSS stays near the
// burst's peak until the last-resort collection gives V8's pooled pages back.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const heap = fileURLToPath(new URL('../../src/sys/heap.ts', import.meta.url))
const probe = `
import { returnFreedHeap } from ${JSON.stringify(heap)}
const rss = () => process.memoryUsage().rss / 2 ** 20
let g = []
for (let i = 0; i < 1_500_000; i++) g.push({ a: 'elt ' + i, b: [i, i + 1] })
const peak = rss()
g = null
const ms = returnFreedHeap()
console.log(JSON.stringify({ peak, after: rss(), ms: ms ?? null }))
`

function run(flags: string[]): { peak: number; after: number; ms: number | null } {
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').pop()!)
}

t.test('with --expose-gc: the burst is collected and its pages leave the RSS', async (t) => {
  const r = run(['--expose-gc'])
  t.ok(r.peak > 150, `the burst made the RSS grow (${r.peak.toFixed(0)} MB)`)
  t.type(r.ms, 'number', 'it ran')
  t.ok(r.after < r.peak / 2, `RSS ${r.peak.toFixed(0)} -> ${r.after.toFixed(0)} MB`)
})

t.test('without it: nothing runs, nothing breaks', async (t) => {
  const r = run([])
  t.equal(r.ms, null)
})
