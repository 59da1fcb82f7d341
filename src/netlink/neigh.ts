// Neighbour (ARP/NDP) and FDB operations: the overlay's per-node programming.
// Flannel's order per remote node is neighbour, then FDB, then onlink route;
// these are the first two. Idempotent like the rest: set replaces, delete of a
// missing entry is false.
import * as C from './constants.ts'
import * as N from './codec-neigh.ts'
import { NetlinkError, NetlinkInputError } from './errors.ts'
import { checkIndex, parseIp, parseMac } from './input.ts'
import type { NlSocket } from './socket.ts'
import type { FdbEntry, Neigh } from './types.ts'
import type { NlWrite } from './writes.ts'

const gone = (e: unknown): boolean => e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'ENODEV')

export interface NeighSpec { index: number; ip: string; mac: string; permanent?: boolean }

/** The write that creates or replaces a neighbour entry; permanent (default) entries never age out. */
export function setNeighWrite(n: NeighSpec): NlWrite {
  const op = 'setNeigh'
  const index = checkIndex(op, 'index', n.index)
  const ip = parseIp(op, 'ip', n.ip)
  const mac = parseMac(op, 'mac', n.mac)
  const state = n.permanent === false ? 0x02 /* NUD_REACHABLE */ : C.NUD_PERMANENT
  return { op, msg: { type: C.RTM_NEWNEIGH, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, payload: N.neighMsg(index, ip, mac, state) }, absentOk: false, what: `${n.ip} lladdr ${n.mac} dev ${index}` }
}

export function delNeighWrite(n: { index: number; ip: string }): NlWrite {
  const op = 'delNeigh'
  const index = checkIndex(op, 'index', n.index)
  const ip = parseIp(op, 'ip', n.ip)
  return { op, msg: { type: C.RTM_DELNEIGH, flags: 0, payload: N.neighMsg(index, ip, undefined, 0) }, absentOk: true, what: `${n.ip} dev ${index}` }
}

const send = (sock: NlSocket, w: NlWrite) => sock.request(w.op, w.msg.type, w.msg.flags, w.msg.payload)

export async function setNeigh(sock: NlSocket, n: NeighSpec): Promise<void> {
  await send(sock, setNeighWrite(n))
}

export async function delNeigh(sock: NlSocket, n: { index: number; ip: string }): Promise<boolean> {
  try {
    await send(sock, delNeighWrite(n))
    return true
  } catch (e) {
    if (gone(e)) return false
    throw e
  }
}

export async function neighs(sock: NlSocket, index?: number, family?: 4 | 6): Promise<Neigh[]> {
  if (index !== undefined) checkIndex('neighs', 'index', index)
  if (family !== undefined && family !== 4 && family !== 6) throw new NetlinkInputError('neighs', 'family', family, 'must be 4 or 6')
  const fam = family === 4 ? C.AF_INET : family === 6 ? C.AF_INET6 : C.AF_UNSPEC
  const msgs = await sock.request('neighs', C.RTM_GETNEIGH, C.NLM_F_DUMP, N.dumpNeigh(fam))
  const out: Neigh[] = []
  for (const m of msgs) {
    const n = N.decodeNeigh(m)
    if (n && (index === undefined || n.index === index)) out.push(n)
  }
  return out
}

export interface FdbSpec { index: number; mac: string; dst?: string }

function fdbArgs(op: string, f: FdbSpec) {
  const index = checkIndex(op, 'index', f.index)
  const mac = parseMac(op, 'mac', f.mac)
  const dst = f.dst === undefined ? undefined : parseIp(op, 'dst', f.dst)
  return N.fdbMsg(index, mac, dst)
}

/**
 * Add an FDB entry beside any others for the same MAC. This is how a vxlan
 * device gets several flood destinations on 00:00:00:00:00:00.
 */
export async function appendFdb(sock: NlSocket, f: FdbSpec): Promise<void> {
  try {
    await sock.request('appendFdb', C.RTM_NEWNEIGH, C.NLM_F_CREATE | C.NLM_F_APPEND, fdbArgs('appendFdb', f))
  } catch (e) {
    if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e
  }
}

const fdbWhat = (f: FdbSpec) => `${f.mac}${f.dst === undefined ? '' : ` dst ${f.dst}`} dev ${f.index}`

/** The write that creates or replaces the FDB entry for a MAC (one destination per MAC): the per-node unicast entry. */
export function setFdbWrite(f: FdbSpec): NlWrite {
  return { op: 'setFdb', msg: { type: C.RTM_NEWNEIGH, flags: C.NLM_F_CREATE | C.NLM_F_REPLACE, payload: fdbArgs('setFdb', f) }, absentOk: false, what: fdbWhat(f) }
}

export function delFdbWrite(f: FdbSpec): NlWrite {
  return { op: 'delFdb', msg: { type: C.RTM_DELNEIGH, flags: 0, payload: fdbArgs('delFdb', f) }, absentOk: true, what: fdbWhat(f) }
}

export async function setFdb(sock: NlSocket, f: FdbSpec): Promise<void> {
  await send(sock, setFdbWrite(f))
}

/**
 * Delete one FDB entry. False when the kernel says there was none; note that a
 * vxlan device reports success for an absent destination of a MAC that still
 * has other destinations.
 */
export async function delFdb(sock: NlSocket, f: FdbSpec): Promise<boolean> {
  try {
    await send(sock, delFdbWrite(f))
    return true
  } catch (e) {
    if (gone(e)) return false
    throw e
  }
}

export async function fdb(sock: NlSocket, index?: number): Promise<FdbEntry[]> {
  if (index !== undefined) checkIndex('fdb', 'index', index)
  const msgs = await sock.request('fdb', C.RTM_GETNEIGH, C.NLM_F_DUMP, N.dumpNeigh(C.AF_BRIDGE))
  const out: FdbEntry[] = []
  for (const m of msgs) {
    const e = N.decodeFdb(m)
    if (e && (index === undefined || e.index === index)) out.push(e)
  }
  return out
}
