// How long a Pod being deleted may take, as kube-apiserver's pod strategy
// (CheckGracefulDelete) decides it: the period asked for, else the pod's own
// terminationGracePeriodSeconds; at once for a pod no kubelet runs (unbound)
// or one that has already finished; a negative period counts as 1 s.
import type { KObject } from './types.ts'

export function podGracePeriod(pod: KObject, asked: number | undefined): number {
  const own = pod.spec?.terminationGracePeriodSeconds
  let period = asked ?? (typeof own === 'number' ? own : 0)
  const node = pod.spec?.nodeName
  if (typeof node !== 'string' || node === '') period = 0
  const phase = pod.status?.phase
  if (phase === 'Succeeded' || phase === 'Failed') period = 0
  return period < 0 ? 1 : period
}
