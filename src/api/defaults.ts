// Defaulting, as kube-apiserver does before validation. Mutates a fresh object
// that the caller owns.
import { isObject, type KObject } from './types.ts'

function eachObj(list: unknown, f: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(list)) for (const x of list) if (isObject(x)) f(x)
}

export function applyDefaults(kind: string, obj: KObject, old?: KObject): void {
  switch (kind) {
    case 'Namespace':
      obj.spec = isObject(obj.spec) ? obj.spec : {}
      obj.spec.finalizers ??= ['kubernetes']
      obj.status = { ...(isObject(obj.status) ? obj.status : {}), phase: obj.metadata.deletionTimestamp ? 'Terminating' : 'Active' }
      return
    case 'Service': {
      if (!isObject(obj.spec)) return
      const s = obj.spec
      s.type ??= 'ClusterIP'
      s.sessionAffinity ??= 'None'
      if (s.type !== 'ExternalName') s.internalTrafficPolicy ??= 'Cluster'
      if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster'
      eachObj(s.ports, (p) => {
        p.protocol ??= 'TCP'
        p.targetPort ??= p.port
      })
      if (old) dropTypeDependentFields(s, old)
      // An update that leaves clusterIP out keeps the one already assigned.
      if (old && (s.clusterIP === undefined || s.clusterIP === '') && s.type !== 'ExternalName' && old.spec?.type !== 'ExternalName') {
        if (old.spec?.clusterIP !== undefined) s.clusterIP = old.spec.clusterIP
        if (old.spec?.clusterIPs !== undefined) s.clusterIPs ??= old.spec.clusterIPs
      }
      obj.status = isObject(obj.status) ? obj.status : { loadBalancer: {} }
      return
    }
    case 'Pod': {
      if (!isObject(obj.spec)) return
      defaultPodSpec(obj.spec)
      const st = (obj.status = isObject(obj.status) ? obj.status : {})
      st.phase ??= 'Pending'
      if (typeof st.podIP === 'string' && st.podIP && st.podIPs === undefined) st.podIPs = [{ ip: st.podIP }]
      if (st.podIP === undefined && Array.isArray(st.podIPs) && isObject(st.podIPs[0])) st.podIP = st.podIPs[0].ip
      return
    }
    case 'EndpointSlice':
      eachObj(obj.ports, (p) => (p.protocol ??= 'TCP'))
      obj.endpoints ??= []
      return
    case 'Endpoints':
      eachObj(obj.subsets, (s) => eachObj(s.ports, (p) => (p.protocol ??= 'TCP')))
      return
  }
}

/**
 * kube-apiserver's SetDefaults_PodSpec and its containers' and probes' defaults,
 * for a Pod's spec or a pod template's (so a template hashes as the pods it makes).
 */
export function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= 'Always'
  spec.terminationGracePeriodSeconds ??= 30
  spec.dnsPolicy ??= 'ClusterFirst'
  spec.schedulerName ??= 'default-scheduler'
  spec.enableServiceLinks ??= true
  const container = (c: Record<string, unknown>) => {
    eachObj(c.ports, (p) => (p.protocol ??= 'TCP'))
    if (typeof c.image === 'string') c.imagePullPolicy ??= pullPolicyFor(c.image)
    c.terminationMessagePath ??= '/dev/termination-log'
    c.terminationMessagePolicy ??= 'File'
    eachObj(c.env, (v) => {
      if (isObject(v.valueFrom) && isObject(v.valueFrom.fieldRef)) v.valueFrom.fieldRef.apiVersion ??= 'v1'
    })
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (isObject(c[probe])) defaultProbe(c[probe])
  }
  eachObj(spec.initContainers, container)
  eachObj(spec.containers, container)
}

/** Always for an untagged or :latest image, as kubelet would otherwise never see a new one. */
function pullPolicyFor(image: string): string {
  const ref = image.split('@')[0]!
  if (ref !== image) return 'IfNotPresent'
  const slash = ref.lastIndexOf('/')
  const colon = ref.lastIndexOf(':')
  const tag = colon > slash ? ref.slice(colon + 1) : ''
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

// Zero means "not set" for these, as in the Go types, so they default too.
const PROBE_DEFAULTS = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 } as const

function defaultProbe(p: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(PROBE_DEFAULTS)) if (p[k] === undefined || p[k] === 0) p[k] = v
  if (isObject(p.httpGet)) {
    p.httpGet.path ??= '/'
    p.httpGet.scheme ??= 'HTTP'
  }
}

const usesNodePorts = (t: unknown) => t === 'NodePort' || t === 'LoadBalancer'

/**
 * On a type change, fields that only the old type allowed are dropped when the
 * client left them as they were (kube-apiserver's dropTypeDependentFields), so
 * `type: NodePort -> ClusterIP` works without also removing every nodePort.
 */
function dropTypeDependentFields(s: Record<string, unknown>, old: KObject): void {
  const o = old.spec ?? {}
  if (s.type === o.type) return
  if (usesNodePorts(o.type) && !usesNodePorts(s.type)) {
    const oldPorts = Array.isArray(o.ports) ? o.ports : []
    if (Array.isArray(s.ports))
      s.ports.forEach((p: unknown, i: number) => {
        if (isObject(p) && isObject(oldPorts[i]) && p.nodePort === (oldPorts[i] as Record<string, unknown>).nodePort) delete p.nodePort
      })
    if (s.externalTrafficPolicy === o.externalTrafficPolicy) delete s.externalTrafficPolicy
    if (s.healthCheckNodePort === o.healthCheckNodePort) delete s.healthCheckNodePort
  }
  if (s.type === 'ExternalName' && o.type !== 'ExternalName') {
    if (s.clusterIP === o.clusterIP) delete s.clusterIP
    if (JSON.stringify(s.clusterIPs) === JSON.stringify(o.clusterIPs)) delete s.clusterIPs
    if (JSON.stringify(s.ipFamilies) === JSON.stringify(o.ipFamilies)) delete s.ipFamilies
    if (s.ipFamilyPolicy === o.ipFamilyPolicy) delete s.ipFamilyPolicy
    if (s.internalTrafficPolicy === o.internalTrafficPolicy) delete s.internalTrafficPolicy
  }
}
