// The host-local `ipam` section: shape checked with zod/mini (cheap to load on
// the ADD path), then meaning checked here, so that every error names the field
// it is about (ipam.ranges[0][1].rangeStart: ...).
import * as z from 'zod/mini'
import { CniError, ErrCode } from '../cni/errors.ts'
import { fieldPath, valueAt } from '../schema/issue.ts'
import type { CniRoute } from '../cni/types.ts'
import { type Addr, type Family, formatIp, formatCidr, networkOf, tryParseCidr, tryParseIp } from '../net/address.ts'
import {
  HOST_LOCAL, type RangeSet, type RawRange, canonicalizeRange, isReservedInRange, rangeFor, rangeString, rangesOverlap,
} from './range.ts'

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks'

export interface RequestedIp {
  addr: Addr
  /** where it came from, for error messages: "CNI_ARGS IP", "args.cni.ips[0]", "runtimeConfig.ips[1]" */
  source: string
  /** the range set it falls in */
  rangeSet: number
}

export interface IpamConfig {
  /** the network name: the data dir's sub-directory */
  name: string
  cniVersion: string
  /** in host-local's order: runtimeConfig.ipRanges, the legacy top-level range, ipam.ranges */
  ranges: RangeSet[]
  routes: CniRoute[]
  dataDir: string
  resolvConf?: string
  requested: RequestedIp[]
}

const opt = <T extends z.core.SomeType>(t: T) => z.optional(t)
const RangeSchema = z.object({
  subnet: z.string(),
  rangeStart: opt(z.string()),
  rangeEnd: opt(z.string()),
  gateway: opt(z.string()),
})
const RangeSetsSchema = z.array(z.array(RangeSchema))
const NetSchema = z.object({
  name: z.string(),
  cniVersion: opt(z.string()),
  ipam: z.object({
    type: opt(z.string()),
    subnet: opt(z.string()),
    rangeStart: opt(z.string()),
    rangeEnd: opt(z.string()),
    gateway: opt(z.string()),
    ranges: opt(RangeSetsSchema),
    routes: opt(z.array(z.object({ dst: z.string(), gw: opt(z.string()) }))),
    dataDir: opt(z.string()),
    resolvConf: opt(z.string()),
  }),
  args: opt(z.object({ cni: opt(z.object({ ips: opt(z.array(z.string())) })) })),
  runtimeConfig: opt(z.object({ ips: opt(z.array(z.string())), ipRanges: opt(RangeSetsSchema) })),
})

