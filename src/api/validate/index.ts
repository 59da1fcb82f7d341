// One entry point: validate an object of any served kind, on create or update.
import type { FieldError } from '../errors.ts'
import type { Resource } from '../resources.ts'
import type { KObject } from '../types.ts'
import { validateEndpoints, validateEndpointSlice } from './endpoints.ts'
import { validateEvent } from './event.ts'
import { Errs } from './errs.ts'
import { validateMeta } from './meta.ts'
import { validateNode } from './node.ts'
import { validatePod } from './pod.ts'
import { validatePodUpdate } from './pod-update.ts'
import { validateService, validateServiceUpdate } from './service.ts'

const BY_KIND: Record<string, (obj: KObject, e: Errs) => void> = {
  Service: validateService,
  Pod: validatePod,
  Node: validateNode,
  EndpointSlice: validateEndpointSlice,
  Endpoints: validateEndpoints,
  Event: validateEvent,
}

export function validateObject(r: Resource, obj: KObject, old?: KObject): FieldError[] {
  const e = new Errs()
  validateMeta(r, obj, e)
  BY_KIND[r.kind]?.(obj, e)
  if (old && r.kind === 'Service') validateServiceUpdate(obj, old, e)
  if (old && r.kind === 'Pod') validatePodUpdate(obj, old, e)
  return e.list
}
