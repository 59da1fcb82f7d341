// The `ipset restore` text pontoon's renderers write (src/proxy/iptables/sets.ts,
// src/proxy/ipvs/rules.ts), parsed into typed commands, and the order Ipset sends them
// in. Pure. Strict: only the forms those renderers emit; any other line is an error
// naming its number and text, and nothing of the text is applied.
import { NetlinkInputError } from './errors.ts'
import { checkSetName, isSetType, type SetFamily, type SetType } from './codec-ipset.ts'

/** Far above a full sync of 10,000 Services x 10 endpoints in both families. */
export const MAX_LINES = 4_000_000
export const MAX_LINE_BYTES = 512

interface At { line: number; text: string }
export type RestoreCommand = At & (
  | { kind: 'create'; set: string; type: SetType; family: SetFamily; maxelem?: number; range?: readonly [number, number] }
  | { kind: 'flush' | 'destroy'; set: string }
  | { kind: 'add' | 'del'; set: string; element: string }
  | { kind: 'swap'; set: string; set2: string }
)

/** A line the parser refuses: `line` is 1-based, `text` the line as written (bounded). */
export class IpsetRestoreError extends NetlinkInputError {
  constructor(readonly line: number, readonly text: string, why: string) {
    super('ipset.restore', 'line', line, `${JSON.stringify(text.slice(0, 200))}: ${why}`)
    this.name = 'IpsetRestoreError'
  }
}

const NUM = /^[1-9]\d{0,9}$/
const PORT = /^(0|[1-9]\d{0,4})$/

function name(at: At, s: string | undefined): string {
  try {
    return checkSetName('ipset.restore', 'set', s)
  } catch (e) {
    throw new IpsetRestoreError(at.line, at.text, (e as NetlinkInputError).reason)
  }
}

function parseCreate(at: At, w: string[]): RestoreCommand {
  const set = name(at, w[1])
  const type = w[2] ?? ''
  if (!isSetType(type)) throw new IpsetRestoreError(at.line, at.text, `set type ${JSON.stringify(type)} is not one pontoon uses`)
  const opts = w.slice(3)
  if (opts.at(-1) === '-exist') opts.pop()
  if (type === 'bitmap:port') {
    const m = opts.length === 2 && opts[0] === 'range' ? /^(\d+)-(\d+)$/.exec(opts[1]!) : null
    const lo = m && PORT.test(m[1]!) ? Number(m[1]) : NaN
    const hi = m && PORT.test(m[2]!) ? Number(m[2]) : NaN
    if (!(lo <= hi && hi <= 65535)) throw new IpsetRestoreError(at.line, at.text, 'bitmap:port takes exactly "range FROM-TO" (0-65535)')
    return { ...at, kind: 'create', set, type, family: undefined, range: [lo, hi] }
  }
  const family = opts[1] === 'inet' ? 4 : opts[1] === 'inet6' ? 6 : undefined
  if (opts.length !== 4 || opts[0] !== 'family' || family === undefined || opts[2] !== 'maxelem' || !NUM.test(opts[3]!) || Number(opts[3]) > 0x7fffffff) {
    throw new IpsetRestoreError(at.line, at.text, `${type} takes exactly "family inet|inet6 maxelem N" (N 1-2147483647)`)
  }
  return { ...at, kind: 'create', set, type, family, maxelem: Number(opts[3]) }
}

function checkedName(at: At, names: Set<string>, s: string | undefined): string {
  if (s !== undefined && names.has(s)) return s
  const n = name(at, s)
  names.add(n)
  return n
}

function arity(at: At, w: readonly string[], n: number, form: string): void {
  if (w.length !== n) throw new IpsetRestoreError(at.line, at.text, `expected "${form}"`)
}

// Plain objects and no closure per line: a full sync's text is ~40,000 lines at 3,000
// Services, and spreads and per-call closures made parsing it seconds in a slow guest.
function parseLine(at: At, names: Set<string>): RestoreCommand {
  const t = at.text.trim()
  const w = t.includes('\t') || t.includes('  ') ? t.split(/[ \t]+/) : t.split(' ')
  const { line, text } = at
  switch (w[0]) {
    case 'add':
    case 'del':
      if (w[w.length - 1] === '-exist') w.pop()
      arity(at, w, 3, `${w[0]} NAME ELEMENT [-exist]`)
      return { line, text, kind: w[0], set: checkedName(at, names, w[1]), element: w[2]! }
    case 'create': return parseCreate(at, w)
    case 'flush':
    case 'destroy':
      // a bare "flush"/"destroy" would take every set on the node, not only ours
      arity(at, w, 2, `${w[0]} NAME`)
      return { line, text, kind: w[0], set: checkedName(at, names, w[1]) }
    case 'swap':
      arity(at, w, 3, 'swap FROM TO')
      return { line, text, kind: 'swap', set: checkedName(at, names, w[1]), set2: checkedName(at, names, w[2]) }
    default:
      throw new IpsetRestoreError(at.line, at.text, 'not a restore command pontoon writes (create, flush, add, del, swap, destroy)')
  }
}

