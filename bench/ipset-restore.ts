// ipset writes through the netlink client (src/netlink/ipset.ts) against the `ipset` tool,
// side by side in one run, in a throwaway namespace: a full-sync restore of N hash:ip,port
// elements (create, twin, flush, fill, swap, destroy: the renderers' text), and one change
// (del + add of one element, as a delta sync writes it) through Ipset vs one `ipset restore`
// exec of the same text. Prints figures, judges nothing. Needs root:
//   node --import tsx bench/ipset-restore.ts        # BENCH_ELEMENTS=10000 BENCH_RUNS=20 by default
import { performance } from 'node:perf_hooks'
import { loadavg } from 'node:os'
import { makeNetns } from '../test/lib/netns.ts'
import { Ipset } from '../src/netlink/index.ts'

const N = Number(process.env.BENCH_ELEMENTS ?? 10000)
const RUNS = Number(process.env.BENCH_RUNS ?? 20)

const el = (i: number) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255},tcp:${80 + (i % 3)}`
const full = (n: number): string => [
  'create KUBE-CLUSTER-IP hash:ip,port family inet maxelem 1048576 -exist',
  'create KUBT-CLUSTER-IP hash:ip,port family inet maxelem 1048576 -exist',
  'flush KUBT-CLUSTER-IP',
  ...Array.from({ length: n }, (_, i) => `add KUBT-CLUSTER-IP ${el(i)}`),
  'swap KUBT-CLUSTER-IP KUBE-CLUSTER-IP',
  'destroy KUBT-CLUSTER-IP',
  '',
].join('\n')
const change = (k: number): string => `del KUBE-CLUSTER-IP ${el(k % N)} -exist\nadd KUBE-CLUSTER-IP ${el(N + k)} -exist\n`
const p50 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  const nsA = makeNetns('bench-nl')
  const nsB = makeNetns('bench-tool')
  try {
    const ipset = await Ipset.open(nsA.path)
    const text = full(N)
    const t = { nlFull: [] as number[], toolFull: [] as number[], nlChange: [] as number[], toolChange: [] as number[] }
    // interleaved run by run, so machine drift hits both sides alike
    for (let r = 0; r < RUNS; r++) {
      let t0 = performance.now()
      await ipset.restore(text)
      t.nlFull.push(performance.now() - t0)
      t0 = performance.now()
      nsB.run('ipset', ['restore', '-exist'], { input: text })
      t.toolFull.push(performance.now() - t0)
    }
    for (let r = 0; r < RUNS; r++) {
      const c = change(r)
      let t0 = performance.now()
      await ipset.restore(c)
      t.nlChange.push(performance.now() - t0)
      t0 = performance.now()
      nsB.run('ipset', ['restore', '-exist'], { input: c })
      t.toolChange.push(performance.now() - t0)
    }
    const count = (await ipset.members('KUBE-CLUSTER-IP')).length
    const toolCount = nsB.run('ipset', ['save', 'KUBE-CLUSTER-IP']).split('\n').filter((l) => l.startsWith('add ')).length
    ipset.close()
    const f = (x: number) => `${x.toFixed(2)} ms`
    console.log(`ipset restore, ${N} hash:ip,port elements (full sync: twin filled and swapped), ${RUNS} runs each, p50; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
    console.log(`  full sync   Ipset (netlink) ${f(p50(t.nlFull))}   ipset restore exec ${f(p50(t.toolFull))}   ratio ${(p50(t.toolFull) / p50(t.nlFull)).toFixed(2)}x`)
    console.log(`  one change  Ipset (netlink) ${f(p50(t.nlChange))}   ipset restore exec ${f(p50(t.toolChange))}   ratio ${(p50(t.toolChange) / p50(t.nlChange)).toFixed(2)}x`)
    console.log(`  (set sizes after the runs, both sides: ${count} / ${toolCount})`)
  } finally {
    nsA.destroy()
    nsB.destroy()
  }
}

await main()
