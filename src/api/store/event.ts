import type { KObject } from '../types.ts'

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED'

/** One change to one object. `json` is the object serialised once, shared by every watcher and the log. */
export interface StoreEvent {
  type: EventType
  rv: number
  resource: string
  obj: KObject
  json: string
  /** the object before this change, when known (for selector transitions in watches) */
  prev?: KObject
  /** set on the inverse event that takes back a change whose fdatasync failed */
  undo?: boolean
}

/** A stored object with its serialised form; the object is never mutated once stored. */
export interface Entry {
  obj: KObject
  json: string
}

export const keyOf = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name)
