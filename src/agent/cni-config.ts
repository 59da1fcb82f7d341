// A sync consumer ("conflist"): keeps the node's CNI conflist in step with its podCIDRs.
// Until the node has a podCIDR there is no conflist, so the runtime reports the
// network as not ready instead of handing out addresses from a wrong range.
import type { Logger } from 'pino'
import { join } from 'node:path'
import { conflistText } from '../cni/conflist.ts'
import type { ClusterSnapshot } from '../cluster/snapshot.ts'
import { writeFileAtomic } from '../sys/atomic-write.ts'
import type { SyncConsumer } from './consumer.ts'

export interface CniConfigOptions {
  nodeName: string
  confDir: string
  fileName?: string
  agentSocket?: string
  mtu?: number
  ipamDataDir?: string
  log: Logger
}

export function cniConfigWriter(o: CniConfigOptions): SyncConsumer {
  const path = join(o.confDir, o.fileName ?? '10-pontoon.conflist')
  let waiting = false
  return { name: 'conflist', sync: (snapshot: ClusterSnapshot) => {
    const node = snapshot.nodes.get(o.nodeName)
    if (!node || node.podCIDRs.length === 0) {
      if (!waiting) o.log.info({ node: o.nodeName }, 'no podCIDR for this node yet: CNI config not written')
      waiting = true
      return
    }
    waiting = false
    const text = conflistText({ podCIDRs: node.podCIDRs, ...(o.agentSocket ? { agentSocket: o.agentSocket } : {}), ...(o.mtu ? { mtu: o.mtu } : {}), ...(o.ipamDataDir ? { ipamDataDir: o.ipamDataDir } : {}) })
    // A failed write throws: the hub keeps the change and retries with backoff.
    if (writeFileAtomic(path, text)) o.log.info({ path, podCIDRs: node.podCIDRs }, 'CNI config written')
  } }
}
