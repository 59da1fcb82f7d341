// Rtnl: the rtnetlink operations pontoon needs, on one socket bound to one
// network namespace. Each operation is one request and one ack; reads dump only
// when there is no single-object query. Idempotence rules: EEXIST on create and
// ENOENT-like answers on delete are success; everything else is a NetlinkError.
import { inNetns } from '../netns/index.ts'
import * as C from './constants.ts'
import * as A from './codec-addr.ts'
import * as L from './codec-link.ts'
import * as R from './codec-route.ts'
import { NetlinkError, NetlinkInputError } from './errors.ts'
import { checkIfName, checkIndex, checkU32, formatIp, parseCidr, parseIp, parseMac, type Prefix } from './input.ts'
import * as Nb from './neigh.ts'
import { NlSocket } from './socket.ts'
import type { Addr, FdbEntry, Link, Neigh, Route, VxlanOptions } from './types.ts'
import { writeAll, writeOne, type NlWrite } from './writes.ts'

const NOT_FOUND_LINK = new Set(['ENODEV', 'ENOENT'])

export class Rtnl {
  private constructor(private readonly sock: NlSocket, readonly nsPath: string | undefined) {}

  /**
   * A socket bound to the namespace at nsPath (e.g. /run/netns/x or
   * /proc/<pid>/ns/net), or to the current one. The socket keeps that binding
   * for its whole life, whatever namespace the thread is in later.
   */
  static async open(nsPath?: string, opts: { timeoutMs?: number } = {}): Promise<Rtnl> {
    return new Rtnl(inNetns(nsPath, () => new NlSocket(opts)), nsPath)
  }

  close(): void { this.sock.close() }

  /**
   * Many writes (built with the *Write functions: setNeighWrite, replaceRouteWrite, ...)
   * in batches of one sendmsg each; the result per write, in order: undefined
   * when done, else its error.
   */
  writeAll(writes: readonly NlWrite[]): Promise<Array<NetlinkError | undefined>> { return writeAll(this.sock, writes) }

  /** Dump runs thrown away because the kernel marked them interrupted. */
  get interruptedDumps(): number { return this.sock.interruptedDumps }

  private req(op: string, type: number, flags: number, payload: Buffer[]): Promise<Buffer[]> {
    return this.sock.request(op, type, flags, payload)
  }

  // ---- links ----

  async linkByName(name: string): Promise<Link | undefined> {
    checkIfName('linkByName', 'name', name)
    return this.getLink('linkByName', L.byName(name))
  }

  async linkByIndex(index: number): Promise<Link | undefined> {
    checkIndex('linkByIndex', 'index', index)
    return this.getLink('linkByIndex', L.byIndex(index))
  }

  private async getLink(op: string, payload: Buffer[]): Promise<Link | undefined> {
    try {
      const [msg] = await this.req(op, C.RTM_GETLINK, 0, payload)
      return msg ? L.decodeLink(msg) : undefined
    } catch (e) {
      if (e instanceof NetlinkError && NOT_FOUND_LINK.has(e.code)) return undefined
      throw e
    }
  }

  async links(): Promise<Link[]> {
    const msgs = await this.req('links', C.RTM_GETLINK, C.NLM_F_DUMP, [L.ifinfomsg(C.AF_UNSPEC, 0), L.skipStats()])
    return msgs.map(L.decodeLink)
  }

  /** Create a bridge, or return the existing one of that name. A non-bridge of that name is an error. */
  async addBridge(name: string, opts: { mtu?: number; mac?: string } = {}): Promise<Link> {
    const op = 'addBridge'
    const a = this.commonAttrs(op, name, opts)
    await this.create(op, L.newBridge(a))
    return this.expectKind(op, name, 'bridge')
  }

  /** Create a dummy device (IPVS mode's kube-ipvs0 holds the VIPs), or return the existing one. A non-dummy of that name is an error. */
  async addDummy(name: string, opts: { alias?: string } = {}): Promise<Link> {
    const op = 'addDummy'
    await this.create(op, L.newDummy(this.commonAttrs(op, name, opts)))
    return this.expectKind(op, name, 'dummy')
  }

