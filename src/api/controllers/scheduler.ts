// `pontoon api --scheduler`: binds each unbound Pod to a node through the
// pods/binding subresource, as kube-scheduler does, choosing round-robin among
// the nodes that fit (scheduler-plan.ts). A Pod that fits nowhere stays
// Pending with PodScheduled=False (reason Unschedulable) and a FailedScheduling
// Event, and is tried again whenever a Node changes.
import { randomBytes } from 'node:crypto'
import type { Api } from '../core.ts'
import { byName } from '../resources.ts'
import { isObject, type KObject } from '../types.ts'
import { WorkQueue, type QueueOptions } from './queue.ts'
import { chooseNode, DEFAULT_SCHEDULER, wantsScheduling } from './scheduler-plan.ts'

export interface SchedulerOptions {
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void; debug(o: object, msg: string): void }
  queue?: QueueOptions
}

const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')
const keyOf = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`

type Condition = Record<string, unknown>
const scheduledCondition = (pod: KObject): Condition | undefined => {
  const conds = pod.status?.conditions
  return Array.isArray(conds) ? conds.find((c): c is Condition => isObject(c) && c.type === 'PodScheduled') : undefined
}

export function startScheduler(api: Api, o: SchedulerOptions): () => void {
  const pods = byName('pods')
  const events = byName('events')
  const store = api.store
  let cursor = 0

  // An Event is a note for people: failing to write one must not make the scheduling itself retry.
  const event = (pod: KObject, type: 'Normal' | 'Warning', reason: string, message: string) => {
    try {
      writeEvent(pod, type, reason, message)
    } catch (e) {
      o.log.warn({ pod: keyOf(pod), reason, err: e }, 'could not record an Event')
    }
  }
  const writeEvent = (pod: KObject, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const ts = stamp()
    api.create(events, pod.metadata.namespace, {
      metadata: { name: `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: pod.metadata.namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
      type,
      reason,
      message,
      source: { component: DEFAULT_SCHEDULER },
      reportingComponent: DEFAULT_SCHEDULER,
      reportingInstance: DEFAULT_SCHEDULER,
      action: reason === 'Scheduled' ? 'Binding' : 'Scheduling',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    })
  }

  const sync = (key: string) => {
    const [ns, name] = key.split('/') as [string, string]
    const pod = store.get('pods', ns, name)?.obj
    if (!pod || !wantsScheduling(pod)) return
    const choice = chooseNode(pod, [...store.list('nodes')].map((e) => e.obj), cursor)
    if (choice.node !== undefined) {
      api.bind(ns, name, { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns, uid: pod.metadata.uid }, target: { apiVersion: 'v1', kind: 'Node', name: choice.node } })
      cursor = choice.next
      o.log.info({ pod: key, node: choice.node }, 'scheduled')
      event(pod, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${choice.node}`)
      return
    }
    // Unschedulable: say so once per distinct reason, not on every retry.
    const cur = scheduledCondition(pod)
    if (cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === choice.message) return
    api.patch(pods, ns, name, (p) => {
      const obj = p as KObject
      const st = isObject(obj.status) ? obj.status : {}
      const conds = Array.isArray(st.conditions) ? st.conditions.filter((c: unknown) => !(isObject(c) && c.type === 'PodScheduled')) : []
      const cond = { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: stamp(), reason: 'Unschedulable', message: choice.message }
      return { ...obj, status: { ...st, phase: st.phase ?? 'Pending', conditions: [...conds, cond] } }
    }, { subresource: 'status' })
    o.log.info({ pod: key, why: choice.message }, 'unschedulable')
    event(pod, 'Warning', 'FailedScheduling', choice.message)
  }

  const queue = new WorkQueue(sync, (key, e, retryInMs) => o.log.warn({ pod: key, err: e, retryInMs }, 'scheduling failed; retrying'), o.queue)
  const pending = () => {
    for (const e of store.list('pods')) if (wantsScheduling(e.obj)) queue.add(keyOf(e.obj))
  }
  pending()
  const unsubs = [
    store.subscribe('pods', (ev) => {
      if (ev.type !== 'DELETED' && wantsScheduling(ev.obj)) queue.add(keyOf(ev.obj))
    }),
    // Any node change may make room: every waiting pod gets another try.
    store.subscribe('nodes', () => pending()),
  ]
  return () => {
    for (const u of unsubs) u()
    queue.stop()
  }
}
