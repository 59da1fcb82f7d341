// The bridge plugin's configuration: the reference bridge plugin's keys, validated
// with zod/mini (full zod costs ~40 ms of start-up on the ADD path).
import * as z from 'zod/mini'
import { CniError, ErrCode } from '../errors.ts'
import { describeIssue } from '../../schema/issue.ts'

const ifName = z.string().check(
  z.minLength(1), z.maxLength(15),
  z.refine((s) => !/[/:\s]/.test(s) && s !== '.' && s !== '..', "must be a valid interface name (no '/', ':' or whitespace)"),
)

const schema = z.looseObject({
  bridge: z.optional(ifName),
  isGateway: z.optional(z.boolean()),
  isDefaultGateway: z.optional(z.boolean()),
  forceAddress: z.optional(z.boolean()),
  ipMasq: z.optional(z.boolean()),
  mtu: z.optional(z.int().check(z.minimum(68), z.maximum(65535))),
  hairpinMode: z.optional(z.boolean()),
  promiscMode: z.optional(z.boolean()),
  ipam: z.looseObject({ type: z.string().check(z.minLength(1)) }),
  dns: z.optional(z.looseObject({
    nameservers: z.optional(z.array(z.string())),
    domain: z.optional(z.string()),
    search: z.optional(z.array(z.string())),
    options: z.optional(z.array(z.string())),
  })),
})

export interface BridgeConfig {
  name: string
  cniVersion: string
  bridge: string
  isGateway: boolean
  isDefaultGateway: boolean
  forceAddress: boolean
  ipMasq: boolean
  mtu?: number
  hairpinMode: boolean
  promiscMode: boolean
  ipamType: string
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] }
  prevResult?: unknown
}

export const DEFAULT_BRIDGE = 'cni0'

export function parseBridgeConfig(raw: Record<string, unknown>): BridgeConfig {
  const r = schema.safeParse(raw)
  if (!r.success) {
    throw new CniError(ErrCode.InvalidConfig, describeIssue(r.error.issues[0]!, raw))
  }
  const c = r.data
  const isDefaultGateway = c.isDefaultGateway ?? false
  const out: BridgeConfig = {
    name: String(raw.name),
    cniVersion: String(raw.cniVersion),
    bridge: c.bridge ?? DEFAULT_BRIDGE,
    // A default gateway is a gateway: the reference plugin makes the same inference.
    isGateway: (c.isGateway ?? false) || isDefaultGateway,
    isDefaultGateway,
    forceAddress: c.forceAddress ?? false,
    ipMasq: c.ipMasq ?? false,
    hairpinMode: c.hairpinMode ?? false,
    promiscMode: c.promiscMode ?? false,
    ipamType: c.ipam.type,
  }
  if (c.mtu !== undefined) out.mtu = c.mtu
  if (c.dns) out.dns = c.dns
  if (raw.prevResult !== undefined) out.prevResult = raw.prevResult
  if (out.hairpinMode && out.promiscMode) {
    throw new CniError(ErrCode.InvalidConfig, 'hairpinMode, promiscMode: cannot both be true (a promiscuous bridge already reflects frames)')
  }
  return out
}