  /**
   * Create a veth pair: `name` here, `peerName` in the namespace behind peerNsFd
   * (here if omitted). Unlike other creates, EEXIST is an error: either name may be
   * taken, and the caller (which picks names) must choose another.
   */
  async addVeth(name: string, peerName: string, opts: { peerNsFd?: number; mtu?: number; mac?: string; peerMac?: string; alias?: string; peerAlias?: string } = {}): Promise<void> {
    const op = 'addVeth'
    const a = this.commonAttrs(op, name, opts)
    const p = this.commonAttrs(op, peerName, { mtu: opts.mtu, mac: opts.peerMac, alias: opts.peerAlias }, 'peer')
    const nsFd = opts.peerNsFd === undefined ? undefined : checkU32(op, 'peerNsFd', opts.peerNsFd, 0, 0x7fffffff)
    await this.req(op, C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, L.newVeth(a, { ...p, nsFd }))
  }

  async setUp(index: number): Promise<void> { await this.setFlags('setUp', index, C.IFF_UP, C.IFF_UP) }
  async setDown(index: number): Promise<void> { await this.setFlags('setDown', index, 0, C.IFF_UP) }
  async setPromisc(index: number, on: boolean): Promise<void> { await this.setFlags('setPromisc', index, on ? C.IFF_PROMISC : 0, C.IFF_PROMISC) }

  private async setFlags(op: string, index: number, flags: number, change: number): Promise<void> {
    checkIndex(op, 'index', index)
    await this.req(op, C.RTM_NEWLINK, 0, L.setFlags(index, flags, change))
  }

  /** Enslave to a bridge (or other master); masterIndex 0 detaches. */
  async setMaster(index: number, masterIndex: number): Promise<void> {
    checkIndex('setMaster', 'index', index)
    checkU32('setMaster', 'masterIndex', masterIndex, 0, 0x7fffffff)
    await this.req('setMaster', C.RTM_NEWLINK, 0, L.setMaster(index, masterIndex))
  }

  async setMtu(index: number, mtu: number): Promise<void> {
    checkIndex('setMtu', 'index', index)
    checkU32('setMtu', 'mtu', mtu, 68, 65535)
    await this.req('setMtu', C.RTM_NEWLINK, 0, L.setMtu(index, mtu))
  }

  /**
   * Set the hardware address. On a bridge this also pins it: a bridge whose address
   * was never set follows the lowest address among its ports.
   */
  async setMac(index: number, mac: string): Promise<void> {
    checkIndex('setMac', 'index', index)
    await this.req('setMac', C.RTM_NEWLINK, 0, L.setMac(index, parseMac('setMac', 'mac', mac)))
  }

  /** Set IFLA_IFALIAS (at most 255 bytes); '' clears it. */
  async setAlias(index: number, alias: string): Promise<void> {
    checkIndex('setAlias', 'index', index)
    await this.req('setAlias', C.RTM_NEWLINK, 0, L.setAlias(index, checkAlias('setAlias', 'alias', alias)))
  }

  /** Hairpin mode on a bridge port (the link must already have a bridge master). */
  async setHairpin(index: number, on: boolean): Promise<void> {
    checkIndex('setHairpin', 'index', index)
    await this.req('setHairpin', C.RTM_SETLINK, 0, L.setHairpin(index, on))
  }

  /** Delete by name or index. Returns false if there was no such link. */
  async deleteLink(nameOrIndex: string | number): Promise<boolean> {
    const op = 'deleteLink'
    const target = typeof nameOrIndex === 'number' ? { index: checkIndex(op, 'index', nameOrIndex) } : { name: checkIfName(op, 'name', nameOrIndex) }
    try {
      await this.req(op, C.RTM_DELLINK, 0, L.delLink(target))
      return true
    } catch (e) {
      if (e instanceof NetlinkError && NOT_FOUND_LINK.has(e.code)) return false
      throw e
    }
  }

  private commonAttrs(op: string, name: string, o: { mtu?: number | undefined; mac?: string | undefined; alias?: string | undefined }, prefix = ''): L.CommonLinkAttrs {
    const f = (s: string) => (prefix ? prefix + s[0]!.toUpperCase() + s.slice(1) : s)
    const a: L.CommonLinkAttrs = { name: checkIfName(op, f('name'), name) }
    if (o.mtu !== undefined) a.mtu = checkU32(op, f('mtu'), o.mtu, 68, 65535)
    if (o.mac !== undefined) a.mac = parseMac(op, f('mac'), o.mac)
    if (o.alias !== undefined) a.alias = checkAlias(op, f('alias'), o.alias)
    return a
  }

