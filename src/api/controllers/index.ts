// The in-process controllers a lab needs, and the expiry of Events.
import type { Api } from '../core.ts'
import { startPodCidrController } from './podcidr.ts'
import { startEndpointSliceController } from './endpointslice.ts'
import type { QueueOptions } from './queue.ts'
import { startEventTtl } from './event-ttl.ts'
import { startScheduler } from './scheduler.ts'

export interface ControllerOptions {
  clusterCidr: string
  nodeCidrMaskSize: number
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void; debug(o: object, msg: string): void }
  /** retry backoff and timers of every controller's work queue */
  queue?: QueueOptions
  /** how long an Event lives after its last write (ms); an hour by default */
  eventTtlMs?: number
  /** run the scheduler (binds unbound Pods to Nodes); off unless asked for */
  scheduler?: boolean
}

export interface Controllers {
  stop(): void
}

export function startControllers(api: Api, o: ControllerOptions): Controllers {
  const stops = [
    startPodCidrController(api, { clusterCidr: o.clusterCidr, maskSize: o.nodeCidrMaskSize, log: o.log, queue: o.queue }),
    startEndpointSliceController(api, { log: o.log, queue: o.queue }),
    startEventTtl(api, { log: o.log, ttlMs: o.eventTtlMs }).stop,
    ...(o.scheduler ? [startScheduler(api, { log: o.log, queue: o.queue })] : []),
  ]
  return { stop: () => stops.forEach((s) => s()) }
}
