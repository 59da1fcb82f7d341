// One place that maps --proxy-mode to a backend, loading only the chosen one.
import type { ProxyBackend } from './backend.ts'
import { assertNotHostNetns } from './host-netns-guard.ts'
import type { IpvsFlags } from './flags.ts'

export const PROXY_MODES = ['nftables', 'iptables', 'ipvs', 'userspace'] as const
export type SupportedMode = typeof PROXY_MODES[number]

export interface BackendOptions {
  /** a netns path to work in (tests, benches); undefined: the process's own namespace */
  netns?: string
  /** iptables mode: nft, legacy or auto (what the system's `iptables` is) */
  iptablesBackend?: 'nft' | 'legacy' | 'auto'
  /** ipvs mode: --ipvs-scheduler, --ipvs-strict-arp, --ipvs-*-timeout */
  ipvs?: IpvsFlags
}

export async function openBackend(mode: SupportedMode, opts: BackendOptions = {}): Promise<ProxyBackend> {
  if (opts.netns === undefined) assertNotHostNetns(`--proxy-mode ${mode}`)
  switch (mode) {
    case 'nftables': {
      const { NftablesBackend } = await import('./nftables/backend.ts')
      return NftablesBackend.open(opts)
    }
    case 'iptables': {
      const { IptablesBackend } = await import('./iptables/backend.ts')
      return new IptablesBackend({ ...(opts.netns ? { netnsPath: opts.netns } : {}), ...(opts.iptablesBackend ? { iptablesBackend: opts.iptablesBackend } : {}) })
    }
    case 'ipvs': {
      const { IpvsBackend } = await import('./ipvs/backend.ts')
      return IpvsBackend.open({
        ...(opts.netns ? { netnsPath: opts.netns } : {}), ...(opts.iptablesBackend ? { iptablesBackend: opts.iptablesBackend } : {}),
        ...(opts.ipvs ? { scheduler: opts.ipvs.scheduler, strictARP: opts.ipvs.strictARP, timeouts: opts.ipvs.timeouts } : {}),
      })
    }
    case 'userspace': {
      const { UserspaceBackend } = await import('./userspace/backend.ts')
      return new UserspaceBackend({ ...(opts.netns ? { netnsPath: opts.netns } : {}), ...(opts.iptablesBackend ? { iptablesBackend: opts.iptablesBackend } : {}) })
    }
  }
}

/** Every mode's cleanup, for `pontoon cleanup`: what one mode (or iptables flavour) left behind another must not keep. */
export async function cleanupAll(opts: BackendOptions = {}): Promise<{ mode: string; error?: string }[]> {
  if (opts.netns === undefined) assertNotHostNetns('pontoon cleanup')
  const targets: Array<{ label: string; mode: SupportedMode; opts: BackendOptions }> = [
    { label: 'nftables', mode: 'nftables', opts },
    { label: 'iptables (nft)', mode: 'iptables', opts: { ...opts, iptablesBackend: 'nft' } },
    { label: 'iptables (legacy)', mode: 'iptables', opts: { ...opts, iptablesBackend: 'legacy' } },
    // both flavours in one: its cleanup reads each flavour's dump itself
    { label: 'userspace', mode: 'userspace', opts: { ...opts, iptablesBackend: 'nft' } },
    // both flavours too; its virtual servers, sets and kube-ipvs0 (a kernel without IPVS has none)
    { label: 'ipvs', mode: 'ipvs', opts: { ...opts, iptablesBackend: 'nft' } },
  ]
  const out: { mode: string; error?: string }[] = []
  for (const t of targets) {
    let backend: ProxyBackend | undefined
    try {
      // the ipvs cleanup must run where IPVS is missing too (it then has no virtual servers to remove)
      backend = t.mode === 'ipvs'
        ? new (await import('./ipvs/backend.ts')).IpvsBackend({ ...(t.opts.netns ? { netnsPath: t.opts.netns } : {}) })
        : await openBackend(t.mode, t.opts)
      await backend.cleanup()
      out.push({ mode: t.label })
    } catch (e) {
      out.push({ mode: t.label, error: (e as Error).message })
    } finally {
      backend?.close()
    }
  }
  return out
}