  private async create(op: string, payload: Buffer[]): Promise<void> {
    try {
      await this.req(op, C.RTM_NEWLINK, C.NLM_F_CREATE | C.NLM_F_EXCL, payload)
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e
    }
  }

  private async expectKind(op: string, name: string, kind: string): Promise<Link> {
    const link = await this.linkByName(name)
    if (!link) throw new NetlinkError(op, 19, `${name} vanished right after creation`)
    if (link.kind !== kind) throw new NetlinkError(op, 17, `${name} exists but is ${link.kind ?? 'a device without kind'}, not ${kind}`)
    return link
  }

  /**
   * Create a vxlan device, or return the existing one of that name (compare its
   * `vxlan` info to decide whether it can be adopted). Learning is off by default:
   * the overlay programs neighbours and FDB entries itself.
   */
  async addVxlan(name: string, o: VxlanOptions): Promise<Link> {
    const op = 'addVxlan'
    if (typeof o !== 'object' || o === null) throw new NetlinkInputError(op, 'options', o, 'not an object')
    const a = this.commonAttrs(op, name, o)
    const v: L.VxlanAttrs = {
      vni: checkU32(op, 'vni', o.vni, 0, 0xffffff),
      port: checkU32(op, 'port', o.port ?? 8472, 1, 65535),
      learning: o.learning === true,
    }
    if (o.local !== undefined) v.local = parseIp(op, 'local', o.local).bytes
    if (o.dev !== undefined) v.dev = checkIndex(op, 'dev', o.dev)
    await this.create(op, L.newVxlan(a, v))
    return this.expectKind(op, name, 'vxlan')
  }

  // ---- neighbours and FDB (see neigh.ts) ----

  setNeigh(n: { index: number; ip: string; mac: string; permanent?: boolean }): Promise<void> { return Nb.setNeigh(this.sock, n) }
  delNeigh(n: { index: number; ip: string }): Promise<boolean> { return Nb.delNeigh(this.sock, n) }
  neighs(index?: number, family?: 4 | 6): Promise<Neigh[]> { return Nb.neighs(this.sock, index, family) }
  appendFdb(f: Nb.FdbSpec): Promise<void> { return Nb.appendFdb(this.sock, f) }
  setFdb(f: Nb.FdbSpec): Promise<void> { return Nb.setFdb(this.sock, f) }
  delFdb(f: Nb.FdbSpec): Promise<boolean> { return Nb.delFdb(this.sock, f) }
  fdb(index?: number): Promise<FdbEntry[]> { return Nb.fdb(this.sock, index) }

  // ---- addresses ----

  /** Add an address (CIDR with host bits, e.g. 10.244.1.5/24). Already present is success. */
  async addAddr(index: number, cidr: string, opts: { noDad?: boolean } = {}): Promise<void> {
    await writeOne(this.sock, addAddrWrite(index, cidr, opts))
  }

  /** Delete an address; false when there was none (or no such link). */
  delAddr(index: number, cidr: string): Promise<boolean> {
    return writeOne(this.sock, delAddrWrite(index, cidr))
  }

  /** Addresses, optionally of one link and one family. */
  async addrs(index?: number, family?: 4 | 6): Promise<Addr[]> {
    if (index !== undefined) checkIndex('addrs', 'index', index)
    if (family !== undefined && family !== 4 && family !== 6) throw new NetlinkInputError('addrs', 'family', family, 'must be 4 or 6')
    const msgs = await this.req('addrs', C.RTM_GETADDR, C.NLM_F_DUMP, A.dumpAddrs(family))
    const out: Addr[] = []
    for (const m of msgs) {
      const a = A.decodeAddr(m)
      if (a && (index === undefined || a.index === index) && (family === undefined || a.family === family)) out.push(a)
    }
    return out
  }

  // ---- routes ----

