// Deterministic names for what the kubelet makes for a Pod: the sandbox id
// handed to CNI (64 hex, like containerd's) and the pod's netns name. Both come
// from the Pod's uid, so a restarted kubelet finds its own objects again.
import { createHash } from 'node:crypto'

export function sandboxId(uid: string): string {
  return createHash('sha256').update(uid).digest('hex')
}

/** `<prefix>-p<8 hex of sha256(uid)>`, made under /run/netns. */
export function podNetnsName(prefix: string, uid: string): string {
  return `${prefix}-p${sandboxId(uid).slice(0, 8)}`
}

export function containerId(uid: string, container: string, restartCount: number): string {
  return createHash('sha256').update(`${uid}/${container}/${restartCount}`).digest('hex')
}
