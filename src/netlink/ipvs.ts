// Ipvs: IPVS virtual services and real servers over generic netlink, on one socket bound
// to one network namespace, the way Rtnl does rtnetlink: no ipvsadm exec per change. The
// family id is resolved once at open (CTRL_CMD_GETFAMILY "IPVS"). Idempotence as in Rtnl:
// EEXIST on create and "no such service/dest" on delete are success.
import { ipv4Value } from '../net/address.ts'
import { inNetns } from '../netns/index.ts'
import * as C from './constants.ts'
import * as G from './codec-genl.ts'
import * as V from './codec-ipvs.ts'
import { NetlinkError, NetlinkInputError } from './errors.ts'
import { checkU32, parseIp } from './input.ts'
import { NlSocket, type NlMessage } from './socket.ts'
import { WRITES_PER_BATCH } from './writes.ts'

export type { IpvsDest, IpvsForward, IpvsProtocol, IpvsService, IpvsTimeouts } from './codec-ipvs.ts'

/** A virtual service as callers give it. */
export interface ServiceInput {
  protocol: V.IpvsProtocol
  address: string
  port: number
  /** default rr */
  scheduler?: string
  /** seconds of client persistence (sessionAffinity ClientIP); 0 or absent: none */
  persistence?: number
}
export type ServiceRef = Pick<ServiceInput, 'protocol' | 'address' | 'port'>
export interface DestInput {
  address: string
  port: number
  /** default 1; 0 drains: no new connections, existing ones stay */
  weight?: number
  /** default masq (NAT), kube-proxy's only method */
  forward?: V.IpvsForward
}
export type DestRef = Pick<DestInput, 'address' | 'port'>
/** One change in an Ipvs.batch. */
export type IpvsBatchOp =
  | { kind: 'newService' | 'setService'; service: ServiceInput }
  | { kind: 'delService'; service: ServiceRef }
  | { kind: 'newDest' | 'setDest'; service: ServiceRef; dest: DestInput }
  | { kind: 'delDest'; service: ServiceRef; dest: DestRef }

/** The kernel has no IPVS (module not loaded and not loadable): say so, not ENOENT. */
export class IpvsUnavailableError extends NetlinkError {
  constructor(cause: NetlinkError) {
    super('ipvs.open', cause.errno, 'the kernel has no IPVS generic netlink family (is ip_vs loaded? `pontoon vm run` gives a kernel with it)', 'ENOIPVS')
    this.name = 'IpvsUnavailableError'
  }
}

// The kernel's answers for a service or dest that is not there.
const GONE = new Set(['ESRCH', 'ENOENT'])
const SCHEDULER = /^[a-z]{1,15}$/
// below the socket's MAX_BATCH_BYTES (the default send buffer), with room for the kernel's own copy
const BATCH_BYTES = 192 * 1024
/**
 * Messages per quiet batch at most. A batch whose every message fails (a second
 * addMany of the same services: all EEXIST) makes the kernel queue one error
 * message per request, about 1 KiB of receive buffer each; past the buffer's
 * ~208 KiB the kernel drops them (ENOBUFS) and a real error could go unseen.
 */
const BATCH_MESSAGES = WRITES_PER_BATCH

export class Ipvs {
  private constructor(private readonly sock: NlSocket, readonly family: number, readonly nsPath: string | undefined) {}

  static async open(nsPath?: string, opts: { timeoutMs?: number } = {}): Promise<Ipvs> {
    const sock = inNetns(nsPath, () => new NlSocket({ protocol: C.NETLINK_GENERIC, timeoutMs: opts.timeoutMs }))
    try {
      const [reply] = await sock.request('ipvs.open', G.GENL_ID_CTRL, 0, G.getFamily(V.IPVS_GENL_NAME))
      const fam = reply ? G.decodeFamily(reply) : undefined
      if (!fam) throw new NetlinkError('ipvs.open', 71, 'the controller answered without a family id', 'EPROTO')
      return new Ipvs(sock, fam.id, nsPath)
    } catch (e) {
      sock.close()
      if (e instanceof NetlinkError && e.code === 'ENOENT') throw new IpvsUnavailableError(e)
      throw e
    }
  }

  close(): void { this.sock.close() }

  private req(op: string, payload: Buffer[], flags = 0): Promise<Buffer[]> {
    return this.sock.request(op, this.family, flags, payload)
  }

  async services(): Promise<V.IpvsService[]> {
    const msgs = await this.req('ipvs.services', V.getServices(), C.NLM_F_DUMP)
    return msgs.map(V.decodeService).filter((s): s is V.IpvsService => s !== undefined)
  }

