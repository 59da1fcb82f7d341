// Pure: how a runtime (containerd through libcni) turns a conflist into one
// network config per plugin: the list's name and cniVersion on each, the result
// of the plugin before as prevResult on ADD, the cached ADD result on DEL, and
// the plugins in reverse order on DEL. No runtimeConfig: the lab asks for no
// capabilities (no hostPort, no bandwidth).

export class ConflistError extends Error {
  constructor(readonly code: 'ECONFLIST_NONE' | 'ECONFLIST_JSON' | 'ECONFLIST_SHAPE', message: string) {
    super(message)
    this.name = 'ConflistError'
  }
}

export interface Conflist {
  name: string
  cniVersion: string
  plugins: Array<Record<string, unknown> & { type: string }>
}

export function parseConflist(text: string, file: string): Conflist {
  let doc: unknown
  try { doc = JSON.parse(text) } catch (e) {
    throw new ConflistError('ECONFLIST_JSON', `${file}: not JSON: ${(e as Error).message}`)
  }
  const d = doc as { name?: unknown; cniVersion?: unknown; plugins?: unknown }
  if (typeof doc !== 'object' || doc === null || typeof d.name !== 'string' || !d.name) throw new ConflistError('ECONFLIST_SHAPE', `${file}: a conflist needs a "name"`)
  if (typeof d.cniVersion !== 'string') throw new ConflistError('ECONFLIST_SHAPE', `${file}: a conflist needs a "cniVersion"`)
  if (!Array.isArray(d.plugins) || d.plugins.length === 0) throw new ConflistError('ECONFLIST_SHAPE', `${file}: "plugins" must be a non-empty list`)
  for (const [i, p] of d.plugins.entries()) {
    const type = (p as { type?: unknown })?.type
    if (typeof type !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(type)) throw new ConflistError('ECONFLIST_SHAPE', `${file}: plugins[${i}].type must be a plugin name`)
  }
  return { name: d.name, cniVersion: d.cniVersion, plugins: d.plugins as Conflist['plugins'] }
}

/** The config the plugin at `index` gets on stdin. */
export function pluginConfig(list: Conflist, index: number, prevResult: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...list.plugins[index]!, name: list.name, cniVersion: list.cniVersion }
  if (prevResult !== undefined) conf.prevResult = prevResult
  return conf
}

/** The order plugins run in for a command. */
export function pluginOrder(list: Conflist, command: 'ADD' | 'DEL'): number[] {
  const idx = list.plugins.map((_, i) => i)
  return command === 'ADD' ? idx : idx.reverse()
}

/** CNI_ARGS as the CRI plugin of containerd sets them. */
export function cniArgs(p: { namespace: string; name: string; uid: string; sandboxId: string }): string {
  return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${p.namespace};K8S_POD_NAME=${p.name};K8S_POD_INFRA_CONTAINER_ID=${p.sandboxId};K8S_POD_UID=${p.uid}`
}

/** The pod's addresses from a CNI result: those on the sandbox's interface (or all, when none names one). */
export function podIPs(result: unknown, ifName: string): string[] {
  const r = result as { interfaces?: Array<{ name?: unknown; sandbox?: unknown }>; ips?: Array<{ address?: unknown; interface?: unknown }> }
  const ifaces = Array.isArray(r?.interfaces) ? r.interfaces : []
  const ips = Array.isArray(r?.ips) ? r.ips : []
  const onIf = (ip: { interface?: unknown }) => {
    const i = ip.interface
    if (typeof i !== 'number') return true
    const f = ifaces[i]
    return !f || (f.name === ifName && !!f.sandbox)
  }
  const out: string[] = []
  for (const ip of ips) {
    if (typeof ip?.address !== 'string' || !onIf(ip)) continue
    const a = ip.address.split('/')[0]!
    if (!out.includes(a)) out.push(a)
  }
  // kubelet lists the IPv4 address first in a dual-stack pod
  return out.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')))
}
