// What the applier believes is in the kernel, element by element, with a count
// of the intents that need each one. Several intents can need the same element
// (a clusterIP shared by a Service's ports, the hairpin pair of a pod behind two
// Services), so an element is deleted only when its last intent lets go, and
// added only when its first one asks. Pure, and every operation costs only the
// elements of the intents it is given: nothing here walks the whole table.
import { elementId, type IntentRender, type NftElement } from './render.ts'

interface Held {
  el: NftElement
  count: number
}

export interface LedgerChange {
  add: NftElement[]
  delete: NftElement[]
  /** make the ledger hold the new renders (call once the kernel accepted the change) */
  commit(): void
}

export class ElementLedger {
  #held = new Map<string, Held>()
  #byIntent = new Map<string, IntentRender>()
  #bySet = new Map<string, number>()

  /** Start over from a full sync's renders. */
  static from(byIntent: ReadonlyMap<string, IntentRender>): ElementLedger {
    const l = new ElementLedger()
    l.replace(byIntent).commit()
    return l
  }

  get(key: string): IntentRender | undefined {
    return this.#byIntent.get(key)
  }

  /** every intent's render, as applied */
  renders(): IterableIterator<IntentRender> {
    return this.#byIntent.values()
  }

  /** distinct elements held */
  get size(): number {
    return this.#held.size
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
    for (const [key, r] of changes) {
      for (const el of this.#byIntent.get(key)?.elements ?? []) {
        const t = entry(elementId(el))
        if (t.now && --t.now.count === 0) t.now = undefined
      }
      for (const el of r?.elements ?? []) {
        const t = entry(elementId(el))
        if (t.now) t.now.count++
        else t.now = { el, count: 1 }
      }
    }
    const add: NftElement[] = []
    const del: NftElement[] = []
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
        if (!was === !now) continue
        const set = (now ?? { el: was! }).el.set
        const n = (this.#bySet.get(set) ?? 0) + (now ? 1 : -1)
        if (n === 0) this.#bySet.delete(set)
        else this.#bySet.set(set, n)
      }
      for (const [key, r] of changes) {
        if (r) this.#byIntent.set(key, r)
        else this.#byIntent.delete(key)
      }
    }
    return { add, delete: del, commit }
  }
}
