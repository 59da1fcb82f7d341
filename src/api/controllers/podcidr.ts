// Node podCIDR allocation: one subnet (a /24 by default) per Node from the
// cluster CIDR, as kube-controller-manager's range allocator does. The
// allocator's state is rebuilt from the stored Nodes, so assignments are
// stable across restarts; a deleted Node's subnet is free again.
import { CidrAllocator } from '../alloc/cidr-allocator.ts'
import type { Api } from '../core.ts'
import { byName } from '../resources.ts'
import type { KObject } from '../types.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'

export interface PodCidrOptions {
  clusterCidr: string
  maskSize: number
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void }
  /** retry backoff and timers of the work queue */
  queue?: QueueOptions
}

const cidrOf = (n: KObject | undefined): string | undefined => {
  const c = n?.spec?.podCIDR
  return typeof c === 'string' && c ? c : undefined
}

export function startPodCidrController(api: Api, o: PodCidrOptions): () => void {
  const nodes = byName('nodes')
  const alloc = new CidrAllocator(o.clusterCidr, o.maskSize)
  const queue = new WorkQueue(
    (name) => {
      const cur = api.store.get('nodes', undefined, name)
      if (!cur || cidrOf(cur.obj) || cur.obj.metadata.deletionTimestamp) return
      const cidr = alloc.next()
      if (!cidr) return o.log.warn({ node: name }, `no free /${o.maskSize} left in ${o.clusterCidr}`)
      try {
        api.patch(nodes, undefined, name, (n) => {
          const node = n as KObject
          return { ...node, spec: { ...(node.spec ?? {}), podCIDR: cidr, podCIDRs: [cidr] } }
        })
        o.log.info({ node: name, podCIDR: cidr }, 'allocated podCIDR')
      } catch (e) {
        alloc.release(cidr)
        throw e
      }
    },
    (key, e, retryInMs) => o.log.warn({ node: key, err: e, retryInMs }, 'podCIDR allocation failed; retrying'),
    o.queue,
  )
  for (const e of api.store.list('nodes')) {
    const c = cidrOf(e.obj)
    if (c) alloc.allocate(c)
  }
  for (const e of api.store.list('nodes')) if (!cidrOf(e.obj)) queue.add(e.obj.metadata.name ?? '')
  const unsubscribe = api.store.subscribe('nodes', (ev) => {
    const name = ev.obj.metadata.name ?? ''
    const now = cidrOf(ev.obj)
    const before = cidrOf(ev.prev)
    if (ev.type === 'DELETED') {
      if (now) {
        alloc.release(now)
        // Nodes that found the range full get another try.
        for (const e of api.store.list('nodes')) if (!cidrOf(e.obj)) queue.add(e.obj.metadata.name ?? '')
      }
      return
    }
    if (before && before !== now) alloc.release(before)
    if (now) alloc.allocate(now)
    else queue.add(name)
  })
  return () => {
    unsubscribe()
    queue.stop()
  }
}
