// An immutable map from strings, as a hash array mapped trie (Bagwell's HAMT, as
// in Clojure and Immutable.js): set and delete return a new map that shares every
// node off the changed path with the old one. A snapshot handed to a consumer is
// such a map, so it never changes under the consumer, and the next snapshot after
// one endpoint change costs a few node copies instead of a copy of 10,000 entries.
// Iteration order follows the hashes: stable for the same keys, but not sorted.

interface Leaf<V> {
  readonly t: 0
  readonly h: number
  readonly k: string
  readonly v: V
}

/** Keys whose 32-bit hashes are equal, kept side by side. */
interface Collision<V> {
  readonly t: 1
  readonly h: number
  readonly leaves: readonly Leaf<V>[]
}

/** 32 slots for 5 bits of the hash, only the occupied ones stored, in slot order. */
interface Branch<V> {
  readonly t: 2
  readonly bitmap: number
  readonly kids: readonly Node<V>[]
}

type Node<V> = Leaf<V> | Collision<V> | Branch<V>

const BITS = 5
const MASK = 31
const EMPTY: Branch<never> = { t: 2, bitmap: 0, kids: [] }

/** FNV-1a over UTF-16 code units: cheap and well spread for names like "default/svc-123". */
export function hashKey(k: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24)
}

const slot = (h: number, shift: number) => (h >>> shift) & MASK

function find<V>(node: Node<V>, h: number, k: string): Leaf<V> | undefined {
  let n: Node<V> = node
  for (let shift = 0; ; shift += BITS) {
    if (n.t === 0) return n.k === k ? n : undefined
    if (n.t === 1) return n.h === h ? n.leaves.find((l) => l.k === k) : undefined
    const bit = 1 << slot(h, shift)
    if ((n.bitmap & bit) === 0) return undefined
    n = n.kids[popcount(n.bitmap & (bit - 1))]!
  }
}

/** A branch at `shift` holding two nodes of different hashes (a leaf or a collision each). */
function join<V>(a: Leaf<V> | Collision<V>, b: Leaf<V>, shift: number): Branch<V> {
  const sa = slot(a.h, shift)
  const sb = slot(b.h, shift)
  // Different 32-bit hashes differ in some slot by shift 30, so this ends.
  if (sa === sb) return { t: 2, bitmap: 1 << sa, kids: [join(a, b, shift + BITS)] }
  return { t: 2, bitmap: (1 << sa) | (1 << sb), kids: sa < sb ? [a, b] : [b, a] }
}

/** The node with `leaf` set in it; the same node when it already holds that exact value. */
function put<V>(node: Node<V>, leaf: Leaf<V>, shift: number): Node<V> {
  if (node.t === 0) {
    if (node.k === leaf.k) return node.v === leaf.v ? node : leaf
    return node.h === leaf.h ? { t: 1, h: leaf.h, leaves: [node, leaf] } : join(node, leaf, shift)
  }
  if (node.t === 1) {
    if (node.h !== leaf.h) return join(node, leaf, shift)
    const i = node.leaves.findIndex((l) => l.k === leaf.k)
    if (i < 0) return { t: 1, h: node.h, leaves: [...node.leaves, leaf] }
    if (node.leaves[i]!.v === leaf.v) return node
    const leaves = node.leaves.slice()
    leaves[i] = leaf
    return { t: 1, h: node.h, leaves }
  }
  const bit = 1 << slot(leaf.h, shift)
  const i = popcount(node.bitmap & (bit - 1))
  if ((node.bitmap & bit) === 0) {
    const kids = node.kids.slice()
    kids.splice(i, 0, leaf)
    return { t: 2, bitmap: node.bitmap | bit, kids }
  }
  const kid = node.kids[i]!
  const next = put(kid, leaf, shift + BITS)
  if (next === kid) return node
  const kids = node.kids.slice()
  kids[i] = next
  return { t: 2, bitmap: node.bitmap, kids }
}