/** Every line, in order. Blank lines are skipped; they count for the line numbers. */
export function parseRestore(text: string): RestoreCommand[] {
  if (typeof text !== 'string') throw new NetlinkInputError('ipset.restore', 'text', typeof text, 'must be a string')
  const out: RestoreCommand[] = []
  const names = new Set<string>() // checked already
  let start = 0
  for (let n = 1; start < text.length; n++) {
    if (n > MAX_LINES) throw new IpsetRestoreError(n, '', `more than ${MAX_LINES} lines`)
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    const line = text.slice(start, end)
    start = end + 1
    if (line.length > MAX_LINE_BYTES) throw new IpsetRestoreError(n, line, `longer than ${MAX_LINE_BYTES} characters`)
    if (line.trim() === '') continue
    out.push(parseLine({ line: n, text: line }, names))
  }
  return out
}

/**
 * The commands in the order Ipset sends them: phases of three parts. "prepare" (create,
 * flush) and then "fill" (add, del) go out pipelined, many per sendmsg, each part only
 * once the one before succeeded; "commit" (swap, destroy) follows one command at a time.
 * The kernel goes on after a failed message within one sendmsg: pipelined behind a refused
 * create, an add would fill a set of the wrong settings; behind a refused element, a swap
 * would put a half-filled twin live. Hoisting a create or flush before the phase's adds,
 * or holding a swap or destroy back after them, changes nothing while those commands name
 * different sets; a command that names a set the hoisting or holding would reorder it
 * against starts a new phase, so the text's meaning is kept.
 */
export interface Phase { prepare: RestoreCommand[]; fill: RestoreCommand[]; commit: RestoreCommand[] }
export function phases(cmds: readonly RestoreCommand[]): Phase[] {
  const out: Phase[] = []
  let cur: Phase = { prepare: [], fill: [], commit: [] }
  let held = new Set<string>() // named by a commit of this phase
  let filled = new Set<string>() // named by a fill of this phase
  const next = () => {
    out.push(cur)
    cur = { prepare: [], fill: [], commit: [] }
    held = new Set()
    filled = new Set()
  }
  for (const c of cmds) {
    if (c.kind === 'swap' || c.kind === 'destroy') {
      cur.commit.push(c)
      held.add(c.set)
      if (c.kind === 'swap') held.add(c.set2)
    } else if (c.kind === 'create' || c.kind === 'flush') {
      if (held.has(c.set) || filled.has(c.set)) next()
      cur.prepare.push(c)
    } else {
      if (held.has(c.set)) next()
      cur.fill.push(c)
      filled.add(c.set)
    }
  }
  if (cur.prepare.length || cur.fill.length || cur.commit.length) out.push(cur)
  return out
}

export interface KnownSet { type: SetType; family: SetFamily }

/** Sets the text uses before (or without) creating them: their type must come from the kernel. */
export function setsToLookUp(cmds: readonly RestoreCommand[]): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  const see = (n: string, c: RestoreCommand) => {
    if (seen.has(n)) return
    seen.add(n)
    if (c.kind !== 'create') out.push(n)
  }
  for (const c of cmds) {
    see(c.set, c)
    if (c.kind === 'swap') see(c.set2, c)
  }
  return out
}

/**
 * The type and family each add/del's set has at that point of the text, from the kernel's
 * view before it (`before`) and the text's own creates, swaps and destroys. Undefined: the
 * set does not exist there (or is of a type pontoon does not write).
 */
export function setTypesAt(cmds: readonly RestoreCommand[], before: ReadonlyMap<string, KnownSet>): Array<KnownSet | undefined> {
  const now = new Map(before)
  return cmds.map((c) => {
    switch (c.kind) {
      case 'create':
        if (!now.has(c.set)) now.set(c.set, { type: c.type, family: c.family })
        return undefined
      case 'destroy':
        now.delete(c.set)
        return undefined
      case 'swap': {
        const a = now.get(c.set)
        const b = now.get(c.set2)
        if (b) now.set(c.set, b)
        else now.delete(c.set)
        if (a) now.set(c.set2, a)
        else now.delete(c.set2)
        return undefined
      }
      case 'flush': return undefined
      default: return now.get(c.set)
    }
  })
}
