// Pure: what a kubelet (through the CRI) makes of one container of a pod
// template, as `ctr run` flags: host network, privilege, hostPath mounts with
// their propagation, the environment in kubelet's order, the service account
// token and CA, $(VAR) expansion in the command. Only what pontoon.yaml uses;
// anything else is refused, so the manifest cannot drift past the harness.
import { expand } from '../../src/lab/kubelet/container-env.ts'

export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount'

export interface KubeletFacts {
  nodeName: string
  /** ConfigMaps by name, as the kubelet would read them from the API */
  configMaps: Record<string, Record<string, string>>
  /** the Service variables the kubelet adds (KUBERNETES_SERVICE_HOST=10.96.0.1, ...) */
  serviceEnv: Record<string, string>
  /** the node directory holding this pod's token, ca.crt and namespace */
  serviceAccountDir: string
}

export interface CtrRun {
  /** flags before the image reference */
  flags: string[]
  /** the command and its arguments, after the container id */
  argv: string[]
  /** hostPath volumes the kubelet must create first (DirectoryOrCreate, FileOrCreate) */
  create: Array<{ path: string; type: 'DirectoryOrCreate' | 'FileOrCreate' }>
  env: Record<string, string>
}

export class PodSpecError extends Error {
  readonly code = 'EPODSPEC'
}

const PROPAGATION: Record<string, string> = { None: 'rprivate', HostToContainer: 'rslave', Bidirectional: 'rshared' }

export function ctrRunFor(pod: any, container: any, facts: KubeletFacts): CtrRun { // eslint-disable-line @typescript-eslint/no-explicit-any
  const flags: string[] = []
  if (pod.hostNetwork) flags.push('--net-host')
  if (container.securityContext?.privileged) flags.push('--privileged')
  const create: CtrRun['create'] = []
  for (const m of container.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x: any) => x.name === m.name) // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!v?.hostPath) throw new PodSpecError(`volumeMount ${m.name}: only hostPath volumes are translated`)
    const type = v.hostPath.type ?? ''
    if (type === 'DirectoryOrCreate' || type === 'FileOrCreate') create.push({ path: v.hostPath.path, type })
    else if (type !== '' && type !== 'Directory' && type !== 'File') throw new PodSpecError(`volume ${v.name}: hostPath type ${type} is not translated`)
    const prop = PROPAGATION[m.mountPropagation ?? 'None']
    if (!prop) throw new PodSpecError(`volumeMount ${m.name}: mountPropagation ${m.mountPropagation}`)
    flags.push('--mount', `type=bind,src=${v.hostPath.path},dst=${m.mountPath},options=rbind:${prop}:${m.readOnly ? 'ro' : 'rw'}`)
  }
  if (pod.automountServiceAccountToken !== false) {
    flags.push('--mount', `type=bind,src=${facts.serviceAccountDir},dst=${SERVICE_ACCOUNT_PATH},options=rbind:rprivate:ro`)
  }

  // kubelet's order: envFrom, then env (which may refer to what came before), then the
  // Service variables for names not yet set: a ConfigMap's KUBERNETES_SERVICE_HOST wins.
  const env: Record<string, string> = {}
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef
    if (!ref) throw new PodSpecError('envFrom: only configMapRef is translated')
    const data = facts.configMaps[ref.name]
    if (!data) {
      if (ref.optional) continue
      throw new PodSpecError(`envFrom: ConfigMap ${ref.name} not found and not optional`)
    }
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expand(e.value, (n) => env[n])
    else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = facts.nodeName
    else throw new PodSpecError(`env ${e.name}: only values and fieldRef spec.nodeName are translated`)
  }
  for (const [k, v] of Object.entries(facts.serviceEnv)) if (!(k in env)) env[k] = v
  for (const [k, v] of Object.entries(env)) flags.push('--env', `${k}=${v}`)

  if (!container.command?.length) throw new PodSpecError(`container ${container.name}: no command (the image's entrypoint is not translated)`)
  const argv = [...container.command, ...(container.args ?? [])].map((a: string) => expand(a, (n) => env[n]))
  return { flags, argv, create, env }
}
