// Legacy core/v1 Endpoints, derived from the planned slices of the Service's
// primary family: one subset per distinct port list; ready endpoints under
// `addresses`, not-ready ones under `notReadyAddresses`; terminating ones left
// out, as the endpoints controller does.
import type { DesiredSlice } from './endpointslice-plan.ts'

export interface Subset {
  addresses?: Record<string, unknown>[]
  notReadyAddresses?: Record<string, unknown>[]
  ports: { name?: string; port: number; protocol: string }[]
}

export function planEndpoints(slices: DesiredSlice[], family: 'IPv4' | 'IPv6'): Subset[] {
  const byPorts = new Map<string, Subset>()
  for (const s of slices) {
    if (s.addressType !== family) continue
    const key = JSON.stringify(s.ports)
    let sub = byPorts.get(key)
    if (!sub) byPorts.set(key, (sub = { ports: s.ports.map((p) => (p.name ? { name: p.name, port: p.port, protocol: p.protocol } : { port: p.port, protocol: p.protocol })) }))
    for (const e of s.endpoints) {
      if (e.conditions.terminating && !e.conditions.ready) continue
      const addr: Record<string, unknown> = { ip: e.addresses[0], targetRef: e.targetRef }
      if (e.nodeName) addr.nodeName = e.nodeName
      const list = e.conditions.ready ? (sub.addresses ??= []) : (sub.notReadyAddresses ??= [])
      list.push(addr)
    }
  }
  return [...byPorts.values()].filter((s) => s.addresses?.length || s.notReadyAddresses?.length)
}
