// GC: release everything of this network that is not a valid attachment: host
// veths (those whose alias names a pontoon owner), masquerade rules and IP
// reservations, in that order, so no address is freed while a link holds it.
// Best-effort: a step that fails is recorded and the others still run, and the
// error names every failure.
import { Rtnl } from '../../netlink/index.ts'
import { validAttachments } from '../attachments.ts'
import { asCniError, CniError, ErrCode } from '../errors.ts'
import type { CniRequest } from '../types.ts'
import { parseBridgeConfig } from './config.ts'
import { ipamExec } from './ipam.ts'
import { deleteMasqRules, listMasq } from './masq.ts'
import { ALIAS_PREFIX, HOST_VETH_PREFIX, masqNetworkPrefix, masqTag, vethAlias } from './names.ts'

export async function cmdGc(req: CniRequest): Promise<void> {
  const conf = parseBridgeConfig(req.config)
  const valid = validAttachments(req.config)
  const failures: CniError[] = []
  const attempt = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn()
    } catch (e) {
      const c = asCniError(e, ErrCode.IoFailure)
      failures.push(new CniError(c.code, `${what}: ${c.message}`, c.details, { cause: e }))
    }
  }

  // Only ports of this network's bridge: another network's veths are not ours to judge.
  const keepAliases = new Set(valid.map((a) => vethAlias(a.containerID, a.ifname)))
  await attempt('host veths', async () => {
    const host = await Rtnl.open()
    try {
      const br = await host.linkByName(conf.bridge)
      if (!br) return
      for (const l of await host.links()) {
        const owned = l.masterIndex === br.index && l.name.startsWith(HOST_VETH_PREFIX) && l.alias?.startsWith(ALIAS_PREFIX)
        if (owned && !keepAliases.has(l.alias!)) await attempt(`delete ${l.name} (${l.alias})`, async () => { await host.deleteLink(l.index) })
      }
    } finally {
      host.close()
    }
  })

  await attempt('masquerade rules', () => {
    const keepTags = new Set(valid.map((a) => masqTag(conf.name, a.containerID, a.ifname)))
    const ours = masqNetworkPrefix(conf.name)
    deleteMasqRules(listMasq().filter((r) => r.comment.startsWith(ours) && !keepTags.has(r.comment)))
  })

  await attempt(`ipam (${conf.ipamType})`, async () => { await ipamExec(conf.ipamType, 'GC', req) })

  if (failures.length) {
    const first = failures[0]!
    throw new CniError(first.code, `GC incomplete: ${failures.map((f) => f.message).join('; ')}`, failures.map((f) => f.details).filter(Boolean).join('; '))
  }
}