/** The node without key k: the same node when k is absent, null when nothing is left. */
function take<V>(node: Node<V>, h: number, k: string, shift: number): Node<V> | null {
  if (node.t === 0) return node.k === k ? null : node
  if (node.t === 1) {
    if (node.h !== h) return node
    const leaves = node.leaves.filter((l) => l.k !== k)
    if (leaves.length === node.leaves.length) return node
    return leaves.length === 1 ? leaves[0]! : { t: 1, h, leaves }
  }
  const bit = 1 << slot(h, shift)
  if ((node.bitmap & bit) === 0) return node
  const i = popcount(node.bitmap & (bit - 1))
  const kid = node.kids[i]!
  const next = take(kid, h, k, shift + BITS)
  if (next === kid) return node
  if (next === null) {
    if (node.kids.length === 1) return null
    const kids = node.kids.slice()
    kids.splice(i, 1)
    // A lone leaf or collision needs no branch of its own: the level above can hold it (not the root).
    if (shift > 0 && kids.length === 1 && kids[0]!.t !== 2) return kids[0]!
    return { t: 2, bitmap: node.bitmap & ~bit, kids }
  }
  if (shift > 0 && node.kids.length === 1 && next.t !== 2) return next
  const kids = node.kids.slice()
  kids[i] = next
  return { t: 2, bitmap: node.bitmap, kids }
}

function each<V>(node: Node<V>, cb: (l: Leaf<V>) => void): void {
  if (node.t === 0) cb(node)
  else if (node.t === 1) for (const l of node.leaves) cb(l)
  else for (const kid of node.kids) each(kid, cb)
}

/** In-order leaves with an explicit stack: one generator for the whole walk, not one per node. */
function* walk<V, T>(root: Node<V>, pick: (l: Leaf<V>) => T): Generator<T, undefined, undefined> {
  const stack: Node<V>[] = [root]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.t === 0) yield pick(n)
    else if (n.t === 1) for (const l of n.leaves) yield pick(l)
    else for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i]!)
  }
  return undefined
}

const entryOf = <V>(l: Leaf<V>): [string, V] => [l.k, l.v]
const keyOf = <V>(l: Leaf<V>): string => l.k
const valueOf = <V>(l: Leaf<V>): V => l.v

export class PersistentMap<V> implements ReadonlyMap<string, V> {
  private static readonly empty = new PersistentMap<never>(EMPTY, 0)

  private constructor(private readonly root: Branch<V>, readonly size: number) {}

  static of<V>(entries: Iterable<readonly [string, V]> = []): PersistentMap<V> {
    let m: PersistentMap<V> = PersistentMap.empty
    for (const [k, v] of entries) m = m.set(k, v)
    return m
  }

  get(k: string): V | undefined {
    return find(this.root, hashKey(k), k)?.v
  }

  has(k: string): boolean {
    return find(this.root, hashKey(k), k) !== undefined
  }

  /** A map with k set to v; this map itself when k already holds v. */
  set(k: string, v: V): PersistentMap<V> {
    const h = hashKey(k)
    const had = find(this.root, h, k) !== undefined
    const root = put(this.root, { t: 0, h, k, v }, 0) as Branch<V>
    return root === this.root ? this : new PersistentMap(root, had ? this.size : this.size + 1)
  }

  /** A map without k; this map itself when k is absent. */
  delete(k: string): PersistentMap<V> {
    const root = take(this.root, hashKey(k), k, 0) as Branch<V> | null
    if (root === this.root) return this
    return root === null ? PersistentMap.empty : new PersistentMap(root, this.size - 1)
  }

  forEach(cb: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    each(this.root, (l) => cb.call(thisArg, l.v, l.k, this))
  }

  entries(): MapIterator<[string, V]> {
    return walk(this.root, entryOf)
  }

  keys(): MapIterator<string> {
    return walk(this.root, keyOf)
  }

  values(): MapIterator<V> {
    return walk(this.root, valueOf)
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries()
  }
}