function invalid(path: string, msg: string): CniError {
  return new CniError(ErrCode.InvalidConfig, `${path}: ${msg}`)
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

function shapeError(config: unknown, issue: z.core.$ZodIssue): CniError {
  const got = valueAt(config, issue.path)
  if (issue.code === 'invalid_type') {
    return invalid(fieldPath('', issue.path), got === undefined ? `required (${issue.expected})` : `expected ${issue.expected}, got ${typeName(got)}`)
  }
  return invalid(fieldPath('', issue.path), issue.message)
}

// The CNI spec's rule for network names; it also keeps the name a single, safe path component.
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** A requested IP may be written bare or in CIDR form (host-local's ip.IP accepts both). */
function parseRequested(s: string, source: string): Addr {
  const t = s.trim()
  const a = t.includes('/') ? tryParseCidr(t, HOST_LOCAL)?.addr : tryParseIp(t, HOST_LOCAL)
  if (!a) throw invalid(source, `"${s}" is not an IP address`)
  return a
}

function collectRequested(net: Net, args: Record<string, string>): { addr: Addr; source: string }[] {
  const out: { addr: Addr; source: string }[] = []
  const add = (s: string, source: string) => out.push({ addr: parseRequested(s, source), source })
  const envIp = args.IP
  if (envIp !== undefined && envIp !== '') {
    const all = envIp.split(',')
    all.forEach((s, i) => add(s, all.length > 1 ? `CNI_ARGS IP[${i}]` : 'CNI_ARGS IP'))
  }
  net.args?.cni?.ips?.forEach((s, i) => add(s, `args.cni.ips[${i}]`))
  net.runtimeConfig?.ips?.forEach((s, i) => add(s, `runtimeConfig.ips[${i}]`))
  return out
}

function parseRoute(r: { dst: string; gw?: string | undefined }, path: string): CniRoute {
  const dst = tryParseCidr(r.dst, HOST_LOCAL)
  if (!dst) throw invalid(`${path}.dst`, `"${r.dst}" is not a CIDR`)
  const out: CniRoute = { dst: formatCidr({ addr: networkOf(dst), prefix: dst.prefix }) }
  if (r.gw !== undefined) {
    const gw = tryParseIp(r.gw, HOST_LOCAL)
    if (!gw) throw invalid(`${path}.gw`, `"${r.gw}" is not an IP address`)
    if (gw.family !== dst.addr.family) throw invalid(`${path}.gw`, `${formatIp(gw)} is not the same address family as dst ${r.dst}`)
    out.gw = formatIp(gw)
  }
  return out
}

interface LabelledSet { path: string; raw: RawRange[]; legacy?: boolean }

function canonicalizeSet({ path, raw, legacy }: LabelledSet): RangeSet {
  if (raw.length === 0) throw invalid(path, 'empty range set')
  const set = raw.map((r, i) => canonicalizeRange(r, legacy ? path : `${path}[${i}]`))
  const family: Family = set[0]!.subnet.addr.family
  set.forEach((r, i) => {
    if (r.subnet.addr.family !== family) throw invalid(`${path}[${i}].subnet`, `IPv${r.subnet.addr.family} range in an IPv${family} range set (mixed address families)`)
    for (let j = 0; j < i; j++) {
      if (rangesOverlap(set[j]!, r)) throw invalid(`${path}[${i}]`, `range ${rangeString(r)} overlaps ${path}[${j}] (${rangeString(set[j]!)})`)
    }
  })
  return set
}

type Net = z.infer<typeof NetSchema>

/** The range sets in host-local's order, each labelled with the path errors should name. */
function labelledSets(net: Net): LabelledSet[] {
  const ipam = net.ipam
  const sets: LabelledSet[] = []
  net.runtimeConfig?.ipRanges?.forEach((raw, i) => sets.push({ path: `runtimeConfig.ipRanges[${i}]`, raw }))
  const legacy = { rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }
  if (ipam.subnet !== undefined) sets.push({ path: 'ipam', raw: [{ subnet: ipam.subnet, ...legacy }], legacy: true })
  else if (legacy.rangeStart ?? legacy.rangeEnd ?? legacy.gateway) {
    throw invalid('ipam.subnet', 'required when ipam.rangeStart, ipam.rangeEnd or ipam.gateway is set')
  }
  ipam.ranges?.forEach((raw, i) => sets.push({ path: `ipam.ranges[${i}]`, raw }))
  if (sets.length === 0) throw invalid('ipam.ranges', 'no IP ranges specified (set ipam.ranges or ipam.subnet)')
  return sets
}

function checkAcrossSets(sets: LabelledSet[], ranges: RangeSet[], cniVersion: string): void {
  const perFamily = { 4: 0, 6: 0 }
  for (const s of ranges) perFamily[s[0]!.subnet.addr.family]++
  if ((perFamily[4] > 1 || perFamily[6] > 1) && /^0\.[12]\./.test(cniVersion)) {
    throw invalid('cniVersion', `${cniVersion} does not support more than one address per family`)
  }
  for (let i = 1; i < ranges.length; i++) {
    for (let j = 0; j < i; j++) {
      for (const a of ranges[i]!) for (const b of ranges[j]!) {
        if (rangesOverlap(a, b)) throw invalid(sets[i]!.path, `range ${rangeString(a)} overlaps range set ${sets[j]!.path} (${rangeString(b)})`)
      }
    }
  }
}

/** Place each requested IP in its range set: at most one per set, never a gateway, network or broadcast address. */
function placeRequested(wanted: { addr: Addr; source: string }[], sets: LabelledSet[], ranges: RangeSet[]): RequestedIp[] {
  const requested: RequestedIp[] = []
  for (const { addr, source } of wanted) {
    if (requested.some((r) => r.addr.family === addr.family && r.addr.n === addr.n)) continue
    const idx = ranges.findIndex((s) => rangeFor(s, addr) !== undefined)
    if (idx < 0) throw invalid(source, `requested IP ${formatIp(addr)} is not in any configured range`)
    const r = rangeFor(ranges[idx]!, addr)!
    if (isReservedInRange(r, addr)) {
      throw invalid(source, `requested IP ${formatIp(addr)} is the gateway, network or broadcast address of ${formatCidr(r.subnet)}`)
    }
    const clash = requested.find((q) => q.rangeSet === idx)
    if (clash) {
      throw invalid(source, `requested IP ${formatIp(addr)} and ${formatIp(clash.addr)} (${clash.source}) are both in range set ${sets[idx]!.path}; one address per range set`)
    }
    requested.push({ addr, source, rangeSet: idx })
  }
  return requested
}

/**
 * Parse and validate the IPAM part of a network config, with requested IPs from
 * CNI_ARGS. Commands other than ADD pass `requested: false`: a stale requested IP
 * must not stop a DEL from releasing.
 */
export function parseIpamConfig(config: Record<string, unknown>, args: Record<string, string> = {}, opts: { requested?: boolean } = {}): IpamConfig {
  if (config.ipam === undefined) throw invalid('ipam', 'missing: the network config has no "ipam" section')
  const parsed = NetSchema.safeParse(config)
  if (!parsed.success) throw shapeError(config, parsed.error.issues[0]!)
  const net = parsed.data
  const ipam = net.ipam
  if (!NAME_RE.test(net.name)) throw invalid('name', `"${net.name}" is not a valid network name (letters, digits, _ . - ; starting with a letter or digit)`)
  const dataDir = ipam.dataDir ?? DEFAULT_DATA_DIR
  if (!dataDir.startsWith('/')) throw invalid('ipam.dataDir', `"${dataDir}" is not an absolute path`)
  if (ipam.resolvConf === '') throw invalid('ipam.resolvConf', 'empty path')

  const sets = labelledSets(net)
  const ranges = sets.map(canonicalizeSet)
  const cniVersion = net.cniVersion ?? '0.2.0'
  checkAcrossSets(sets, ranges, cniVersion)
  const requested = opts.requested === false ? [] : placeRequested(collectRequested(net, args), sets, ranges)
  const routes = (ipam.routes ?? []).map((r, i) => parseRoute(r, `ipam.routes[${i}]`))
  const out: IpamConfig = { name: net.name, cniVersion, ranges, routes, dataDir, requested }
  if (ipam.resolvConf !== undefined) out.resolvConf = ipam.resolvConf
  return out
}
