// GC: release everything of this network that is not a valid attachment: IP
// reservations, masquerade rules and host veths (found by their derived names).
import { Rtnl } from '../../netlink/index.ts'
import { validAttachments } from '../attachments.ts'
import type { CniRequest } from '../types.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { deleteMasqRules, listMasq } from './masq.ts'
import { HOST_VETH_PREFIX, hostVethName, masqTag } from './names.ts'

export async function cmdGc(req: CniRequest): Promise<void> {
  const conf = parseBridgeConfig(req.config)
  const valid = validAttachments(req.config)
  await ipamExec(conf.ipamType, 'GC', req)

  const keepTags = new Set(valid.map((a) => masqTag(conf.name, a.containerID, a.ifname)))
  const ours = `pontoon:${conf.name}:`
  deleteMasqRules(listMasq().filter((r) => r.comment.startsWith(ours) && !keepTags.has(r.comment)))

  // Only ports of this network's bridge: another network's veths are not ours to judge.
  const keepVeths = new Set(valid.map((a) => hostVethName(a.containerID, a.ifname)))
  const host = await Rtnl.open()
  try {
    const br = await host.linkByName(conf.bridge)
    if (!br) return
    for (const l of await host.links()) {
      if (l.masterIndex === br.index && l.name.startsWith(HOST_VETH_PREFIX) && !keepVeths.has(l.name)) {
        await host.deleteLink(l.index)
      }
    }
  } finally {
    host.close()
  }
}
