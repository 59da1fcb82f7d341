// The kubelet's calls to the API beyond its watches: pod status through the
// pods/status subresource, the final delete, the EndpointSlices that still list
// a terminating pod as ready, and its own Node's address.
import type { HttpTransport } from '../../cluster/http-transport.ts'
import { ApiStatusError } from '../../cluster/transport.ts'

const seg = encodeURIComponent

export class KubeletApi {
  constructor(private readonly t: HttpTransport) {}

  /** A merge patch of .status; keys set to null are removed. */
  async patchStatus(ns: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.t.send('PATCH', `/api/v1/namespaces/${seg(ns)}/pods/${seg(name)}/status`, { status }, 'application/merge-patch+json')
  }

  /** The final delete: no grace left, and only the Pod we ran (uid precondition). Gone or replaced already is fine. */
  async deletePod(ns: string, name: string, uid: string): Promise<'deleted' | 'gone'> {
    try {
      await this.t.send('DELETE', `/api/v1/namespaces/${seg(ns)}/pods/${seg(name)}`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } })
      return 'deleted'
    } catch (e) {
      if (e instanceof ApiStatusError && (e.status === 404 || e.status === 409)) return 'gone'
      throw e
    }
  }

  /** Whether any EndpointSlice of the namespace still has this pod as a ready endpoint. */
  async readyInEndpointSlices(ns: string, uid: string, podIPs: readonly string[]): Promise<boolean> {
    let ready = false
    await this.t.list(`/apis/discovery.k8s.io/v1/namespaces/${seg(ns)}/endpointslices`, {}, (items) => {
      for (const s of items as Array<{ endpoints?: Array<{ addresses?: string[]; targetRef?: { uid?: string }; conditions?: { ready?: boolean } }> }>) {
        for (const ep of s.endpoints ?? []) {
          const ours = ep.targetRef?.uid === uid || (ep.addresses ?? []).some((a) => podIPs.includes(a))
          // an unset ready counts as ready (discovery/v1: consumers treat unknown as ready)
          if (ours && ep.conditions?.ready !== false) ready = true
        }
      }
    })
    return ready
  }

  async nodeInternalIP(node: string): Promise<string | undefined> {
    const n = await this.t.send('GET', `/api/v1/nodes/${seg(node)}`, undefined) as { status?: { addresses?: Array<{ type?: string; address?: string }> } }
    return n?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address
  }
}
