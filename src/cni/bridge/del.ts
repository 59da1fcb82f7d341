// DEL is forgiving: the netns may be gone or empty (CRI sends CNI_NETNS="" on
// repeats), links may be gone; the IP is always released. The host end of the
// veth is found by its deterministic name, so it goes even without the netns.
import { existsSync } from 'node:fs'
import { Rtnl } from '../../netlink/index.ts'
import type { CniRequest } from '../types.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { removeMasq } from './masq.ts'
import { hostVethName, masqTag } from './names.ts'

export async function cmdDel(req: CniRequest): Promise<void> {
  const conf = parseBridgeConfig(req.config)
  await ipamExec(conf.ipamType, 'DEL', req)

  // Deleting the host end removes the pair, so the pod's netns is entered only
  // when the host end is already gone (a half-done ADD, or a second DEL).
  const host = await Rtnl.open()
  let removed: boolean
  try {
    removed = await host.deleteLink(hostVethName(req.containerId, req.ifName))
  } finally {
    host.close()
  }
  if (!removed && req.netns && existsSync(req.netns)) {
    let pod: Rtnl | undefined
    try {
      pod = await Rtnl.open(req.netns)
      await pod.deleteLink(req.ifName)
    } catch {
      // the netns may be mid-teardown: nothing of ours can be left in it then
    } finally {
      pod?.close()
    }
  }
  if (conf.ipMasq) removeMasq(masqTag(conf.name, req.containerId, req.ifName))
}
