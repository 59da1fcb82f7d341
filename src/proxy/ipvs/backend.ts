// The IPVS backend (`--proxy-mode ipvs`): plans with desired.ts, diffs with
// diff.ts against what the kernel reports, and is the only code of this mode
// that writes to the kernel: VIPs on the dummy kube-ipvs0 and virtual/real
// servers over netlink from this process (Rtnl, Ipvs.batch: many changes per
// sendmsg, no ipvsadm), sets with `ipset restore` text over netlink (Ipset, no
// ipset exec), the constant rules with
// `iptables-restore --noflush -w`. A sync is one batch per tool in an order
// that never exposes a half state to new connections: VIPs and set members
// first, then the rules, then the virtual servers, and removals of VIPs last.
// IPVS has no transaction; a failed op fails the sync and the next one is a
// full resync against what the kernel then reports.
import { release } from 'node:os'
import { writeSysctl } from '../../netns/index.ts'
import { ProxyApplyError, type ProxyBackend, type SyncStats } from '../backend.ts'
import { assertNotHostNetns } from '../host-netns-guard.ts'
import type { PlanDelta, ProxyGlobals, ProxyPlan } from '../plan/intent.ts'
import type { Family } from '../../net/address.ts'
import { addAddrWrite, delAddrWrite, Ipset, IpsetUnavailableError, Ipvs, IpvsUnavailableError, NetlinkError, Rtnl, type IpvsBatchOp, type IpvsDest, type Link } from '../../netlink/index.ts'
import { ipsetNames, ipsetRestore, openIpset, resolveFlavour, restoreEverywhere, Tools, type IptablesBackendOption } from '../iptables/tools.ts'
import { planAll, planIntent, type IntentState, type IpvsPlanOptions, type IpvsScheduler, type VirtualServer } from './desired.ts'
import { diffServers, isOurServer, observedKey, type IpvsOp, type ObservedServer, type ServerRef } from './diff.ts'
import { connReuseMode, DrainQueue, drainVerdict, type PendingDrain } from './drain.ts'
import { isOurSet, nodePortOfSet, observeBuiltinJumps, renderCleanup, renderRules, renderSetsCleanup, renderSetsDelta, renderSetsFull, tableFlushed, TABLES, type IpvsTable } from './rules.ts'

export const DUMMY = 'kube-ipvs0'
/** a drained real server with connections left is deleted after this anyway */
export const DRAIN_DEADLINE_MS = 15 * 60_000
/** pending deletions beyond this are deleted at once */
export const MAX_DRAINS = 65_536
const DRAIN_CHECK_MS = 1000

export interface IpvsBackendOptions {
  netnsPath?: string
  iptablesBackend?: IptablesBackendOption
  scheduler?: IpvsScheduler
  /** kube-proxy's strictARP: arp_ignore=1, arp_announce=2, so the node does not answer ARP for the VIPs on kube-ipvs0 */
  strictARP?: boolean
  /** seconds; 0 or absent leaves the kernel's value */
  timeouts?: { tcp?: number; tcpFin?: number; udp?: number }
  drainDeadlineMs?: number
  drainCheckMs?: number
}

interface Applied {
  globalsKey: string
  globals: ProxyGlobals
  planOpts: IpvsPlanOptions
  byIntent: Map<string, IntentState>
  servers: Map<string, VirtualServer>
  /** "family ip" -> intents holding it */
  vips: Map<string, number>
  /** "SET element" -> intents holding it */
  members: Map<string, number>
  dummyIndex: number
}

function globalsKey(g: ProxyGlobals): string {
  const fams = [...g.families].sort((a, b) => a.family - b.family)
    .map((f) => `${f.family}=${f.clusterCIDRs.join(',')};${f.nodePortAddresses === 'local' ? 'local' : f.nodePortAddresses.join(',')}`)
  return `${g.nodeName}|${g.masqueradeAll}|${fams.join('|')}`
}

const hostCidr = (ip: string) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)
const famOf = (ip: string): Family => (ip.includes(':') ? 6 : 4)
const bump = (m: Map<string, number>, k: string, by: number) => {
  const n = (m.get(k) ?? 0) + by
  if (n <= 0) m.delete(k)
  else m.set(k, n)
}

