// Pure: the network namespace the lab kubelet makes for a pod (the issue 9
// contract): `<node's --netns-prefix>-p<first 8 hex of sha256(pod uid)>`.
import { createHash } from 'node:crypto'
import type { LabTopology } from './topology.ts'

export class PodNetnsError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'PodNetnsError'
    this.code = code
  }
}

export function podNetnsName(topo: LabTopology, nodeName: string | undefined, uid: string | undefined): string {
  if (!nodeName) throw new PodNetnsError('EPOD_UNBOUND', 'the pod is not bound to a node yet')
  if (!uid) throw new PodNetnsError('EPOD_NO_UID', 'the pod has no uid')
  const node = topo.nodes.find((n) => n.name === nodeName)
  if (!node) throw new PodNetnsError('EPOD_NODE', `the pod runs on "${nodeName}", which is not a node of this lab`)
  return `${node.podNetnsPrefix}-p${createHash('sha256').update(uid).digest('hex').slice(0, 8)}`
}
