// Controller references: which owner controls an object (the one reference
// with controller: true), and how an owner claims objects by its selector,
// as client-go's ControllerRefManager does.
import { selects } from '../selectors/label-selector.ts'
import { isObject, type KObject, type OwnerReference } from '../types.ts'

/** The owner reference marked controller, if any. */
export function controllerOf(o: KObject): OwnerReference | undefined {
  return (Array.isArray(o.metadata.ownerReferences) ? o.metadata.ownerReferences : []).find((r) => isObject(r) && r.controller === true)
}

export interface OwnershipChanges {
  /** objects that match and have no controller: to adopt */
  adopt: string[]
  /** objects the owner controls that no longer match: to release */
  release: string[]
}

/** ControllerRefManager's claim: adopt matching orphans, release controlled objects whose labels left the selector. */
export function claim(owner: KObject, candidates: Iterable<KObject>): OwnershipChanges {
  const out: OwnershipChanges = { adopt: [], release: [] }
  const uid = owner.metadata.uid
  for (const p of candidates) {
    const ctl = controllerOf(p)
    const matches = selects(owner.spec?.selector, p.metadata.labels)
    if (ctl?.uid === uid) {
      if (!matches) out.release.push(p.metadata.name ?? '')
    } else if (!ctl && matches && !p.metadata.deletionTimestamp) out.adopt.push(p.metadata.name ?? '')
  }
  return out
}

/** The reference a controller puts on what it creates or adopts. */
export function controllerRef(owner: KObject): OwnerReference {
  return { apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '', name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }
}
