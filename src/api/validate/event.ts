// Events: what kube-apiserver insists on for core/v1 Events.
import { isObject, type KObject } from '../types.ts'
import { type Errs, isStr } from './errs.ts'

const TYPES = ['Normal', 'Warning']

export function validateEvent(obj: KObject, e: Errs): void {
  const io = obj.involvedObject
  if (!isObject(io)) return e.required('involvedObject')
  if (!isStr(io.kind) || io.kind === '') e.required('involvedObject.kind')
  if (!isStr(io.name) || io.name === '') e.required('involvedObject.name')
  const ns = obj.metadata.namespace
  if (isStr(io.namespace) && io.namespace !== '' && io.namespace !== ns) {
    e.invalid('involvedObject.namespace', io.namespace, `does not match event.namespace (${ns})`)
  }
  if (obj.type !== undefined && !TYPES.includes(obj.type as string)) e.notSupported('type', obj.type, TYPES)
}
