// CHECK: the attachment that prevResult describes must still be there: the pod
// interface with its addresses and routes, the host end on the bridge, the IP.
import { Rtnl, type Route } from '../../netlink/index.ts'
import { CniError, ErrCode } from '../errors.ts'
import { refuseOwnNetns } from '../own-netns.ts'
import { parseResult } from '../result-version.ts'
import type { CniRequest } from '../types.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { hostVethName, vethAlias } from './names.ts'

function fail(msg: string): never {
  throw new CniError(ErrCode.Check, msg)
}

function routeMatches(have: Route, dst: string, gw: string | undefined): boolean {
  return have.dst === dst && (gw === undefined || have.gw === gw)
}

export async function cmdCheck(req: CniRequest): Promise<void> {
  const conf = parseBridgeConfig(req.config)
  if (conf.prevResult === undefined) throw new CniError(ErrCode.InvalidConfig, 'prevResult: required for CHECK but missing')
  const prev = parseResult(conf.prevResult)
  refuseOwnNetns(req.netns)
  await ipamExec(conf.ipamType, 'CHECK', req)

  const host = await Rtnl.open()
  let pod: Rtnl | undefined
  try {
    const br = await host.linkByName(conf.bridge)
    if (!br) fail(`bridge ${conf.bridge} is missing`)
    const vethName = hostVethName(req.containerId, req.ifName)
    const hv = await host.linkByName(vethName)
    if (!hv) fail(`host veth ${vethName} is missing`)
    if (hv.alias !== vethAlias(req.containerId, req.ifName)) fail(`host veth ${vethName} is not this attachment's (alias ${JSON.stringify(hv.alias ?? '')})`)
    if (hv.masterIndex !== br.index) fail(`host veth ${vethName} is not attached to bridge ${conf.bridge}`)

    pod = await Rtnl.open(req.netns)
    const link = await pod.linkByName(req.ifName)
    if (!link) fail(`interface ${req.ifName} is missing in ${req.netns}`)
    if (!link.up) fail(`interface ${req.ifName} in ${req.netns} is down`)
    const podIfIdx = (prev.interfaces ?? []).findIndex((i) => i.name === req.ifName && i.sandbox)
    const addrs = await pod.addrs(link.index)
    for (const ip of prev.ips ?? []) {
      if (ip.interface !== undefined && ip.interface !== podIfIdx) continue
      if (!addrs.some((a) => a.cidr === ip.address)) fail(`address ${ip.address} is missing on ${req.ifName} in ${req.netns}`)
    }
    const routes4 = await pod.routes(4)
    const routes6 = (prev.routes ?? []).some((r) => r.dst.includes(':')) ? await pod.routes(6) : []
    for (const r of prev.routes ?? []) {
      const table = r.dst.includes(':') ? routes6 : routes4
      if (!table.some((h) => routeMatches(h, r.dst, r.gw))) fail(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in ${req.netns}`)
    }
  } finally {
    pod?.close()
    host.close()
  }
}
