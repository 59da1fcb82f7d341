// The iptables+ipset backend: renders with render.ts and sets.ts, applies the
// sets' `ipset restore -exist` text over netlink (Ipset) and the rules with
// `iptables-restore --noflush -w`, the only code in
// this mode that writes to the kernel. It remembers what it applied (the
// globals, which intents hold each clusterIP, running counts) so a delta costs
// only the changed Services.
import type { Family } from '../../net/address.ts'
import { ProxyApplyError, type ProxyBackend, type SyncStats } from '../backend.ts'
import type { PlanDelta, ProxyGlobals, ProxyPlan } from '../plan/intent.ts'
import { observeTable, renderCleanupTable } from './observe.ts'
import { builtinJumps, CANARY, fixedTail, renderFull, renderPartial, type Observed, type Table } from './render.ts'
import { lbSourceElements, renderSetsCleanup, renderSetsFull, renderSetsPartial } from './sets.ts'
import { ipsetNames, ipsetRestore, openIpset, resolveFlavour, restoreEverywhere, Tools, type IptablesBackendOption, type IptablesFlavour } from './tools.ts'
import type { Ipset } from '../../netlink/index.ts'

export interface IptablesBackendOptions {
  /** `--iptables-backend`: nft, legacy, or auto (the flavour the system's `iptables` is); default auto */
  iptablesBackend?: IptablesBackendOption
  /** run the tools inside this network namespace (a lab node, a test); default: the agent's own */
  netnsPath?: string
}

interface Applied {
  globalsKey: string
  globals: ProxyGlobals
  /** per family: clusterIP -> keys of the intents that have it (a Service's ports share one) */
  clusterIPs: Map<Family, Map<string, Set<string>>>
  counts: { natRules: number; filterRules: number; chains: number; lbSourceElements: number }
}

const TABLES: readonly Table[] = ['nat', 'filter', 'mangle']

/** Everything a delta cannot express: a change here needs a full sync. */
function globalsKey(g: ProxyGlobals): string {
  const fams = [...g.families].sort((a, b) => a.family - b.family)
    .map((f) => `${f.family}=${f.clusterCIDRs.join(',')};${f.nodePortAddresses === 'local' ? 'local' : f.nodePortAddresses.join(',')}`)
  return `${g.nodeName}|${g.masqueradeAll}|${fams.join('|')}`
}

/** Split one `iptables-save` dump into its tables. */
function splitSave(save: string): Record<Table, string> {
  const out: Record<Table, string> = { nat: '', filter: '', mangle: '' }
  for (const part of save.split(/^(?=\*)/m)) {
    const name = /^\*(\w+)/.exec(part)?.[1]
    if (name === 'nat' || name === 'filter' || name === 'mangle') out[name] = part
  }
  return out
}

export class IptablesBackend implements ProxyBackend {
  readonly mode = 'iptables' as const
  private tools: Tools | undefined
  private ipset: Ipset | undefined
  private applied: Applied | null = null
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor(private readonly opts: IptablesBackendOptions = {}) {}

  /** The flavour in use (resolved on first use when 'auto'). */
  async flavour(): Promise<IptablesFlavour> {
    return (await this.getTools()).flavour
  }

  private async getTools(): Promise<Tools> {
    this.tools ??= new Tools(await resolveFlavour(this.opts.iptablesBackend ?? 'auto', this.opts.netnsPath), this.opts.netnsPath)
    return this.tools
  }

  private async getIpset(): Promise<Ipset> {
    this.ipset ??= await openIpset('iptables', this.opts.netnsPath)
    return this.ipset
  }