/** Throws for a batch of address writes that was not wholly done, naming the first refusal. */
function firstError(results: ReadonlyArray<NetlinkError | undefined>): void {
  const failed = results.filter((e) => e !== undefined)
  if (failed.length > 0) throw new ProxyApplyError('ipvs', `${failed.length} of ${results.length} kube-ipvs0 address changes refused; first: ${failed[0]!.message}`, { cause: failed[0] })
}

function splitSave(save: string): Record<IpvsTable, string> {
  const out: Record<IpvsTable, string> = { nat: '', filter: '' }
  for (const part of save.split(/^(?=\*)/m)) {
    const name = /^\*(\w+)/.exec(part)?.[1]
    if (name === 'nat' || name === 'filter') out[name] = part
  }
  return out
}

function batchOp(o: IpvsOp): IpvsBatchOp {
  switch (o.kind) {
    case 'add-service':
    case 'set-service':
      return { kind: o.kind === 'add-service' ? 'newService' : 'setService', service: { protocol: o.server.protocol, address: o.server.address, port: o.server.port, scheduler: o.server.scheduler, persistence: o.server.persistence } }
    case 'del-service': return { kind: 'delService', service: o.server }
    case 'add-dest': return { kind: 'newDest', service: o.server, dest: { address: o.real.address, port: o.real.port, weight: o.real.weight, forward: 'masq' } }
    case 'set-dest': return { kind: 'setDest', service: o.server, dest: { address: o.real.address, port: o.real.port, weight: o.real.weight, forward: 'masq' } }
    case 'del-dest': return { kind: 'delDest', service: o.server, dest: o.real }
  }
}

export class IpvsBackend implements ProxyBackend {
  readonly mode = 'ipvs' as const
  private tools: Tools | undefined
  private ipvs: Ipvs | undefined
  private ipset: Ipset | undefined
  private rtnl: Rtnl | undefined
  private applied: Applied | null = null
  private tuned = false
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private readonly drains: DrainQueue
  private drainTimer: NodeJS.Timeout | undefined

  constructor(private readonly opts: IpvsBackendOptions = {}) {
    this.drains = new DrainQueue(MAX_DRAINS, opts.drainDeadlineMs ?? DRAIN_DEADLINE_MS)
  }

  /** For the agent: a kernel without IPVS is refused at start (ENOIPVS, naming `pontoon vm run`), not at every sync. */
  static async open(opts: IpvsBackendOptions = {}): Promise<IpvsBackend> {
    const b = new IpvsBackend(opts)
    await b.getIpvs()
    return b
  }

  private async getTools(): Promise<Tools> {
    this.tools ??= new Tools(await resolveFlavour(this.opts.iptablesBackend ?? 'auto', this.opts.netnsPath), this.opts.netnsPath)
    return this.tools
  }

  private async getIpvs(): Promise<Ipvs> {
    this.ipvs ??= await Ipvs.open(this.opts.netnsPath)
    return this.ipvs
  }

  private async getIpset(): Promise<Ipset> {
    this.ipset ??= await openIpset('ipvs', this.opts.netnsPath)
    return this.ipset
  }

