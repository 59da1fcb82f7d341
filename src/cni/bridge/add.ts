// ADD: parse, plan, apply with an undo stack, report. Any failure unwinds what
// this ADD did (IPAM reservation, veth, masquerade) before the error is returned.
import { closeSync } from 'node:fs'
import { Rtnl } from '../../netlink/index.ts'
import { openNetnsFd } from '../../netns/index.ts'
import { asCniError, CniError, ErrCode } from '../errors.ts'
import { failpoint } from '../failpoint.ts'
import { refuseOwnNetns } from '../own-netns.ts'
import { parseResult } from '../result-version.ts'
import type { CniRequest, CniResult } from '../types.ts'
import { Undo } from '../undo.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { configurePod, ensureBridge, ensureForwarding, ensureGateways, plumbVeth } from './kernel.ts'
import { addMasq, removeMasq } from './masq.ts'
import { planAttachment } from './plan.ts'
import { buildResult } from './result.ts'

function openPodNs(path: string): number {
  try {
    return openNetnsFd(path)
  } catch (e) {
    throw new CniError(ErrCode.UnknownContainer, `CNI_NETNS: cannot open ${path}: ${(e as Error).message}`)
  }
}

export async function cmdAdd(req: CniRequest): Promise<CniResult> {
  const conf = parseBridgeConfig(req.config)
  const prev = conf.prevResult !== undefined ? parseResult(conf.prevResult) : undefined
  refuseOwnNetns(req.netns)
  const podFd = openPodNs(req.netns)
  const undo = new Undo()
  // Nothing may leak on failure: the resident server runs thousands of these in one process.
  let host: Rtnl | undefined, pod: Rtnl | undefined
  try {
    host = await Rtnl.open()
    pod = await Rtnl.open(req.netns)
    // Registered first: an IPAM ADD that reserved an address and then failed, or
    // whose result does not decode, must still have its address released.
    undo.push('release IP', () => ipamExec(conf.ipamType, 'DEL', req))
    const ipam = (await ipamExec(conf.ipamType, 'ADD', req))!
    failpoint('ipam')
    const plan = planAttachment(conf, req, ipam)

    const br = await ensureBridge(host, plan.bridge)
    const { hostLink, podLink } = await plumbVeth(host, pod, podFd, br, plan, undo)
    failpoint('veth')
    await configurePod(pod, podLink, plan.pod)
    failpoint('pod')
    await ensureGateways(host, br, plan.bridge)
    failpoint('gateway')
    ensureForwarding(plan.ipForward)
    if (plan.masq) {
      const { tag, rules } = plan.masq
      undo.push('remove masquerade', () => removeMasq(tag))
      addMasq(tag, rules)
      failpoint('masq')
    }
    const bridge = (await host.linkByIndex(br.index)) ?? br
    failpoint('result')
    undo.commit()
    return buildResult(plan, { bridge: bridge.mac, host: hostLink.mac, pod: podLink.mac }, ipam, conf.dns, prev)
  } catch (err) {
    const failed = await undo.unwind()
    const e = asCniError(err, ErrCode.Netlink)
    if (failed.length) throw new CniError(e.code, e.message, `rollback incomplete: ${failed.join('; ')}`, { cause: err })
    throw e
  } finally {
    pod?.close()
    host?.close()
    closeSync(podFd)
  }
}
