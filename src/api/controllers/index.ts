// The in-process controllers a lab needs.
import type { Api } from '../core.ts'
import { startPodCidrController } from './podcidr.ts'
import { startEndpointSliceController } from './endpointslice.ts'

export interface ControllerOptions {
  clusterCidr: string
  nodeCidrMaskSize: number
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void; debug(o: object, msg: string): void }
}

export interface Controllers {
  stop(): void
}

export function startControllers(api: Api, o: ControllerOptions): Controllers {
  const stops = [startPodCidrController(api, { clusterCidr: o.clusterCidr, maskSize: o.nodeCidrMaskSize, log: o.log }), startEndpointSliceController(api, { log: o.log })]
  return { stop: () => stops.forEach((s) => s()) }
}