  /**
   * Add a route. An identical one already present is success; a different one
   * to the same destination (another gateway or device, same table and metric)
   * is an EEXIST error naming both, never a silent success.
   */
  async addRoute(r: Route): Promise<void> {
    const spec = routeSpec('addRoute', r)
    if ((await this.createRoute('addRoute', spec)) === 'conflict') {
      const have = await this.findRoute(spec)
      throw new NetlinkError('addRoute', 17, `route to ${fmtDst(spec)} exists ${describe(have)}, wanted ${describe(specAsRoute(spec))}`)
    }
  }

  /**
   * Make the route to r.dst (in its table, with its metric) be exactly r:
   * create it, leave an identical one, or replace a different one.
   */
  async ensureRoute(r: Route): Promise<'created' | 'unchanged' | 'replaced'> {
    const spec = routeSpec('ensureRoute', r)
    const outcome = await this.createRoute('ensureRoute', spec)
    if (outcome !== 'conflict') return outcome
    await this.req('ensureRoute', C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_REPLACE, R.routeMsg(spec, false))
    return 'replaced'
  }

  private async createRoute(op: string, spec: R.RouteSpec): Promise<'created' | 'unchanged' | 'conflict'> {
    try {
      await this.req(op, C.RTM_NEWROUTE, C.NLM_F_CREATE | C.NLM_F_EXCL, R.routeMsg(spec, false))
      return 'created'
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e
    }
    const have = await this.findRoute(spec)
    return have && sameRoute(have, spec) ? 'unchanged' : 'conflict'
  }

  /** The route the kernel has for spec's destination, table and metric. */
  private async findRoute(spec: R.RouteSpec): Promise<Route | undefined> {
    const dst = fmtDst(spec)
    const metric = spec.metric ?? defaultMetric(spec.family)
    return (await this.routes(spec.family, spec.table)).find((h) => h.dst === dst && (h.metric ?? defaultMetric(spec.family)) === metric)
  }

  /** Add or overwrite the route to r.dst (same table, metric and type). */
  async replaceRoute(r: Route): Promise<void> {
    const w = replaceRouteWrite(r)
    await this.req(w.op, w.msg.type, w.msg.flags, w.msg.payload)
  }

  /** Delete a matching route. Returns false if there was none. */
  async delRoute(r: Route): Promise<boolean> {
    const w = delRouteWrite(r)
    try {
      await this.req(w.op, w.msg.type, w.msg.flags, w.msg.payload)
      return true
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT' || e.code === 'ENODEV')) return false
      throw e
    }
  }

  /** Unicast routes of one family in one table (main by default). */
  async routes(family: 4 | 6, table: number = C.RT_TABLE_MAIN): Promise<Route[]> {
    if (family !== 4 && family !== 6) throw new NetlinkInputError('routes', 'family', family, 'must be 4 or 6')
    checkU32('routes', 'table', table, 1)
    const msgs = await this.req('routes', C.RTM_GETROUTE, C.NLM_F_DUMP, R.dumpRoutes(family))
    const out: Route[] = []
    for (const m of msgs) {
      const r = R.decodeRoute(m)
      if (!r || r.cloned || r.type !== C.RTN_UNICAST || r.table !== table) continue
      const { type: _t, cloned: _c, ...route } = r
      out.push(route)
    }
    return out
  }
}

// What the kernel records when a route is added without RTA_PRIORITY.
const defaultMetric = (family: 4 | 6): number => (family === 6 ? 1024 : 0)
const fmtDst = (spec: R.RouteSpec): string => `${formatIp(spec.dst.bytes)}/${spec.dst.len}`

function sameRoute(have: Route, want: R.RouteSpec): boolean {
  const gw = want.gw ? formatIp(want.gw.bytes) : undefined
  return have.gw === gw && (want.index === undefined || have.index === want.index)
}

function specAsRoute(spec: R.RouteSpec): Route {
  const r: Route = { dst: fmtDst(spec) }
  if (spec.gw) r.gw = formatIp(spec.gw.bytes)
  if (spec.index !== undefined) r.index = spec.index
  return r
}

function describe(r: Route | undefined): string {
  if (!r) return '(not found on re-read)'
  return [r.gw ? `via ${r.gw}` : '', r.index !== undefined ? `dev #${r.index}` : ''].filter(Boolean).join(' ') || 'without gateway'
}