  async service(ref: ServiceRef): Promise<V.IpvsService | undefined> {
    try {
      const [m] = await this.req('ipvs.service', V.getService(serviceKey('ipvs.service', ref)))
      return m ? V.decodeService(m) : undefined
    } catch (e) {
      if (e instanceof NetlinkError && GONE.has(e.code)) return undefined
      throw e
    }
  }

  /** Create the service, or bring an existing one to this scheduler and persistence. */
  async putService(s: ServiceInput): Promise<void> {
    const spec = serviceSpec('ipvs.putService', s)
    try {
      await this.req('ipvs.putService', V.newService(spec), C.NLM_F_CREATE | C.NLM_F_EXCL)
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e
      await this.req('ipvs.putService', V.setService(spec))
    }
  }

  async delService(ref: ServiceRef): Promise<void> {
    await this.gone('ipvs.delService', V.delService(serviceKey('ipvs.delService', ref)))
  }

  async dests(ref: ServiceRef): Promise<V.IpvsDest[]> {
    const key = serviceKey('ipvs.dests', ref)
    const msgs = await this.req('ipvs.dests', V.getDests(key), C.NLM_F_DUMP)
    return msgs.map((m) => V.decodeDest(m, key.family)).filter((d): d is V.IpvsDest => d !== undefined)
  }

  /** Add the real server, or set the weight and method of the existing one. */
  async putDest(ref: ServiceRef, d: DestInput): Promise<void> {
    const key = serviceKey('ipvs.putDest', ref)
    const spec = destSpec('ipvs.putDest', d)
    try {
      await this.req('ipvs.putDest', V.newDest(key, spec), C.NLM_F_CREATE | C.NLM_F_EXCL)
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e
      await this.req('ipvs.putDest', V.setDest(key, spec))
    }
  }

  async delDest(ref: ServiceRef, d: DestRef): Promise<void> {
    const op = 'ipvs.delDest'
    const a = addrOf(op, d.address)
    await this.gone(op, V.delDest(serviceKey(op, ref), { family: a.family, addr: a.addr, port: port(op, 'port', d.port) }))
  }

  /**
   * Many creates in one sendmsg per batch of the socket's size (a cold sync of 10,000
   * services is ~10,000 + 100,000 messages). Each result in order: undefined, or the
   * kernel's error for that message (EEXIST counts as done).
   */
  async addMany(items: Array<{ service: ServiceInput; dests?: DestInput[] }>): Promise<Array<NetlinkError | undefined>> {
    const ops: IpvsBatchOp[] = []
    for (const it of items) {
      ops.push({ kind: 'newService', service: it.service })
      for (const d of it.dests ?? []) ops.push({ kind: 'newDest', service: it.service, dest: d })
    }
    return this.batch(ops)
  }

  /**
   * Any mix of service and real-server changes, in order, many per sendmsg: a sync's
   * whole change set without a round trip per object. Every op is checked before the
   * first is sent (bad input changes nothing). Each result in order: undefined, or the
   * kernel's error for that op alone; EEXIST on a create and ESRCH/ENOENT on a delete
   * count as done, as in the single-op methods.
   */
  async batch(ops: readonly IpvsBatchOp[]): Promise<Array<NetlinkError | undefined>> {
    const op = 'ipvs.batch'
    const create = C.NLM_F_CREATE | C.NLM_F_EXCL
    // a service's real servers share its object (addMany, the backend's diff): its key
    // is checked and encoded once, not once per real server
    const keys = new Map<ServiceRef, Buffer>()
    const keyOf = (ref: ServiceRef): Buffer => {
      let k = keys.get(ref)
      if (!k) keys.set(ref, k = V.serviceKeyNest(serviceKey(op, ref)))
      return k
    }
    const msgs: NlMessage[] = ops.map((o) => {
      switch (o.kind) {
        case 'newService': return { type: this.family, flags: create, payload: V.newService(serviceSpec(op, o.service)) }
        case 'setService': return { type: this.family, flags: 0, payload: V.setService(serviceSpec(op, o.service)) }
        case 'delService': return { type: this.family, flags: 0, payload: V.delService(serviceKey(op, o.service)) }
        case 'newDest': return { type: this.family, flags: create, payload: V.newDest(keyOf(o.service), destSpec(op, o.dest)) }
        case 'setDest': return { type: this.family, flags: 0, payload: V.setDest(keyOf(o.service), destSpec(op, o.dest)) }
        case 'delDest': {
          const a = addrOf(op, o.dest.address)
          return { type: this.family, flags: 0, payload: V.delDest(keyOf(o.service), { family: a.family, addr: a.addr, port: port(op, 'port', o.dest.port) }) }
        }
        default: throw new NetlinkInputError(op, 'kind', (o as { kind: unknown }).kind, 'not an IPVS batch operation')
      }
    })
    const out: Array<NetlinkError | undefined> = []
    // Quiet batches (only the last message acked, errors come unasked) of up to
    // BATCH_MESSAGES: the ~110,000 messages of 10,000 Services x 10 endpoints in ~860
    // sends, with no ack per message for the kernel to build and this process to match.
    for (let i = 0; i < msgs.length;) {
      let bytes = 0
      let j = i
      while (j < msgs.length && j - i < BATCH_MESSAGES && bytes + NlSocket.frameBytes(msgs[j]!) <= BATCH_BYTES) bytes += NlSocket.frameBytes(msgs[j++]!)
      if (j === i) j++ // one message larger than a batch: the socket says so
      const results = await this.sock.quietBatch(op, msgs.slice(i, j))
      results.forEach((r, k) => {
        const kind = ops[i + k]!.kind
        const fine = r instanceof NetlinkError && ((kind.startsWith('new') && r.code === 'EEXIST') || (kind.startsWith('del') && GONE.has(r.code)))
        out.push(r instanceof NetlinkError && !fine ? r : undefined)
      })
      i = j
    }
    return out
  }

