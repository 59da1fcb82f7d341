// DEL is forgiving: the netns may be gone or empty (CRI sends CNI_NETNS="" on
// repeats), links may be gone; the IP is always released. The host end of the
// veth is found by its deterministic name, so it goes even without the netns.
// Order matters: the link goes first and the IP last, so that a concurrent ADD
// is never handed an address that an interface still holds; and a link goes only
// when its alias names this attachment.
import { existsSync } from 'node:fs'
import { Rtnl } from '../../netlink/index.ts'
import { refuseOwnNetns } from '../own-netns.ts'
import type { CniRequest } from '../types.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { removeMasq } from './masq.ts'
import { hostVethName, masqTag, vethAlias } from './names.ts'

async function deleteOwned(nl: Rtnl, name: string, alias: string): Promise<boolean> {
  const link = await nl.linkByName(name)
  if (!link || link.alias !== alias) return false
  return nl.deleteLink(link.index)
}

export async function cmdDel(req: CniRequest): Promise<void> {
  const conf = parseBridgeConfig(req.config)
  refuseOwnNetns(req.netns)
  const alias = vethAlias(req.containerId, req.ifName)

  // Deleting the host end removes the pair, so the pod's netns is entered only
  // when the host end is already gone (a half-done ADD, or a second DEL).
  const host = await Rtnl.open()
  let removed: boolean
  try {
    removed = await deleteOwned(host, hostVethName(req.containerId, req.ifName), alias)
  } finally {
    host.close()
  }
  if (!removed && req.netns && existsSync(req.netns)) {
    let pod: Rtnl | undefined
    try {
      pod = await Rtnl.open(req.netns)
      await deleteOwned(pod, req.ifName, alias)
    } catch {
      // the netns may be mid-teardown: nothing of ours can be left in it then
    } finally {
      pod?.close()
    }
  }
  if (conf.ipMasq) removeMasq(masqTag(conf.name, req.containerId, req.ifName))
  await ipamExec(conf.ipamType, 'DEL', req)
}
