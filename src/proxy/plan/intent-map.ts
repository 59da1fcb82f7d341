// The plan's intents by key, as a persistent map: `with()` returns a new map and
// leaves the old one as it was, so a backend may keep the plan it last applied
// while the planner moves on. One change must not copy 40,000 entries (10,000
// Services x ports x families), so the keys are spread over a fixed number of
// buckets by hash and `with()` copies only the buckets it touches plus the small
// array of buckets: O(changed x bucket size + BUCKETS), about 1/256 of a copy.
// Each bucket keeps its keys sorted, so the iteration order depends only on
// which keys are present, never on the history of updates that led there.
import type { PortIntent } from './intent.ts'

const BUCKETS = 256
const EMPTY: ReadonlyMap<string, PortIntent> = new Map()

/** FNV-1a: cheap, stable across runs and processes (iteration order must not vary between agents). */
function bucketOf(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) % BUCKETS
}

function sortedBucket(entries: Iterable<[string, PortIntent]>): ReadonlyMap<string, PortIntent> {
  const list = [...entries]
  list.sort(([a], [b]) => (a < b ? -1 : 1))
  return new Map(list)
}

export class IntentMap implements ReadonlyMap<string, PortIntent> {
  readonly size: number
  readonly #buckets: readonly ReadonlyMap<string, PortIntent>[]

  private constructor(buckets: readonly ReadonlyMap<string, PortIntent>[], size: number) {
    this.#buckets = buckets
    this.size = size
    Object.freeze(this)
  }

  static readonly empty = new IntentMap(Object.freeze(new Array<ReadonlyMap<string, PortIntent>>(BUCKETS).fill(EMPTY)), 0)

  /** A map of these intents, by key; a later intent with the same key replaces an earlier one. */
  static of(intents: Iterable<PortIntent>): IntentMap {
    return IntentMap.empty.with(intents, [])
  }

  /** A new map with `upserts` set (by key) and `removals` gone; this one is not changed. */
  with(upserts: Iterable<PortIntent>, removals: Iterable<string>): IntentMap {
    const touched = new Map<number, Map<string, PortIntent>>()
    const bucketFor = (key: string): Map<string, PortIntent> => {
      const b = bucketOf(key)
      let m = touched.get(b)
      if (!m) {
        m = new Map(this.#buckets[b])
        touched.set(b, m)
      }
      return m
    }
    for (const key of removals) bucketFor(key).delete(key)
    for (const intent of upserts) bucketFor(intent.key).set(intent.key, intent)
    if (touched.size === 0) return this
    const buckets = [...this.#buckets]
    let size = this.size
    for (const [b, m] of touched) {
      size += m.size - buckets[b]!.size
      buckets[b] = sortedBucket(m)
    }
    return new IntentMap(Object.freeze(buckets), size)
  }

  get(key: string): PortIntent | undefined {
    return this.#buckets[bucketOf(key)]!.get(key)
  }

  has(key: string): boolean {
    return this.#buckets[bucketOf(key)]!.has(key)
  }

  * entries(): MapIterator<[string, PortIntent]> {
    for (const b of this.#buckets) yield * b.entries()
  }

  * keys(): MapIterator<string> {
    for (const b of this.#buckets) yield * b.keys()
  }

  * values(): MapIterator<PortIntent> {
    for (const b of this.#buckets) yield * b.values()
  }

  [Symbol.iterator](): MapIterator<[string, PortIntent]> {
    return this.entries()
  }

  forEach(fn: (value: PortIntent, key: string, map: ReadonlyMap<string, PortIntent>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this)
  }

  get [Symbol.toStringTag](): string {
    return 'IntentMap'
  }
}
