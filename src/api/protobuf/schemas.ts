// Field numbers of the Kubernetes messages kubectl's generators send as protobuf
// (`kubectl create namespace|service`, `kubectl expose`), from the published
// generated.proto files of k8s.io/api and k8s.io/apimachinery. Only what a
// create can carry; anything else is skipped like any unknown field.

export type FieldType = 'string' | 'int' | 'bool' | 'message' | 'map' | 'intOrString'
export interface Field { name: string; type: FieldType; repeated?: boolean; message?: Schema; /** a pointer field in Go: written only when set, so a zero is a real zero */ optional?: boolean }
export type Schema = { readonly [num: number]: Field }

const S = (name: string, repeated = false): Field => ({ name, type: 'string', repeated })
const I = (name: string, optional = false): Field => ({ name, type: 'int', ...(optional ? { optional } : {}) })
const B = (name: string): Field => ({ name, type: 'bool' })
const M = (name: string, message: Schema, repeated = false): Field => ({ name, type: 'message', message, repeated })
const MAP = (name: string): Field => ({ name, type: 'map' })

export const OwnerReference: Schema = { 1: S('kind'), 3: S('name'), 4: S('uid'), 5: S('apiVersion'), 6: B('controller'), 7: B('blockOwnerDeletion') }

export const ObjectMeta: Schema = {
  1: S('name'), 2: S('generateName'), 3: S('namespace'), 5: S('uid'), 6: S('resourceVersion'), 7: I('generation'),
  11: MAP('labels'), 12: MAP('annotations'), 13: M('ownerReferences', OwnerReference, true), 14: S('finalizers', true),
}

const ClientIPConfig: Schema = { 1: I('timeoutSeconds') }
const SessionAffinityConfig: Schema = { 1: M('clientIP', ClientIPConfig) }

export const ServicePort: Schema = {
  1: S('name'), 2: S('protocol'), 3: I('port'), 4: { name: 'targetPort', type: 'intOrString' }, 5: I('nodePort'), 6: S('appProtocol'),
}

export const ServiceSpec: Schema = {
  1: M('ports', ServicePort, true), 2: MAP('selector'), 3: S('clusterIP'), 4: S('type'), 5: S('externalIPs', true),
  7: S('sessionAffinity'), 8: S('loadBalancerIP'), 9: S('loadBalancerSourceRanges', true), 10: S('externalName'),
  11: S('externalTrafficPolicy'), 12: I('healthCheckNodePort'), 13: B('publishNotReadyAddresses'),
  14: M('sessionAffinityConfig', SessionAffinityConfig), 17: S('ipFamilyPolicy'), 18: S('clusterIPs', true),
  19: S('ipFamilies', true), 20: B('allocateLoadBalancerNodePorts'), 21: S('loadBalancerClass'), 22: S('internalTrafficPolicy'),
  23: S('trafficDistribution'),
}

const NamespaceSpec: Schema = { 1: S('finalizers', true) }

// apps/v1 Deployment and ReplicaSet, as `kubectl create deployment` sends them:
// the selector, the strategy and a pod template whose containers carry name,
// image, command, args, ports and env (what the generator fills in).
const LabelSelectorRequirement: Schema = { 1: S('key'), 2: S('operator'), 3: S('values', true) }
const LabelSelector: Schema = { 1: MAP('matchLabels'), 2: M('matchExpressions', LabelSelectorRequirement, true) }
const ContainerPort: Schema = { 1: S('name'), 2: I('hostPort'), 3: I('containerPort'), 4: S('protocol'), 5: S('hostIP') }
const EnvVar: Schema = { 1: S('name'), 2: S('value') }
const Container: Schema = {
  1: S('name'), 2: S('image'), 3: S('command', true), 4: S('args', true), 5: S('workingDir'), 6: M('ports', ContainerPort, true),
  7: M('env', EnvVar, true), 14: S('imagePullPolicy'),
}
const PodSpec: Schema = {
  2: M('containers', Container, true), 3: S('restartPolicy'), 4: I('terminationGracePeriodSeconds'), 6: S('dnsPolicy'),
  7: MAP('nodeSelector'), 8: S('serviceAccountName'), 10: S('nodeName'), 16: S('hostname'), 17: S('subdomain'),
  19: S('schedulerName'), 20: M('initContainers', Container, true),
}
const PodTemplateSpec: Schema = { 1: M('metadata', ObjectMeta), 2: M('spec', PodSpec) }
const RollingUpdateDeployment: Schema = { 1: { name: 'maxUnavailable', type: 'intOrString' }, 2: { name: 'maxSurge', type: 'intOrString' } }
const DeploymentStrategy: Schema = { 1: S('type'), 2: M('rollingUpdate', RollingUpdateDeployment) }
const DeploymentSpec: Schema = {
  1: I('replicas', true), 2: M('selector', LabelSelector), 3: M('template', PodTemplateSpec), 4: M('strategy', DeploymentStrategy),
  5: I('minReadySeconds'), 6: I('revisionHistoryLimit'), 7: B('paused'), 9: I('progressDeadlineSeconds'),
}
const ReplicaSetSpec: Schema = { 1: I('replicas', true), 2: M('selector', LabelSelector), 3: M('template', PodTemplateSpec), 4: I('minReadySeconds') }

/** Top-level kinds: metadata = 1, spec = 2 (status is not accepted on create). */
export const KINDS: { readonly [kind: string]: Schema } = {
  Service: { 1: M('metadata', ObjectMeta), 2: M('spec', ServiceSpec) },
  Namespace: { 1: M('metadata', ObjectMeta), 2: M('spec', NamespaceSpec) },
  Deployment: { 1: M('metadata', ObjectMeta), 2: M('spec', DeploymentSpec) },
  ReplicaSet: { 1: M('metadata', ObjectMeta), 2: M('spec', ReplicaSetSpec) },
}

// runtime.Unknown, the envelope behind the 4-byte magic "k8s\0".
export const TypeMeta: Schema = { 1: S('apiVersion'), 2: S('kind') }