  private async getRtnl(): Promise<Rtnl> {
    this.rtnl ??= await Rtnl.open(this.opts.netnsPath)
    return this.rtnl
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ProxyApplyError('ipvs', 'backend is closed'))
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Pending drains (tests, metrics). */
  pendingDrains(): PendingDrain[] {
    return this.drains.entries()
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

  private guard(): void {
    if (this.opts.netnsPath === undefined) assertNotHostNetns('--proxy-mode ipvs')
  }

  /** Once per backend: the sysctls and timeouts kube-proxy's ipvs mode sets. */
  private async tune(ipvs: Ipvs): Promise<void> {
    if (this.tuned) return
    const kv: Record<string, string> = {
      // IPVS's NAT packets go through conntrack, so iptables can masquerade them
      'net.ipv4.vs.conntrack': '1',
      // a packet of a connection whose real server is gone expires it and is scheduled anew (moves UDP flows)
      'net.ipv4.vs.expire_nodest_conn': '1',
      'net.ipv4.vs.expire_quiescent_template': '1',
    }
    const reuse = connReuseMode(release())
    if (reuse !== null) kv['net.ipv4.vs.conn_reuse_mode'] = String(reuse)
    if (this.opts.strictARP) Object.assign(kv, { 'net.ipv4.conf.all.arp_ignore': '1', 'net.ipv4.conf.all.arp_announce': '2' })
    // written in-process, in the node's namespace: a sysctl exec costs a second under a TCG guest
    for (const [k, v] of Object.entries(kv)) {
      try {
        writeSysctl(this.opts.netnsPath, k, v)
      } catch (e) {
        throw new ProxyApplyError('ipvs', `sysctl ${k}=${v}: ${(e as Error).message}`, { cause: e })
      }
    }
    const t = this.opts.timeouts
    if (t && (t.tcp || t.tcpFin || t.udp)) await ipvs.setTimeouts({ tcp: t.tcp ?? 0, tcpFin: t.tcpFin ?? 0, udp: t.udp ?? 0 })
    this.tuned = true
  }

  private async dummy(rtnl: Rtnl): Promise<Link> {
    // kube-proxy keeps it down: its addresses are local all the same, and nothing is ever sent through it
    return rtnl.addDummy(DUMMY)
  }

  private async localAddresses(rtnl: Rtnl, dummyIndex: number): Promise<Record<Family, string[]>> {
    const out: Record<Family, string[]> = { 4: [], 6: [] }
    for (const a of await rtnl.addrs()) {
      if (a.index === dummyIndex) continue
      const ip = a.cidr.split('/')[0]!
      if (ip.startsWith('127.') || ip === '::1' || ip.toLowerCase().startsWith('fe80:')) continue
      out[a.family].push(ip)
    }
    for (const f of [4, 6] as const) out[f] = [...new Set(out[f])].sort()
    return out
  }

  /**
   * Our NodePorts as the kernel's sets record them ("tcp:30080"), for virtual servers a
   * restarted agent must still own: the members of our NODE-PORT sets. `names` when the
   * caller has them already.
   */
  private async savedNodePorts(names?: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    let ipset: Ipset
    try {
      ipset = await this.getIpset()
    } catch (e) {
      if (e instanceof IpsetUnavailableError) return out // no ipset in this kernel: no set of ours either
      throw e
    }
    for (const name of names ?? await ipsetNames(ipset, 'ipvs')) {
      const proto = nodePortOfSet(name)
      if (!proto) continue
      let members: string[]
      try {
        members = await ipset.members(name)
      } catch (e) {
        if (e instanceof NetlinkError && e.code === 'ENOENT') continue // destroyed since the names were read
        throw new ProxyApplyError('ipvs', `ipset list ${name} failed: ${(e as Error).message}`, { cause: e })
      }
      for (const p of members) out.add(`${proto}:${p}`)
    }
    return out
  }

  private async applyOps(ipvs: Ipvs, ops: readonly IpvsOp[]): Promise<void> {
    if (ops.length === 0) return
    const results = await ipvs.batch(ops.map(batchOp))
    const failed = results.map((e, i) => [e, ops[i]!] as const).filter(([e]) => e !== undefined)
    if (failed.length > 0) {
      const [e, o] = failed[0]!
      throw new ProxyApplyError('ipvs', `${failed.length} of ${ops.length} IPVS changes refused; first: ${o.kind} ${observedKey(o.server)}: ${e!.message}`, { cause: e })
    }
  }

  /** Real servers left at weight 0: queued, or deleted now when the queue is full. */
  private async queueDrains(ipvs: Ipvs, diff: { drains: ReturnType<typeof diffServers>['drains']; restored: ReturnType<typeof diffServers>['restored'] }): Promise<void> {
    for (const r of diff.restored) this.drains.forget(r)
    const now = Date.now()
    const overflow: IpvsOp[] = []
    for (const d of diff.drains) if (!this.drains.add(d, now)) overflow.push({ kind: 'del-dest', server: d.server, real: { address: d.address, port: d.port } })
    await this.applyOps(ipvs, overflow)
    this.armDrainTimer()
  }

  private armDrainTimer(): void {
    if (this.drainTimer || this.drains.size === 0 || this.closed) return
    this.drainTimer = setInterval(() => {
      void this.serial(() => this.checkDrains()).catch(() => { /* the next tick retries */ })
    }, this.opts.drainCheckMs ?? DRAIN_CHECK_MS)
    this.drainTimer.unref()
  }

  /** Delete the drained real servers whose connections are gone or whose deadline passed. */
  private async checkDrains(): Promise<void> {
    const ipvs = await this.getIpvs()
    const byServer = new Map<string, { server: ServerRef; entries: PendingDrain[] }>()
    for (const e of this.drains.entries()) {
      const k = observedKey(e.server)
      let g = byServer.get(k)
      if (!g) byServer.set(k, g = { server: e.server, entries: [] })
      g.entries.push(e)
    }
    const now = Date.now()
    const del: IpvsOp[] = []
    for (const g of byServer.values()) {
      let dests: IpvsDest[]
      try {
        dests = await ipvs.dests(g.server)
      } catch (e) {
        if (!(e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT'))) throw e
        dests = []
      }
      const have = new Map(dests.map((d) => [`${d.address}|${d.port}`, d]))
      for (const e of g.entries) {
        const v = drainVerdict(have.get(`${e.address}|${e.port}`), now, e.deadline)
        if (v === 'wait') continue
        if (v === 'delete') del.push({ kind: 'del-dest', server: e.server, real: { address: e.address, port: e.port } })
        this.drains.forget(e)
      }
    }
    await this.applyOps(ipvs, del)
    if (this.drains.size === 0 && this.drainTimer) {
      clearInterval(this.drainTimer)
      this.drainTimer = undefined
    }
  }

  private async full(plan: ProxyPlan): Promise<SyncStats> {
    this.guard()
    this.applied = null
    const [ipvs, rtnl] = [await this.getIpvs(), await this.getRtnl()]
    const families = plan.globals.families.map((f) => f.family)
    // the iptables flavour and each family's iptables-save are execs: they run while this process plans
    const saved = this.getTools().then(async (tools) => ({ tools, saves: await Promise.all(families.map((f) => tools.save(f))) }))
    saved.catch(() => undefined) // awaited below; a failure while planning must not go unhandled
    await this.tune(ipvs)
    const dev = await this.dummy(rtnl)
    const planOpts: IpvsPlanOptions = { scheduler: this.opts.scheduler ?? 'rr', localAddresses: await this.localAddresses(rtnl, dev.index) }
    // plan and render before writing anything: a bad intent is refused with nothing changed
    const desired = planAll(plan, planOpts)
    const setsText = renderSetsFull(desired, families)

    const observedVips = new Set((await rtnl.addrs(dev.index)).map((a) => a.cidr.split('/')[0]!))
    const services = await ipvs.services()
    const allVips = new Set([...observedVips, ...[...desired.vips.values()].flatMap((s) => [...s])])
    const nodePorts = new Set<string>()
    for (const v of desired.servers.values()) if (v.frontend === 'node-port') nodePorts.add(`${v.protocol}:${v.port}`)
    if (services.some((s) => !allVips.has(s.address))) for (const p of await this.savedNodePorts()) nodePorts.add(p)
    const observed = new Map<string, ObservedServer>()
    for (const s of services) {
      if (!isOurServer(s, allVips, nodePorts)) continue
      observed.set(observedKey(s), { service: s, dests: await ipvs.dests(s) })
    }
    const diff = diffServers(desired.servers, observed)

    const jumps = new Map<Family, Record<IpvsTable, string[]>>()
    const { tools, saves } = await saved
    families.forEach((f, i) => {
      const t = splitSave(saves[i]!)
      jumps.set(f, { nat: observeBuiltinJumps(t.nat), filter: observeBuiltinJumps(t.filter) })
    })
    const rules = renderRules(plan.globals, jumps)

    const wantVips = new Set<string>()
    for (const s of desired.vips.values()) for (const ip of s) wantVips.add(ip)
    // one after the other, though neither needs the other: a restore parses and encodes for seconds
    // in a slow guest without yielding, and the address writes' acks, unread meanwhile, passed their deadline
    await this.addAddrs(rtnl, dev.index, [...wantVips].filter((ip) => !observedVips.has(ip)))
    await ipsetRestore(await this.getIpset(), 'ipvs', setsText)
    for (const r of rules) await tools.restore(r.family, r.text)
    await this.applyOps(ipvs, diff.ops)
    await this.queueDrains(ipvs, diff)
    await this.delAddrs(rtnl, dev.index, [...observedVips].filter((ip) => !wantVips.has(ip)))

    const vips = new Map<string, number>()
    const members = new Map<string, number>()
    for (const [k, s] of desired.byIntent) {
      const f = plan.intents.get(k)!.family
      for (const ip of s.vips) bump(vips, `${f} ${ip}`, 1)
      for (const m of s.members) bump(members, m, 1)
    }
    this.applied = { globalsKey: globalsKey(plan.globals), globals: plan.globals, planOpts, byIntent: desired.byIntent, servers: desired.servers, vips, members, dummyIndex: dev.index }
    return this.stats(this.applied, rules.reduce((n, r) => n + r.rules, 0))
  }

  // Batched, acked writes (writes.ts bounds each batch by the receive buffer): 512 single
  // requests in flight overran it in a slow guest, and node-netlink aborted the process.
  private async addAddrs(rtnl: Rtnl, index: number, ips: readonly string[]): Promise<void> {
    firstError(await rtnl.writeAll(ips.map((ip) => addAddrWrite(index, hostCidr(ip), { noDad: ip.includes(':') }))))
  }

  private async delAddrs(rtnl: Rtnl, index: number, ips: readonly string[]): Promise<void> {
    firstError(await rtnl.writeAll(ips.map((ip) => delAddrWrite(index, hostCidr(ip)))))
  }

  private async partial(plan: ProxyPlan, delta: PlanDelta, a: Applied): Promise<SyncStats> {
    this.guard()
    const [ipvs, rtnl] = [await this.getIpvs(), await this.getRtnl()]
    const fgOf = new Map(plan.globals.families.map((f) => [f.family, f]))
    const before: IntentState[] = []
    for (const i of [...delta.removed, ...delta.previous.values()]) {
      const s = a.byIntent.get(i.key)
      if (s) before.push(s)
    }
    const after = new Map<string, IntentState>()
    for (const i of delta.upserted) {
      const fg = fgOf.get(i.family)
      if (!fg) throw new ProxyApplyError('ipvs', `${i.key}: the node runs no IPv${i.family}`)
      after.set(i.key, planIntent(i, fg, a.planOpts))
    }
    const desired = new Map<string, VirtualServer>()
    for (const s of after.values()) for (const v of s.servers) desired.set(v.key, v)
    const scope = new Set([...before.flatMap((s) => s.servers.map((v) => v.key)), ...desired.keys()])
    const observed = new Map<string, ObservedServer>()
    for (const k of scope) {
      const had = a.servers.get(k)
      if (!had) continue
      try {
        const dests = await ipvs.dests(had)
        observed.set(k, { service: { protocol: had.protocol, address: had.address, port: had.port, scheduler: had.scheduler, flags: had.persistence > 0 ? 1 : 0, timeout: had.persistence, netmask: 0 }, dests })
      } catch (e) {
        // gone behind our back: it is simply created again
        if (!(e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT'))) throw e
      }
    }
    const diff = diffServers(desired, observed)

    const vips = new Map(a.vips)
    const members = new Map(a.members)
    for (const s of before) {
      for (const ip of s.vips) bump(vips, `${famOf(ip)} ${ip}`, -1)
      for (const m of s.members) bump(members, m, -1)
    }
    for (const s of after.values()) {
      for (const ip of s.vips) bump(vips, `${famOf(ip)} ${ip}`, 1)
      for (const m of s.members) bump(members, m, 1)
    }
    const changedMembers = new Set([...before.flatMap((s) => s.members), ...[...after.values()].flatMap((s) => s.members)])
    const addM = [...changedMembers].filter((m) => members.has(m))
    const delM = [...changedMembers].filter((m) => !members.has(m))
    const changedVips = new Set([...before.flatMap((s) => s.vips), ...[...after.values()].flatMap((s) => s.vips)])
    const addV = [...changedVips].filter((ip) => vips.has(`${famOf(ip)} ${ip}`))
    const delV = [...changedVips].filter((ip) => !vips.has(`${famOf(ip)} ${ip}`))

    this.applied = null // until the kernel has it all: a failure here means a full resync
    await this.addAddrs(rtnl, a.dummyIndex, addV)
    const sets = renderSetsDelta(delM, addM)
    if (sets) await ipsetRestore(await this.getIpset(), 'ipvs', sets)
    await this.applyOps(ipvs, diff.ops)
    await this.queueDrains(ipvs, diff)
    await this.delAddrs(rtnl, a.dummyIndex, delV)

    const byIntent = new Map(a.byIntent)
    const servers = new Map(a.servers)
    for (const s of before) for (const v of s.servers) servers.delete(v.key)
    for (const i of delta.removed) byIntent.delete(i.key)
    for (const [k, s] of after) {
      byIntent.set(k, s)
      for (const v of s.servers) servers.set(v.key, v)
    }
    this.applied = { ...a, globals: plan.globals, byIntent, servers, vips, members }
    return this.stats(this.applied, null)
  }

  private stats(a: Applied, rules: number | null): SyncStats {
    let reals = 0
    for (const v of a.servers.values()) reals += v.reals.length
    const counts: Record<string, number> = { virtualServers: a.servers.size, realServers: reals, vips: a.vips.size, setMembers: a.members.size, drainingRealServers: this.drains.size }
    if (rules !== null) counts.iptablesRules = rules
    return { counts }
  }

  /** The canary: kube-ipvs0, our jumps and chain tails, our sets. One dump per family and one `ipset list -n`. */
  flushed(): Promise<boolean> {
    return this.serial(async () => {
      const a = this.applied
      if (a === null) return true
      const rtnl = await this.getRtnl()
      if ((await rtnl.linkByName(DUMMY))?.index !== a.dummyIndex) return true
      const tools = await this.getTools()
      for (const fg of a.globals.families) {
        const t = splitSave(await tools.save(fg.family))
        if (TABLES.some((tb) => tableFlushed(tb, t[tb]))) return true
      }
      const names = new Set(await ipsetNames(await this.getIpset(), 'ipvs'))
      const want = new Set([...a.members.keys()].map((m) => m.slice(0, m.indexOf(' '))))
      return [...want].some((n) => !names.has(n))
    })
  }

  /**
   * Everything of ours: our rules in both flavours and families, the virtual
   * servers on kube-ipvs0's addresses or on our NodePorts (others' survive),
   * our sets, kube-ipvs0 itself. Works on a kernel without IPVS (nothing of
   * that kind can be there).
   */
  cleanup(): Promise<void> {
    return this.serial(async () => {
      this.applied = null
      this.drains.clear()
      await restoreEverywhere(this.opts.netnsPath, (save) => {
        const t = splitSave(save)
        return TABLES.map((tb) => renderCleanup(tb, t[tb])).join('')
      })
      const names = await this.ipsetNamesIfAny()
      const nodePorts = names.some(isOurSet) ? await this.savedNodePorts(names) : new Set<string>()
      const rtnl = await this.getRtnl()
      const dev = await rtnl.linkByName(DUMMY)
      const vips = new Set(dev ? (await rtnl.addrs(dev.index)).map((x) => x.cidr.split('/')[0]!) : [])
      let ipvs: Ipvs | undefined
      try {
        ipvs = await this.getIpvs()
      } catch (e) {
        if (!(e instanceof IpvsUnavailableError)) throw e
      }
      if (ipvs) {
        const ours = (await ipvs.services()).filter((s) => isOurServer(s, vips, nodePorts))
        await this.applyOps(ipvs, ours.map((s) => ({ kind: 'del-service', server: s })))
      }
      const sets = renderSetsCleanup(names)
      if (sets) await ipsetRestore(await this.getIpset(), 'ipvs', sets)
      if (dev) await rtnl.deleteLink(DUMMY)
    })
  }

  private async ipsetNamesIfAny(): Promise<string[]> {
    try {
      return await ipsetNames(await this.getIpset(), 'ipvs')
    } catch (e) {
      // no ip_set in this kernel: no set of ours either
      if (e instanceof IpsetUnavailableError) return []
      throw e
    }
  }

  close(): void {
    this.closed = true
    if (this.drainTimer) clearInterval(this.drainTimer)
    this.ipvs?.close()
    this.ipset?.close()
    this.rtnl?.close()
  }
}