function checkAlias(op: string, field: string, s: unknown): string {
  if (typeof s !== 'string' || Buffer.byteLength(s) > 255 || s.includes('\0')) throw new NetlinkInputError(op, field, s, 'not an alias (at most 255 bytes, no NUL)')
  return s
}

const routeWhat = (r: Route) => `${r.dst}${r.gw ? ` via ${r.gw}` : ''}${r.index !== undefined ? ` dev ${r.index}` : ''}`

const ADDR_PRESENT: ReadonlySet<string> = new Set(['EEXIST'])
const ADDR_ABSENT: ReadonlySet<string> = new Set(['EADDRNOTAVAIL'])

/** The write behind addAddr, for writeAll: already present counts as done. */
export function addAddrWrite(index: number, cidr: string, opts: { noDad?: boolean } = {}): NlWrite {
  checkIndex('addAddr', 'index', index)
  const p = parseCidr('addAddr', 'cidr', cidr)
  return { op: 'addAddr', msg: { type: C.RTM_NEWADDR, flags: C.NLM_F_CREATE | C.NLM_F_EXCL, payload: A.newAddr(index, p, opts.noDad === true) }, absentOk: false, doneCodes: ADDR_PRESENT, what: `${cidr} dev ${index}` }
}

/** The write behind delAddr, for writeAll: no such address (or link) counts as done. */
export function delAddrWrite(index: number, cidr: string): NlWrite {
  checkIndex('delAddr', 'index', index)
  const p = parseCidr('delAddr', 'cidr', cidr)
  return { op: 'delAddr', msg: { type: C.RTM_DELADDR, flags: 0, payload: A.delAddr(index, p) }, absentOk: true, doneCodes: ADDR_ABSENT, what: `${cidr} dev ${index}` }
}

/** The write behind replaceRoute, for writeAll. */
export function replaceRouteWrite(r: Route): NlWrite {
  const spec = routeSpec('replaceRoute', r)
  return { op: 'replaceRoute', msg: { type: C.RTM_NEWROUTE, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, payload: R.routeMsg(spec, false) }, absentOk: false, what: routeWhat(r) }
}

/** The write behind delRoute, for writeAll: no such route counts as done. */
export function delRouteWrite(r: Route): NlWrite {
  const spec = routeSpec('delRoute', r)
  return { op: 'delRoute', msg: { type: C.RTM_DELROUTE, flags: 0, payload: R.routeMsg(spec, true) }, absentOk: true, what: routeWhat(r) }
}

function routeSpec(op: string, r: Route): R.RouteSpec {
  if (typeof r !== 'object' || r === null) throw new NetlinkInputError(op, 'route', r, 'not an object')
  const dst = parseCidr(op, 'dst', r.dst)
  if (!isNetwork(dst)) throw new NetlinkInputError(op, 'dst', r.dst, 'has host bits set; use the network address')
  const spec: R.RouteSpec = { family: dst.family, dst, table: C.RT_TABLE_MAIN, onlink: r.onlink === true }
  if (r.gw !== undefined) {
    spec.gw = parseIp(op, 'gw', r.gw)
    if (spec.gw.family !== dst.family) throw new NetlinkInputError(op, 'gw', r.gw, `is IPv${spec.gw.family} but dst is IPv${dst.family}`)
  }
  if (r.index !== undefined) spec.index = checkIndex(op, 'index', r.index)
  if (r.table !== undefined) spec.table = checkU32(op, 'table', r.table, 1)
  if (r.scope !== undefined) spec.scope = checkU32(op, 'scope', r.scope, 0, 255)
  if (r.protocol !== undefined) spec.protocol = checkU32(op, 'protocol', r.protocol, 0, 255)
  if (r.metric !== undefined) spec.metric = checkU32(op, 'metric', r.metric)
  if (!spec.gw && spec.index === undefined) throw new NetlinkInputError(op, 'index', r.index, 'a route needs a gateway or an output interface')
  return spec
}

function isNetwork(p: Prefix): boolean {
  for (let bit = p.len; bit < p.bytes.length * 8; bit++) {
    if (p.bytes[bit >> 3]! & (0x80 >> (bit & 7))) return false
  }
  return true
}
