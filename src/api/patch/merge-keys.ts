// Which lists strategic merge patch merges, and by which key, for the served
// kinds: the patchStrategy/patchMergeKey tags of the k8s.io/api Go types.
// A list not named here is replaced whole, as SMP does for untagged lists.

export interface ListRule {
  /** merge key for lists of objects; absent for lists of scalars merged as a set */
  key?: string
}

export type Schema = Record<string, ListRule>

const containerLists = (prefix: string): Schema => ({
  [prefix]: { key: 'name' },
  [`${prefix}.ports`]: { key: 'containerPort' },
  [`${prefix}.env`]: { key: 'name' },
  [`${prefix}.volumeMounts`]: { key: 'mountPath' },
  [`${prefix}.volumeDevices`]: { key: 'devicePath' },
})

const META: Schema = {
  'metadata.finalizers': {},
  'metadata.ownerReferences': { key: 'uid' },
}

/** A pod template at `prefix` (spec.template of Deployments and ReplicaSets). */
const podTemplate = (prefix: string): Schema => ({
  ...containerLists(`${prefix}.spec.containers`),
  ...containerLists(`${prefix}.spec.initContainers`),
  [`${prefix}.spec.volumes`]: { key: 'name' },
  [`${prefix}.spec.imagePullSecrets`]: { key: 'name' },
  [`${prefix}.spec.hostAliases`]: { key: 'ip' },
  [`${prefix}.metadata.finalizers`]: {},
  [`${prefix}.metadata.ownerReferences`]: { key: 'uid' },
})

export const SCHEMAS: Record<string, Schema> = {
  Pod: {
    ...META,
    ...containerLists('spec.containers'),
    ...containerLists('spec.initContainers'),
    ...containerLists('spec.ephemeralContainers'),
    'spec.volumes': { key: 'name' },
    'spec.imagePullSecrets': { key: 'name' },
    'spec.hostAliases': { key: 'ip' },
    'status.conditions': { key: 'type' },
    'status.podIPs': { key: 'ip' },
  },
  Service: { ...META, 'spec.ports': { key: 'port' }, 'status.conditions': { key: 'type' } },
  Node: { ...META, 'status.conditions': { key: 'type' }, 'status.addresses': { key: 'type' } },
  Namespace: { ...META, 'status.conditions': { key: 'type' } },
  Endpoints: { ...META },
  EndpointSlice: { ...META },
  Deployment: { ...META, ...podTemplate('spec.template'), 'status.conditions': { key: 'type' } },
  ReplicaSet: { ...META, ...podTemplate('spec.template'), 'status.conditions': { key: 'type' } },
}