  /** One operation at a time: two restores interleaving would each see the other's half. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProxyApplyError('iptables', 'backend is closed'))
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  syncAll(plan: ProxyPlan): Promise<SyncStats> {
    return this.serial(() => this.full(plan))
  }

  syncDelta(plan: ProxyPlan, delta: PlanDelta): Promise<SyncStats> {
    return this.serial(() => {
      if (this.applied === null || this.applied.globalsKey !== globalsKey(plan.globals)) return this.full(plan)
      return this.partial(plan, delta, this.applied)
    })
  }

  private async full(plan: ProxyPlan): Promise<SyncStats> {
    this.applied = null
    const tools = await this.getTools()
    const observed = new Map<Family, Observed>()
    for (const fg of plan.globals.families) {
      const tables = splitSave(await tools.save(fg.family))
      observed.set(fg.family, { nat: observeTable(tables.nat), filter: observeTable(tables.filter), mangle: observeTable(tables.mangle) })
    }
    // render before writing anything: a bad intent is refused with nothing changed
    const rendered = renderFull(plan, observed)
    const sets = renderSetsFull(plan)
    // sets first: the rules name them
    await ipsetRestore(await this.getIpset(), 'iptables', sets.text)
    for (const r of rendered) await tools.restore(r.family, r.text)

    const clusterIPs = new Map<Family, Map<string, Set<string>>>(plan.globals.families.map((f) => [f.family, new Map()]))
    let lb = 0
    for (const i of plan.intents.values()) {
      const m = clusterIPs.get(i.family)!
      let keys = m.get(i.clusterIP)
      if (!keys) m.set(i.clusterIP, keys = new Set())
      keys.add(i.key)
      lb += lbSourceElements(i).length
    }
    const sum = (k: 'natRules' | 'filterRules' | 'chains') => rendered.reduce((n, r) => n + r.counts[k], 0)
    this.applied = {
      globalsKey: globalsKey(plan.globals),
      globals: plan.globals,
      clusterIPs,
      counts: { natRules: sum('natRules'), filterRules: sum('filterRules'), chains: sum('chains'), lbSourceElements: lb },
    }
    return this.stats(this.applied)
  }

  private async partial(plan: ProxyPlan, delta: PlanDelta, applied: Applied): Promise<SyncStats> {
    const tools = await this.getTools()
    const rendered = renderPartial(plan, delta)
    // the clusterIP owners after the delta, so a Service's last port takes its IP out of the set
    const next = new Map([...applied.clusterIPs].map(([f, m]) => [f, new Map([...m].map(([ip, keys]) => [ip, new Set(keys)]))]))
    for (const i of [...delta.removed, ...delta.previous.values()]) next.get(i.family)?.get(i.clusterIP)?.delete(i.key)
    for (const i of delta.upserted) {
      const m = next.get(i.family)!
      let keys = m.get(i.clusterIP)
      if (!keys) m.set(i.clusterIP, keys = new Set())
      keys.add(i.key)
    }
    const inUse = (f: Family, ip: string) => (next.get(f)?.get(ip)?.size ?? 0) > 0
    const sets = renderSetsPartial(delta, inUse)
    this.applied = null // until the kernel has it all: a failure here means a full resync
    if (sets) await ipsetRestore(await this.getIpset(), 'iptables', sets)
    for (const r of rendered) if (r.text) await tools.restore(r.family, r.text)
    for (const m of next.values()) for (const [ip, keys] of m) if (keys.size === 0) m.delete(ip)
    const c = { ...applied.counts }
    for (const r of rendered) {
      c.natRules += r.delta.natRules
      c.filterRules += r.delta.filterRules
      c.chains += r.delta.chains
    }
    for (const i of [...delta.removed, ...delta.previous.values()]) c.lbSourceElements -= lbSourceElements(i).length
    for (const i of delta.upserted) c.lbSourceElements += lbSourceElements(i).length
    this.applied = { ...applied, globals: plan.globals, clusterIPs: next, counts: c }
    return this.stats(this.applied)
  }

  private stats(a: Applied): SyncStats {
    let ips = 0
    for (const m of a.clusterIPs.values()) ips += m.size
    return { counts: { ...a.counts, clusterIPSetElements: ips } }
  }

  /**
   * kube-proxy's canary (KUBE-PROXY-CANARY in mangle, nat and filter), plus our
   * jumps from the built-in chains and the fixed last rules of our KUBE-SERVICES
   * chains: a flushed table, a flushed KUBE-SERVICES or a deleted jump all show.
   */
  flushed(): Promise<boolean> {
    return this.serial(async () => {
      const a = this.applied
      if (a === null) return true
      const tools = await this.getTools()
      const probes: Array<Promise<boolean>> = []
      for (const fg of a.globals.families) {
        const jumps = builtinJumps()
        const tail = fixedTail(fg)
        for (const t of TABLES) {
          probes.push(tools.check(fg.family, t, CANARY.chain, CANARY.spec))
          for (const r of jumps[t]) probes.push(tools.check(fg.family, t, r.chain, r.spec))
          const last = tail[t].at(-1)
          if (last) probes.push(tools.check(fg.family, t, last.chain, last.spec))
        }
      }
      const present = await Promise.all(probes)
      return present.some((p) => !p)
    })
  }

  /**
   * Everything of ours, in both flavours (an earlier run may have used the
   * other) and both families: our jumps, chains whose rules all carry our mark,
   * our sets. Others' rules and chains are left as they are.
   */
  cleanup(): Promise<void> {
    return this.serial(async () => {
      this.applied = null
      await restoreEverywhere(this.opts.netnsPath, (save) => {
        const tables = splitSave(save)
        return TABLES.map((t) => renderCleanupTable(t, tables[t])).join('')
      })
      const ipset = await this.getIpset()
      const sets = renderSetsCleanup(await ipsetNames(ipset, 'iptables'))
      if (sets) await ipsetRestore(ipset, 'iptables', sets)
    })
  }

  close(): void {
    this.closed = true
    this.ipset?.close()
  }
}
