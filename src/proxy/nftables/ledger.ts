// What the applier believes is in the kernel, element by element, with a count
// of the intents that need each one. Several intents can need the same element
// (a clusterIP shared by a Service's ports, the hairpin pair of a pod behind two
// Services), so an element is deleted only when its last intent lets go, and
// added only when its first one asks. Only those shared sets are counted; every
// other element's key holds its frontend, so it belongs to one intent and a plain
// diff of that intent's renders is its change (a second intent claiming the same
// frontend is a conflict the kernel keeps the first of). Pure, and every
// operation costs only the elements of the intents it is given.
//
// Each intent's elements are kept packed in one flat string, and its chains and
// maps not at all (the backend keeps one of each by name): as the renders' own
// objects, each element with its strings built by concatenation and each intent
// with its own copy of the chains it shares, they were 40 MB of the agent's
// 124 MB live heap at 10,000 Services x 10 endpoints. Only the intents a change
// touches are unpacked.
import { diffRenders, elementId, type IntentRender, type NftElement, type RenderedElements } from './render.ts'

/** sets whose elements several intents can need at once */
const SHARED = /^(cluster-ips|hairpin)-v[46]$/

interface Held {
  el: NftElement
  count: number
}

/** an intent's elements as the ledger keeps them */
type Packed = string

// Control characters no set name, key or value can hold (they are addresses,
// ports, protocols, verdicts and chain names made of validated object names).
const FIELD = '\u001f'
const RECORD = '\u001e'
const SEPARATORS = /[\u001e\u001f]/

export class LedgerPackError extends Error {
  readonly code = 'ELEDGERPACK'
}

export function packRender(r: RenderedElements): Packed {
  const parts = new Array<string>(r.elements.length)
  for (let i = 0; i < r.elements.length; i++) {
    const e = r.elements[i]!
    // no array of the three fields: this runs for every element of a 10k cold sync
    if (SEPARATORS.test(e.set) || SEPARATORS.test(e.key) || (e.value !== undefined && SEPARATORS.test(e.value))) {
      throw new LedgerPackError(`element ${JSON.stringify(e)} of set ${e.set} holds a control character`)
    }
    parts[i] = e.value === undefined ? e.set + FIELD + e.key : e.set + FIELD + e.key + FIELD + e.value
  }
  return parts.join(RECORD)
}

export function unpackRender(p: Packed): RenderedElements {
  const elements: NftElement[] = []
  if (p !== '') {
    for (const rec of p.split(RECORD)) {
      const [set, key, value] = rec.split(FIELD) as [string, string, string | undefined]
      elements.push(value === undefined ? { set, key } : { set, key, value })
    }
  }
  return { elements }
}

export interface LedgerChange {
  add: NftElement[]
  delete: NftElement[]
  /** every set the changed intents had or will have elements in */
  sets: ReadonlySet<string>
  /** make the ledger hold the new renders (call once the kernel accepted the change) */
  commit(): void
}

export class ElementLedger {
  #held = new Map<string, Held>()
  #byIntent = new Map<string, Packed>()
  #bySet = new Map<string, number>()

  /** Start over from a full sync's renders. */
  static from(byIntent: ReadonlyMap<string, IntentRender>): ElementLedger {
    const l = new ElementLedger()
    for (const [key, r] of byIntent) {
      const packed = packRender(r)
      l.#byIntent.set(key, packed)
      // the held elements' strings are slices of the packed one, not the render's
      for (const el of unpackRender(packed).elements) {
        if (SHARED.test(el.set)) {
          const id = elementId(el)
          const h = l.#held.get(id)
          if (h) { h.count++; continue }
          l.#held.set(id, { el, count: 1 })
        }
        l.#count(el.set, 1)
      }
    }
    return l
  }

  #count(set: string, by: number): void {
    const n = (this.#bySet.get(set) ?? 0) + by
    if (n === 0) this.#bySet.delete(set)
    else this.#bySet.set(set, n)
  }

  get(key: string): RenderedElements | undefined {
    const p = this.#byIntent.get(key)
    return p === undefined ? undefined : unpackRender(p)
  }

  /** every intent's render, as applied (each unpacked as it is reached) */
  *renders(): IterableIterator<RenderedElements> {
    for (const p of this.#byIntent.values()) yield unpackRender(p)
  }

  /** distinct elements held */
  get size(): number {
    let n = 0
    for (const v of this.#bySet.values()) n += v
    return n
  }

  /** distinct elements by set */
  countsBySet(): Record<string, number> {
    return Object.fromEntries(this.#bySet)
  }

  /**
   * The kernel changes that replace what the given intents hold by their new
   * renders (undefined: the intent is gone). Nothing changes in the ledger until
   * `commit`, so a refused transaction leaves it as the kernel still is.
   */
  replace(changes: ReadonlyMap<string, IntentRender | undefined>): LedgerChange {
    // Work on copies of the touched entries only.
    const touched = new Map<string, { was: NftElement | undefined; now: Held | undefined }>()
    const entry = (id: string) => {
      let t = touched.get(id)
      if (!t) {
        const h = this.#held.get(id)
        touched.set(id, t = { was: h?.el, now: h && { el: h.el, count: h.count } })
      }
      return t
    }
    const add: NftElement[] = []
    const del: NftElement[] = []
    const own = new Map<string, number>()
    const sets = new Set<string>()
    for (const [key, r] of changes) {
      const before = this.get(key)
      for (const el of before?.elements ?? []) {
        sets.add(el.set)
        if (!SHARED.test(el.set)) { own.set(el.set, (own.get(el.set) ?? 0) - 1); continue }
        const t = entry(elementId(el))
        if (t.now && --t.now.count === 0) t.now = undefined
      }
      for (const el of r?.elements ?? []) {
        sets.add(el.set)
        if (!SHARED.test(el.set)) { own.set(el.set, (own.get(el.set) ?? 0) + 1); continue }
        const t = entry(elementId(el))
        if (t.now) t.now.count++
        else t.now = { el, count: 1 }
      }
      const d = diffRenders(before, r)
      for (const el of d.delete) if (!SHARED.test(el.set)) del.push(el)
      for (const el of d.add) if (!SHARED.test(el.set)) add.push(el)
    }
    for (const { was, now } of touched.values()) {
      if (was && (!now || now.el.value !== was.value)) del.push(was)
      if (now && (!was || now.el.value !== was.value)) add.push(now.el)
    }
    let done = false
    const commit = () => {
      if (done) return
      done = true
      for (const [id, { was, now }] of touched) {
        if (now) this.#held.set(id, now)
        else this.#held.delete(id)
        if (!was !== !now) this.#count((now?.el ?? was!).set, now ? 1 : -1)
      }
      for (const [set, by] of own) if (by !== 0) this.#count(set, by)
      for (const [key, r] of changes) {
        if (r) this.#byIntent.set(key, packRender(r))
        else this.#byIntent.delete(key)
      }
    }
    return { add, delete: del, sets, commit }
  }
}
