// What the applier believes is in the kernel, element by element, with a count
// of the intents that need each one. Several intents can need the same element
// (a clusterIP shared by a Service's ports, the hairpin pair of a pod behind two
// Services), so an element is deleted only when its last intent lets go, and
// added only when its first one asks. Pure: the backend commits a change to the
// ledger only after the kernel accepted it.
import { elementId, type IntentRender, type NftElement } from './render.ts'

interface Held {
  el: NftElement
  count: number
}

export interface LedgerChange {
  add: NftElement[]
  delete: NftElement[]
}

export class ElementLedger {
  #held = new Map<string, Held>()
  #byIntent = new Map<string, IntentRender>()

  /** Start over from a full sync's renders. */
  static from(byIntent: ReadonlyMap<string, IntentRender>): ElementLedger {
    const l = new ElementLedger()
    for (const [key, r] of byIntent) l.#take(key, r)
    return l
  }

  get(key: string): IntentRender | undefined {
    return this.#byIntent.get(key)
  }

  /** every intent's render, as applied */
  renders(): IterableIterator<IntentRender> {
    return this.#byIntent.values()
  }

  get size(): number {
    return this.#held.size
  }

  /** element counts by set */
  countsBySet(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const h of this.#held.values()) out[h.el.set] = (out[h.el.set] ?? 0) + 1
    return out
  }

  #take(key: string, r: IntentRender): void {
    this.#byIntent.set(key, r)
    for (const el of r.elements) {
      const id = elementId(el)
      const h = this.#held.get(id)
      if (h) h.count++
      else this.#held.set(id, { el, count: 1 })
    }
  }

  #drop(key: string): void {
    const r = this.#byIntent.get(key)
    if (!r) return
    this.#byIntent.delete(key)
    for (const el of r.elements) {
      const id = elementId(el)
      const h = this.#held.get(id)
      if (!h) continue
      if (--h.count === 0) this.#held.delete(id)
    }
  }

  /**
   * The kernel changes that replace what the given intents hold by their new
   * renders (undefined: the intent is gone). Applies them to the ledger too; call
   * it on a copy (`clone`) when the kernel may still refuse.
   */
  replace(changes: ReadonlyMap<string, IntentRender | undefined>): LedgerChange {
    const before = new Map<string, NftElement | undefined>()
    const touch = (r: IntentRender | undefined) => {
      for (const el of r?.elements ?? []) {
        const id = elementId(el)
        if (!before.has(id)) before.set(id, this.#held.get(id)?.el)
      }
    }
    for (const [key, r] of changes) {
      touch(this.#byIntent.get(key))
      touch(r)
    }
    for (const [key, r] of changes) {
      this.#drop(key)
      if (r) this.#take(key, r)
    }
    const out: LedgerChange = { add: [], delete: [] }
    for (const [id, was] of before) {
      const now = this.#held.get(id)?.el
      if (was && (!now || now.value !== was.value)) out.delete.push(was)
      if (now && (!was || now.value !== was.value)) out.add.push(now)
    }
    return out
  }

  clone(): ElementLedger {
    const l = new ElementLedger()
    for (const [id, h] of this.#held) l.#held.set(id, { el: h.el, count: h.count })
    l.#byIntent = new Map(this.#byIntent)
    return l
  }
}
