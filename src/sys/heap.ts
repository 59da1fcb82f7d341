// Hand the memory a burst of garbage left behind back to the kernel. A full sync
// (planning and rendering every Service at once) is the agent's one large burst:
// at 10,000 Services it peaks near 300 MB and leaves ~85 MB live. V8 keeps the
// pages a major GC frees in a pool for reuse and gives them back only on a
// last-resort collection, so without one the RSS stays at the burst's peak for
// good. `gc` exists when Node runs with --expose-gc (the shipped launcher passes
// it to `pontoon`); from source it does not, and this is a no-op.
import { releaseFreedMemory } from './libc.ts'

type Gc = (o: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void

/** ms the collection took, or undefined when no `gc` is exposed */
export function returnFreedHeap(): number | undefined {
  const gc = (globalThis as { gc?: Gc }).gc
  if (typeof gc !== 'function') return undefined
  const start = performance.now()
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  releaseFreedMemory()
  return performance.now() - start
}
