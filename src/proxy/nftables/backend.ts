// The nftables backend: renders intents (render.ts) and applies them through
// one long-lived libnftables context, each sync one transaction. It writes only
// into its own `inet pontoon` table, so other tables survive every sync.
import { ProxyApplyError, type ProxyBackend, type SyncStats } from '../backend.ts'
import type { PlanDelta, ProxyPlan } from '../plan/intent.ts'
import { NftCanary } from './canary.ts'
import { ElementLedger } from './ledger.ts'
import { NftElementWriter } from './element-writer.ts'
import { Nft, NftError } from './libnftables.ts'
import { staleStickyKeys, stickyTargets } from './sticky.ts'
import {
  FAMILY, TABLE, elementCommands, fullScript, objectCommands, renderIntent, renderPlan,
  type IntentRender, type NftObject,
} from './render.ts'

/** The rule whose absence means our table was flushed or deleted by someone else. */
const CANARY_CHAIN = 'nat-prerouting'
const CANARY_JUMP = 'services'
/** on-demand chains: what an earlier run may have left that no intent needs now */
const ON_DEMAND = /^(lb-|sticky-update-)/

export interface NftablesBackendOptions {
  /** the node's network namespace (a /run/netns path); the current one when undefined */
  netns?: string
  /** write elements over nfnetlink where their sets allow (default); false: everything through libnftables */
  netlinkElements?: boolean
}

export class NftablesBackend implements ProxyBackend {
  readonly mode = 'nftables' as const
  readonly #nft: Nft
  /** elements over nfnetlink (element-writer.ts); null: everything through libnftables */
  readonly #elements: NftElementWriter | null
  #ledger = new ElementLedger()
  /** every chain and map the kernel has from us, by name */
  #objects = new Map<string, NftObject>()
  #synced = false
  #firstSync = true
  #chains = 0
  #rules = 0

  readonly #canary: NftCanary
  /** the canary is one filtered rule dump (canary.ts): cheap enough to ask at every sync */
  readonly canaryIntervalMs = 0

  constructor(nft: Nft, canary: NftCanary, elements: NftElementWriter | null = null) {
    this.#nft = nft
    this.#canary = canary
    this.#elements = elements
  }

  static open(o: NftablesBackendOptions = {}): NftablesBackend {
    let nft: Nft | undefined
    let elements: NftElementWriter | undefined
    try {
      nft = Nft.open(o.netns)
      elements = o.netlinkElements === false ? undefined : NftElementWriter.open(TABLE, o.netns)
      return new NftablesBackend(nft, NftCanary.open({ table: TABLE, chain: CANARY_CHAIN, jumpTo: CANARY_JUMP }, o.netns), elements ?? null)
    } catch (e) {
      nft?.close()
      elements?.close()
      throw new ProxyApplyError('nftables', (e as Error).message, { cause: e })
    }
  }



