// The userspace backend (`--proxy-mode userspace`): per intent, proxy sockets
// in the agent's own network namespace (tcp-portal.ts, udp-portal.ts), and
// iptables nat rules (rules.ts) that REDIRECT the Service's frontends to them,
// applied with `iptables-restore --noflush -w` through the iptables mode's
// tools. Sockets open before the rules that lead to them and close after the
// rules are gone, so no redirected packet finds a closed port. Endpoint
// changes only swap the intent the sockets read: listeners stay.
import type { Family } from '../../net/address.ts'
import { ProxyApplyError, type ProxyBackend, type SyncStats } from '../backend.ts'
import type { FamilyGlobals, PlanDelta, PortIntent, ProxyPlan } from '../plan/intent.ts'
import { externallyAccessible } from '../plan/route.ts'
import { resolveFlavour, restoreEverywhere, Tools, type IptablesBackendOption } from '../iptables/tools.ts'
import { decide, type TrafficKind } from './decide.ts'
import { DEFAULT_LIMITS, type Decide, type Portal, type PortalLimits } from './portal.ts'
import { assertNotHostNetns } from '../host-netns-guard.ts'
import { ruleLine } from '../iptables/render.ts'
import { builtinJumps, chainTail, FILTER_CHAINS, NAT_CHAINS, observeBuiltinJumps, proxiedPlan, renderAll, renderCleanup, type ProxyPorts, type UserspaceTable } from './rules.ts'
import { TcpPortal } from './tcp-portal.ts'
import { UdpPortal } from './udp-portal.ts'

export interface UserspaceBackendOptions {
  iptablesBackend?: IptablesBackendOption
  /** cleanup only: the rules of another namespace; the proxy sockets are always the agent's own */
  netnsPath?: string
  limits?: Partial<PortalLimits>
}

interface Entry {
  /** read by the sockets at every new client: replaced on every change */
  intent: PortIntent
  fg: FamilyGlobals
  internal: Portal
  external: Portal | null
}

const TABLES: readonly UserspaceTable[] = ['nat', 'filter']

function splitSave(save: string): Record<UserspaceTable, string> {
  const out: Record<UserspaceTable, string> = { nat: '', filter: '' }
  for (const part of save.split(/^(?=\*)/m)) {
    const name = /^\*(\w+)/.exec(part)?.[1]
    if (name === 'nat' || name === 'filter') out[name] = part
  }
  return out
}

export class UserspaceBackend implements ProxyBackend {
  readonly mode = 'userspace' as const
  private tools: Tools | undefined
  private readonly entries = new Map<string, Entry>()
  private families: readonly FamilyGlobals[] = []
  private masqueradeAll = false
  private synced = false
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private readonly limits: PortalLimits