  /** Remove every virtual service of this namespace (pontoon cleanup's last step). */
  async flush(): Promise<void> {
    await this.req('ipvs.flush', V.flush())
  }

  async timeouts(): Promise<V.IpvsTimeouts> {
    const [m] = await this.req('ipvs.timeouts', V.getConfig())
    if (!m) throw new NetlinkError('ipvs.timeouts', 71, 'no configuration in the reply', 'EPROTO')
    return V.decodeTimeouts(m)
  }

  /** tcp, tcpfin, udp idle timeouts in seconds; 0 leaves one as it is (as ipvsadm --set). */
  async setTimeouts(t: V.IpvsTimeouts): Promise<void> {
    const op = 'ipvs.setTimeouts'
    for (const k of ['tcp', 'tcpFin', 'udp'] as const) checkU32(op, k, t[k], 0, 0x7fffffff)
    await this.req(op, V.setConfig(t))
  }

  private async gone(op: string, payload: Buffer[]): Promise<void> {
    try {
      await this.req(op, payload)
    } catch (e) {
      if (!(e instanceof NetlinkError && GONE.has(e.code))) throw e
    }
  }
}

const port = (op: string, field: string, n: unknown): number => checkU32(op, field, n, 1, 65535)

/** An address checked as parseIp checks it; IPv4 as a number, without the bytes parseIp makes. */
function addrOf(op: string, s: unknown): { family: 4 | 6; addr: Buffer | number } {
  const v4 = typeof s === 'string' ? ipv4Value(s) : undefined
  if (v4 !== undefined) return { family: 4, addr: v4 }
  const a = parseIp(op, 'address', s)
  return { family: a.family, addr: a.bytes }
}

function serviceKey(op: string, s: ServiceRef): V.ServiceKey {
  if (!Object.hasOwn(V.PROTOCOLS, s.protocol)) throw new NetlinkInputError(op, 'protocol', s.protocol, 'must be tcp, udp or sctp')
  const a = addrOf(op, s.address)
  return { family: a.family, addr: a.addr, protocol: s.protocol, port: port(op, 'port', s.port) }
}

function serviceSpec(op: string, s: ServiceInput): V.ServiceSpec {
  const scheduler = s.scheduler ?? 'rr'
  if (!SCHEDULER.test(scheduler)) throw new NetlinkInputError(op, 'scheduler', scheduler, 'not a scheduler name (rr, wrr, lc, sh, mh...)')
  const persistence = checkU32(op, 'persistence', s.persistence ?? 0, 0, 0x7fffffff)
  return { ...serviceKey(op, s), scheduler, flags: persistence > 0 ? V.SVC_F_PERSISTENT : 0, timeout: persistence }
}

function destSpec(op: string, d: DestInput): V.DestSpec {
  const a = addrOf(op, d.address)
  const forward = d.forward ?? 'masq'
  if (!V.FORWARDS.includes(forward)) throw new NetlinkInputError(op, 'forward', forward, `must be one of ${V.FORWARDS.join(', ')}`)
  return {
    family: a.family, addr: a.addr, port: port(op, 'port', d.port), forward,
    weight: checkU32(op, 'weight', d.weight ?? 1, 0, 65535), upperThreshold: 0, lowerThreshold: 0,
  }
}