  #run(text: string): string {
    try {
      return this.#nft.run(text)
    } catch (e) {
      if (e instanceof NftError) throw new ProxyApplyError('nftables', e.message, { cause: e })
      throw e
    }
  }

  /** on-demand chains in the kernel left by an earlier run (this process knows its own) */
  #leftovers(): NftObject[] {
    let listing: unknown
    try {
      listing = this.#nft.json(`list chains ${FAMILY}`)
    } catch {
      return []
    }
    const out: NftObject[] = []
    for (const item of (listing as { nftables?: { chain?: { table: string; family: string; name: string } }[] }).nftables ?? []) {
      const c = item.chain
      if (c && c.table === TABLE && c.family === FAMILY && ON_DEMAND.test(c.name)) out.push({ kind: 'chain', name: c.name, spec: '', rules: [] })
    }
    return out
  }

  async syncAll(plan: ProxyPlan): Promise<SyncStats> {
    const r = renderPlan(plan)
    const wanted = new Set(r.objects.map((o) => o.name))
    const exists = this.#elements ? await this.#elements.tableExists() : true
    // (an absent table has nothing left over; the listing costs a full cache fill)
    const known = this.#firstSync ? (exists ? this.#leftovers() : []) : [...this.#objects.values()]
    const stale = known.filter((o) => !wanted.has(o.name))
    // Into a table that is not there yet (a fresh node), the bulk of the elements
    // goes over nfnetlink after the skeleton: nobody is served by the table until
    // then, so two steps cost nothing. Over a table in use, one libnftables
    // transaction replaces it all, so no packet meets a half-written table.
    const split = this.#elements !== null && !exists
    this.#elements?.forget()
    if (split) for (const o of r.objects) this.#elements!.know(o)
    const viaNetlink = (e: { set: string }) => split && this.#elements!.handles(e)
    this.#run(fullScript(r, stale, (e) => !viaNetlink(e)))
    if (split) await this.#elements!.load(r.elements.filter(viaNetlink))
    this.#nft.renew()
    this.#ledger = ElementLedger.from(r.byIntent)
    this.#objects.clear()
    this.#chains = 0
    this.#rules = 0
    for (const o of r.objects) this.#addObject(o)
    this.#synced = true
    this.#firstSync = false
    this.#pruneSticky()
    return this.#stats()
  }

  async syncDelta(plan: ProxyPlan, delta: PlanDelta): Promise<SyncStats> {
    if (!this.#synced) return this.syncAll(plan)
    const changes = new Map<string, IntentRender | undefined>()
    for (const i of delta.removed) changes.set(i.key, undefined)
    for (const i of delta.upserted) changes.set(i.key, renderIntent(i, plan.globals))
    const change = this.#ledger.replace(changes)
    const fresh = new Map<string, NftObject>()
    for (const r of changes.values()) for (const o of r?.objects ?? []) if (!this.#objects.has(o.name)) fresh.set(o.name, o)
    const freshObjects = [...fresh.values()]
    for (const o of freshObjects) this.#elements?.know(o)
    // elements over nfnetlink when every one can go (one transaction, deletes then adds), else all through libnftables
    const w = this.#elements
    const viaNetlink = w !== null && change.delete.every((e) => w.handles(e)) && change.add.every((e) => w.handles(e))
    // new chains first: an element may point at one (on its own, a new chain changes nothing)
    if (viaNetlink && freshObjects.length > 0) this.#run(objectCommands(freshObjects).join('\n') + '\n')
    if (!viaNetlink || !(await w.swap(change.delete, change.add))) {
      const lines = [...(viaNetlink ? [] : objectCommands(freshObjects)), ...elementCommands('delete', change.delete), ...elementCommands('add', change.add)]
      if (lines.length > 0) this.#run(lines.join('\n') + '\n')
    }
    const touchesAffinity = [...change.sets].some((set) => set.startsWith('affinity-'))
    change.commit()
    for (const o of fresh.values()) this.#addObject(o)
    if (touchesAffinity) this.#pruneSticky()
    return this.#stats()
  }

  /**
   * Drop affinity entries whose endpoint is gone, so a client does not stick to a
   * dead endpoint until its timeout. Entries can expire between the listing and
   * the delete; then they go one by one, and a missing one is no error.
   */
  #pruneSticky(): void {
    const maps = [...this.#objects.values()].filter((o) => o.dynamic)
    if (maps.length === 0) return
    const targets = stickyTargets(this.#ledger.renders())
    for (const m of maps) {
      let listing: unknown
      try {
        listing = this.#nft.json(`list map ${FAMILY} ${TABLE} ${m.name}`)
      } catch (e) {
        throw new ProxyApplyError('nftables', `cannot list ${m.name}: ${(e as Error).message}`, { cause: e })
      }
      const stale = staleStickyKeys(listing, m.name, targets)
      if (stale.length === 0) continue
      try {
        this.#run(elementCommands('delete', stale.map((key) => ({ set: m.name, key }))).join('\n'))
      } catch {
        for (const key of stale) {
          try { this.#nft.run(elementCommands('delete', [{ set: m.name, key }])[0]!) } catch { /* expired meanwhile */ }
        }
      }
    }
  }

  async flushed(): Promise<boolean> {
    if (!this.#synced) return false
    try {
      return !(await this.#canary.present())
    } catch (e) {
      throw new ProxyApplyError('nftables', `reading our entry rule back: ${(e as Error).message}`, { cause: e })
    }
  }

  async cleanup(): Promise<void> {
    // `add` first so that the delete succeeds when the table is already absent.
    this.#run(`add table ${FAMILY} ${TABLE}\ndelete table ${FAMILY} ${TABLE}\n`)
    this.#ledger = new ElementLedger()
    this.#objects.clear()
    this.#chains = 0
    this.#rules = 0
    this.#synced = false
  }

  #addObject(o: NftObject): void {
    this.#objects.set(o.name, o)
    this.#elements?.know(o)
    if (o.kind === 'chain') this.#chains++
    this.#rules += o.rules.length
  }

  /** counts kept as the syncs go: a delta's stats cost nothing in the table's size */
  #stats(): SyncStats {
    return { counts: { ...this.#ledger.countsBySet(), elements: this.#ledger.size, chains: this.#chains, rules: this.#rules } }
  }

  close(): void {
    this.#nft.close()
    this.#elements?.close()
    this.#canary.close()
  }
}