  constructor(private readonly opts: UserspaceBackendOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits }
  }

  private async getTools(): Promise<Tools> {
    this.tools ??= new Tools(await resolveFlavour(this.opts.iptablesBackend ?? 'auto', this.opts.netnsPath), this.opts.netnsPath)
    return this.tools
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProxyApplyError('userspace', 'backend is closed'))
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  /** The local proxy port of each intent (tests, the tracer's readers). */
  ports(): Map<string, ProxyPorts> {
    return new Map([...this.entries].map(([k, e]) => [k, { internal: e.internal.port, external: e.external?.port ?? null }]))
  }

  syncAll(plan: ProxyPlan): Promise<SyncStats> {
    return this.serial(() => this.apply(plan, [...plan.intents.values()], true))
  }

  syncDelta(plan: ProxyPlan, delta: PlanDelta): Promise<SyncStats> {
    // after a failure, or before the first full sync, a delta is not enough
    return this.serial(() => (this.synced ? this.apply(plan, delta.upserted, false) : this.apply(plan, [...plan.intents.values()], true)))
  }

  private decider(entry: Entry, kind: TrafficKind): Decide {
    return (clientIP) => decide(entry.intent, kind, entry.fg, this.masqueradeAll, clientIP)
  }

  private async openPortal(entry: Entry, kind: TrafficKind): Promise<Portal> {
    const d = this.decider(entry, kind)
    return entry.intent.protocol === 'tcp' ? TcpPortal.open(entry.intent.family, d, this.limits) : UdpPortal.open(entry.intent.family, d, this.limits)
  }

  /**
   * Make sockets and rules match the plan. `changed` are the intents whose
   * sockets may need opening or whose endpoints changed; intents no longer in
   * the plan lose their sockets after the rules that led to them are gone.
   */
  private async apply(whole: ProxyPlan, changed: readonly PortIntent[], relink: boolean): Promise<SyncStats> {
    if (this.opts.netnsPath !== undefined) {
      throw new ProxyApplyError('userspace', 'the userspace proxy opens its sockets in its own network namespace: run the agent inside the node namespace instead of passing one')
    }
    // also here, not only in openBackend: this backend opens sockets and writes rules wherever it runs
    assertNotHostNetns('--proxy-mode userspace')
    const { plan, skipped } = proxiedPlan(whole)
    changed = changed.filter((i) => plan.intents.has(i.key))
    const tools = await this.getTools()
    this.synced = false
    this.masqueradeAll = plan.globals.masqueradeAll
    this.families = plan.globals.families
    const fgOf = new Map<Family, FamilyGlobals>(plan.globals.families.map((f) => [f.family, f]))
    const retire: Portal[] = []
    for (const i of changed) {
      const fg = fgOf.get(i.family)
      if (!fg) throw new ProxyApplyError('userspace', `${i.key}: no globals for IP family ${i.family}`)
      let e = this.entries.get(i.key)
      if (e && e.intent.protocol !== i.protocol) {
        retire.push(e.internal, ...(e.external ? [e.external] : []))
        this.entries.delete(i.key)
        e = undefined
      }
      if (!e) {
        const fresh: Entry = { intent: i, fg, internal: undefined as unknown as Portal, external: null }
        fresh.internal = await this.openPortal(fresh, 'internal')
        this.entries.set(i.key, fresh)
        e = fresh
      }
      e.intent = i
      e.fg = fg
      if (externallyAccessible(i) && !e.external) e.external = await this.openPortal(e, 'external')
      if (!externallyAccessible(i) && e.external) {
        retire.push(e.external)
        e.external = null
      }
      const all = [...i.clusterEndpoints, ...i.localEndpoints]
      e.internal.retain(all)
      e.external?.retain(all)
    }
    // globals may have changed: every entry reads the current ones
    for (const e of this.entries.values()) e.fg = fgOf.get(e.intent.family) ?? e.fg
    const gone = [...this.entries.keys()].filter((k) => !plan.intents.has(k))
    for (const k of gone) {
      const e = this.entries.get(k)!
      retire.push(e.internal, ...(e.external ? [e.external] : []))
      this.entries.delete(k)
    }

    const observed = relink ? new Map<Family, Record<UserspaceTable, string[]>>() : null
    if (observed) {
      for (const fg of plan.globals.families) {
        const t = splitSave(await tools.save(fg.family))
        observed.set(fg.family, { nat: observeBuiltinJumps(t.nat), filter: observeBuiltinJumps(t.filter) })
      }
    }
    let rendered
    try {
      rendered = renderAll(plan, this.ports(), observed)
      for (const r of rendered) await tools.restore(r.family, r.text)
    } finally {
      // after a failure too: these left the plan, and the next full sync rewrites whatever rules still name them
      for (const p of retire) p.close()
    }
    this.synced = true
    let listeners = 0
    for (const e of this.entries.values()) listeners += e.external ? 2 : 1
    return { counts: { natRules: rendered.reduce((n, r) => n + r.rules, 0), listeners, sctpSkipped: skipped.length } }
  }

  /**
   * Our jumps from the built-in chains, and the last rule of each of our
   * chains: a flush of either shows. One iptables-save per family, not one
   * `iptables -C` per rule: a busy node runs two processes, not eighteen.
   */
  flushed(): Promise<boolean> {
    return this.serial(async () => {
      if (!this.synced) return true
      const tools = await this.getTools()
      const jumps = builtinJumps()
      for (const fg of this.families) {
        const tables = splitSave(await tools.save(fg.family))
        for (const t of TABLES) {
          const have = new Set(tables[t].split('\n'))
          const want = [...jumps[t], ...(t === 'nat' ? NAT_CHAINS : FILTER_CHAINS).map(chainTail)]
          if (want.some((r) => !have.has(ruleLine('-A', r)))) return true
        }
      }
      return false
    })
  }

  /** Our rules and chains in both flavours and families, then our sockets. */
  cleanup(): Promise<void> {
    return this.serial(async () => {
      this.synced = false
      await restoreEverywhere(this.opts.netnsPath, (save) => {
        const tables = splitSave(save)
        return TABLES.map((t) => renderCleanup(t, tables[t])).join('')
      })
      this.closeSockets()
    })
  }

  private closeSockets(): void {
    for (const e of this.entries.values()) {
      e.internal.close()
      e.external?.close()
    }
    this.entries.clear()
  }

  close(): void {
    this.closed = true
    this.closeSockets()
  }
}
