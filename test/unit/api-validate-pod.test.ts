// Pod validation as kube-apiserver does it for the fields a lab uses: each bad
// spec names its field, type and message; a good one passes; a pod template is
// checked by the same function under its own path; updates change only what
// kube-apiserver lets them.
import t from 'tap'
import { applyDefaults, defaultPodSpec } from '../../src/api/defaults.ts'
import type { FieldError } from '../../src/api/errors.ts'
import { byName } from '../../src/api/resources.ts'
import type { KObject } from '../../src/api/types.ts'
import { Errs } from '../../src/api/validate/errs.ts'
import { validateObject } from '../../src/api/validate/index.ts'
import { diffPaths, UPDATABLE } from '../../src/api/validate/pod-update.ts'
import { podSpecErrors, validatePodSpec, validatePodTemplateSpec } from '../../src/api/validate/pod-spec.ts'

type Spec = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
const base = (): Spec => ({ containers: [{ name: 'app', image: 'busybox:1.36', command: ['sleep'], args: ['3600'] }] })
const pod = (spec: Spec): KObject => ({ metadata: { name: 'p', namespace: 'default' }, spec })
const podErrors = (spec: Spec, old?: Spec): FieldError[] => {
  const obj = pod(spec)
  let prev: KObject | undefined
  if (old) {
    prev = pod(old)
    applyDefaults('Pod', prev)
  }
  applyDefaults('Pod', obj, prev)
  return validateObject(byName('pods'), obj, prev)
}
const withC = (c: Spec): Spec => ({ containers: [{ name: 'app', image: 'busybox', ...c }] })
const probe = (p: Spec, kind = 'readinessProbe'): Spec => withC({ [kind]: p })

t.test('a full pod of the lab passes, with its defaults', async (t) => {
  const spec: Spec = {
    containers: [
      {
        name: 'echo',
        image: 'pontoon',
        command: ['pontoon', 'echo', '--port', '8080'],
        env: [{ name: 'A', value: '1' }, { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }],
        ports: [{ name: 'tcp', containerPort: 8080 }, { name: 'udp', containerPort: 8080, protocol: 'UDP' }, { containerPort: 9000, hostPort: 9000 }],
        readinessProbe: { tcpSocket: { port: 'tcp' }, periodSeconds: 1 },
        livenessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 0 },
        startupProbe: { httpGet: { port: 8080 } },
      },
      { name: 'side', image: 'pontoon', command: ['sleep', 'infinity'] },
    ],
    initContainers: [{ name: 'init', image: 'busybox' }],
    nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
    tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }, { operator: 'Exists' }, { key: 'a', value: 'b', effect: 'NoSchedule' }],
    restartPolicy: 'Never',
    activeDeadlineSeconds: 60,
    terminationGracePeriodSeconds: 0,
    hostname: 'h',
    nodeName: 'node-1',
  }
  const obj = pod(spec)
  applyDefaults('Pod', obj)
  t.same(validateObject(byName('pods'), obj), [])
  const c = (obj.spec as Spec).containers[0]
  t.equal(obj.spec!.terminationGracePeriodSeconds, 0, 'a given grace period is kept')
  t.equal(obj.spec!.schedulerName, 'default-scheduler')
  t.equal(obj.spec!.dnsPolicy, 'ClusterFirst')
  t.equal(obj.spec!.enableServiceLinks, true)
  t.equal(c.imagePullPolicy, 'Always', 'untagged image')
  t.same(c.readinessProbe, { tcpSocket: { port: 'tcp' }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 })
  t.same(c.startupProbe.httpGet, { port: 8080, path: '/', scheme: 'HTTP' })
  t.equal(c.env[1].valueFrom.fieldRef.apiVersion, 'v1')
  t.equal(c.ports[2].protocol, 'TCP')
  t.equal((obj.spec as Spec).initContainers[0].terminationMessagePath, '/dev/termination-log')
})

t.test('defaults', async (t) => {
  const s: Spec = { containers: [{ name: 'a', image: 'x:1.0' }, { name: 'b', image: 'x:latest' }, { name: 'c', image: 'reg:5000/x' }, { name: 'd', image: 'x@sha256:abc' }, { name: 'e', image: 'reg:5000/x:2' }] }
  defaultPodSpec(s)
  t.same(s.containers.map((c: Spec) => c.imagePullPolicy), ['IfNotPresent', 'Always', 'Always', 'IfNotPresent', 'IfNotPresent'])
  t.equal(s.terminationGracePeriodSeconds, 30)
  t.equal(s.restartPolicy, 'Always')
  t.equal(s.containers[0].terminationMessagePolicy, 'File')
  const p: Spec = { containers: [{ name: 'a', image: 'x', livenessProbe: { httpGet: { port: 1, path: '/h', scheme: 'HTTPS' }, timeoutSeconds: 0, periodSeconds: 5, successThreshold: 0, failureThreshold: 7 } }] }
  defaultPodSpec(p)
  t.same(p.containers[0].livenessProbe, { httpGet: { port: 1, path: '/h', scheme: 'HTTPS' }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 7 }, 'zero is unset, given values stay')
  const keep: Spec = { restartPolicy: 'Never', dnsPolicy: 'Default', schedulerName: 'other', enableServiceLinks: false, containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Never', terminationMessagePath: '/t', terminationMessagePolicy: 'FallbackToLogsOnError', env: [{ name: 'x', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }] }] }
  const copy = structuredClone(keep)
  defaultPodSpec(keep)
  copy.terminationGracePeriodSeconds = 30
  t.same(keep, copy, 'what is given is kept')
})

// [what, spec, field, type, detail (a substring, when it matters)]
const BAD: [string, Spec, string, FieldError['type'], string?, number?][] = [
  ['no containers', { containers: [] }, 'spec.containers', 'FieldValueRequired'],
  ['containers missing', {}, 'spec.containers', 'FieldValueRequired'],
  ['containers not a list', { containers: { name: 'a' } }, 'spec.containers', 'FieldValueInvalid', 'must be a list'],
  ['a container not an object', { containers: ['a'] }, 'spec.containers[0]', 'FieldValueInvalid', 'must be an object'],
  ['container name missing', withC({ name: '' }), 'spec.containers[0].name', 'FieldValueRequired'],
  ['container name not a label', withC({ name: 'App_1' }), 'spec.containers[0].name', 'FieldValueInvalid', 'RFC 1123 label'],
  ['duplicate container names', { containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] }, 'spec.containers[1].name', 'FieldValueDuplicate'],
  ['init and regular share names', { initContainers: [{ name: 'a', image: 'x' }], containers: [{ name: 'a', image: 'y' }] }, 'spec.containers[0].name', 'FieldValueDuplicate'],
  ['image missing', { containers: [{ name: 'a' }] }, 'spec.containers[0].image', 'FieldValueRequired'],
  ['image empty', withC({ image: '' }), 'spec.containers[0].image', 'FieldValueRequired'],
  ['image not a string', withC({ image: 5 }), 'spec.containers[0].image', 'FieldValueInvalid', 'must be a string'],
  ['image with blanks', withC({ image: ' busybox' }), 'spec.containers[0].image', 'FieldValueInvalid', 'leading or trailing whitespace'],
  ['command not a list', withC({ command: 'sleep 1' }), 'spec.containers[0].command', 'FieldValueInvalid', 'list of strings'],
  ['command item not a string', withC({ command: ['sleep', 1] }), 'spec.containers[0].command[1]', 'FieldValueInvalid', 'must be a string'],
  ['args item not a string', withC({ args: [null] }), 'spec.containers[0].args[0]', 'FieldValueInvalid', 'must be a string'],
  ['workingDir not a string', withC({ workingDir: 1 }), 'spec.containers[0].workingDir', 'FieldValueInvalid'],
  ['imagePullPolicy', withC({ imagePullPolicy: 'Sometimes' }), 'spec.containers[0].imagePullPolicy', 'FieldValueNotSupported'],
  ['terminationMessagePolicy', withC({ terminationMessagePolicy: 'Log' }), 'spec.containers[0].terminationMessagePolicy', 'FieldValueNotSupported'],
  ['env not a list', withC({ env: { A: '1' } }), 'spec.containers[0].env', 'FieldValueInvalid', 'must be a list'],
  ['env item not an object', withC({ env: ['A=1'] }), 'spec.containers[0].env[0]', 'FieldValueInvalid', 'must be an object'],
  ['env name missing', withC({ env: [{ value: '1' }] }), 'spec.containers[0].env[0].name', 'FieldValueRequired'],
  ['env name with =', withC({ env: [{ name: 'A=B', value: '1' }] }), 'spec.containers[0].env[0].name', 'FieldValueInvalid', "other than '='"],
  ['env name with a control character', withC({ env: [{ name: 'A\tB' }] }), 'spec.containers[0].env[0].name', 'FieldValueInvalid', 'printable ASCII'],
  ['env value not a string', withC({ env: [{ name: 'A', value: 1 }] }), 'spec.containers[0].env[0].value', 'FieldValueInvalid', 'must be a string'],
  ['env value and valueFrom', withC({ env: [{ name: 'A', value: '1', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }), 'spec.containers[0].env[0].valueFrom', 'FieldValueInvalid', 'may not be specified when `value` is not empty'],
  ['env valueFrom empty', withC({ env: [{ name: 'A', valueFrom: {} }] }), 'spec.containers[0].env[0].valueFrom', 'FieldValueInvalid', 'must specify one of'],
  ['env valueFrom not an object', withC({ env: [{ name: 'A', valueFrom: 'x' }] }), 'spec.containers[0].env[0].valueFrom', 'FieldValueInvalid', 'must be an object'],
  ['env valueFrom two sources', withC({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { key: 'k' } } }] }), 'spec.containers[0].env[0].valueFrom', 'FieldValueInvalid', 'more than one field'],
  ['env fieldRef not an object', withC({ env: [{ name: 'A', valueFrom: { fieldRef: 'metadata.name' } }] }), 'spec.containers[0].env[0].valueFrom.fieldRef', 'FieldValueInvalid', 'must be an object'],
  ['env fieldRef without path', withC({ env: [{ name: 'A', valueFrom: { fieldRef: {} } }] }), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', 'FieldValueRequired'],
  ['env fieldRef unknown path', withC({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }] }), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', 'FieldValueNotSupported', '"status.podIP"'],
  ['env fieldRef apiVersion', withC({ env: [{ name: 'A', valueFrom: { fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } } }] }), 'spec.containers[0].env[0].valueFrom.fieldRef.apiVersion', 'FieldValueNotSupported'],
  ['env fieldRef bad label key', withC({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.labels['-x']" } } }] }), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', 'FieldValueInvalid', 'name part'],
  ['env secretKeyRef without key', withC({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's' } } }] }), 'spec.containers[0].env[0].valueFrom.secretKeyRef.key', 'FieldValueRequired'],
  ['env configMapKeyRef name not a string', withC({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 1, key: 'k' } } }] }), 'spec.containers[0].env[0].valueFrom.configMapKeyRef.name', 'FieldValueInvalid'],
  ['env resourceFieldRef without resource', withC({ env: [{ name: 'A', valueFrom: { resourceFieldRef: {} } }] }), 'spec.containers[0].env[0].valueFrom.resourceFieldRef.resource', 'FieldValueRequired'],
  ['ports not a list', withC({ ports: 80 }), 'spec.containers[0].ports', 'FieldValueInvalid', 'must be a list'],
  ['port not an object', withC({ ports: [80] }), 'spec.containers[0].ports[0]', 'FieldValueInvalid', 'must be an object'],
  ['containerPort missing', withC({ ports: [{ name: 'http' }] }), 'spec.containers[0].ports[0].containerPort', 'FieldValueRequired'],
  ['containerPort 0', withC({ ports: [{ containerPort: 0 }] }), 'spec.containers[0].ports[0].containerPort', 'FieldValueRequired'],
  ['containerPort 65536', withC({ ports: [{ containerPort: 65536 }] }), 'spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'between 1 and 65535'],
  ['containerPort negative', withC({ ports: [{ containerPort: -1 }] }), 'spec.containers[0].ports[0].containerPort', 'FieldValueInvalid', 'between 1 and 65535'],
  ['containerPort a string', withC({ ports: [{ containerPort: '80' }] }), 'spec.containers[0].ports[0].containerPort', 'FieldValueInvalid'],
  ['hostPort 70000', withC({ ports: [{ containerPort: 80, hostPort: 70000 }] }), 'spec.containers[0].ports[0].hostPort', 'FieldValueInvalid'],
  ['protocol HTTP', withC({ ports: [{ containerPort: 80, protocol: 'HTTP' }] }), 'spec.containers[0].ports[0].protocol', 'FieldValueNotSupported', '"SCTP"'],
  ['protocol empty', withC({ ports: [{ containerPort: 80, protocol: '' }] }), 'spec.containers[0].ports[0].protocol', 'FieldValueRequired'],
  ['port name not IANA', withC({ ports: [{ containerPort: 80, name: 'http_1' }] }), 'spec.containers[0].ports[0].name', 'FieldValueInvalid'],
  ['port name not a string', withC({ ports: [{ containerPort: 80, name: 80 }] }), 'spec.containers[0].ports[0].name', 'FieldValueInvalid', 'must be a string'],
  ['duplicate port names', withC({ ports: [{ containerPort: 80, name: 'web' }, { containerPort: 81, name: 'web' }] }), 'spec.containers[0].ports[1].name', 'FieldValueDuplicate'],
  ['duplicate host ports across containers', { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }, { name: 'b', image: 'x', ports: [{ containerPort: 81, hostPort: 8080 }] }] }, 'spec.containers[1].ports[0].hostPort', 'FieldValueDuplicate'],
  ['probe not an object', probe('tcp' as unknown as Spec), 'spec.containers[0].readinessProbe', 'FieldValueInvalid', 'must be an object'],
  ['probe without handler', probe({ periodSeconds: 1 }), 'spec.containers[0].readinessProbe', 'FieldValueRequired', 'must specify a handler type'],
  ['probe with two handlers', probe({ tcpSocket: { port: 80 }, exec: { command: ['true'] } }), 'spec.containers[0].readinessProbe.tcpSocket', 'FieldValueForbidden', 'may not specify more than 1 handler type'],
  ['probe with three handlers', probe({ exec: { command: ['true'] }, httpGet: { port: 1 }, grpc: { port: 1 } }), 'spec.containers[0].readinessProbe.grpc', 'FieldValueForbidden', 'may not specify more than 1 handler type', 2],
  ['handler not an object', probe({ tcpSocket: 80 }), 'spec.containers[0].readinessProbe.tcpSocket', 'FieldValueInvalid', 'must be an object'],
  ['tcpSocket without port', probe({ tcpSocket: {} }), 'spec.containers[0].readinessProbe.tcpSocket.port', 'FieldValueInvalid', 'between 1 and 65535'],
  ['tcpSocket port 0', probe({ tcpSocket: { port: 0 } }), 'spec.containers[0].readinessProbe.tcpSocket.port', 'FieldValueInvalid'],
  ['tcpSocket bad port name', probe({ tcpSocket: { port: 'no_such' } }), 'spec.containers[0].readinessProbe.tcpSocket.port', 'FieldValueInvalid'],
  ['tcpSocket host not a string', probe({ tcpSocket: { port: 80, host: 1 } }), 'spec.containers[0].readinessProbe.tcpSocket.host', 'FieldValueInvalid'],
  ['exec without command', probe({ exec: {} }), 'spec.containers[0].readinessProbe.exec.command', 'FieldValueRequired'],
  ['exec with empty command', probe({ exec: { command: [] } }), 'spec.containers[0].readinessProbe.exec.command', 'FieldValueRequired'],
  ['exec command not a list', probe({ exec: { command: 'true' } }), 'spec.containers[0].readinessProbe.exec.command', 'FieldValueInvalid', 'list of strings'],
  ['exec command item', probe({ exec: { command: ['true', 1] } }), 'spec.containers[0].readinessProbe.exec.command[1]', 'FieldValueInvalid'],
  ['httpGet bad port', probe({ httpGet: { port: 70000 } }), 'spec.containers[0].readinessProbe.httpGet.port', 'FieldValueInvalid'],
  ['httpGet empty path', probe({ httpGet: { port: 80, path: '' } }), 'spec.containers[0].readinessProbe.httpGet.path', 'FieldValueRequired'],
  ['httpGet scheme', probe({ httpGet: { port: 80, scheme: 'FTP' } }), 'spec.containers[0].readinessProbe.httpGet.scheme', 'FieldValueNotSupported'],
  ['httpGet host not a string', probe({ httpGet: { port: 80, host: [] } }), 'spec.containers[0].readinessProbe.httpGet.host', 'FieldValueInvalid'],
  ['grpc port name', probe({ grpc: { port: 'grpc' } }), 'spec.containers[0].readinessProbe.grpc.port', 'FieldValueInvalid'],
  ['grpc service not a string', probe({ grpc: { port: 9000, service: 1 } }), 'spec.containers[0].readinessProbe.grpc.service', 'FieldValueInvalid'],
  ['periodSeconds negative', probe({ tcpSocket: { port: 80 }, periodSeconds: -1 }), 'spec.containers[0].readinessProbe.periodSeconds', 'FieldValueInvalid', 'greater than or equal to 0'],
  ['timeoutSeconds not an integer', probe({ tcpSocket: { port: 80 }, timeoutSeconds: 1.5 }), 'spec.containers[0].readinessProbe.timeoutSeconds', 'FieldValueInvalid', 'must be an integer'],
  ['initialDelaySeconds negative', probe({ tcpSocket: { port: 80 }, initialDelaySeconds: -5 }), 'spec.containers[0].readinessProbe.initialDelaySeconds', 'FieldValueInvalid'],
  ['failureThreshold a string', probe({ tcpSocket: { port: 80 }, failureThreshold: '3' }), 'spec.containers[0].readinessProbe.failureThreshold', 'FieldValueInvalid'],
  ['successThreshold negative', probe({ tcpSocket: { port: 80 }, successThreshold: -1 }), 'spec.containers[0].readinessProbe.successThreshold', 'FieldValueInvalid'],
  ['liveness successThreshold 2', probe({ tcpSocket: { port: 80 }, successThreshold: 2 }, 'livenessProbe'), 'spec.containers[0].livenessProbe.successThreshold', 'FieldValueInvalid', 'must be 1'],
  ['startup successThreshold 3', probe({ tcpSocket: { port: 80 }, successThreshold: 3 }, 'startupProbe'), 'spec.containers[0].startupProbe.successThreshold', 'FieldValueInvalid', 'must be 1'],
  ['readiness probe grace', probe({ tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 5 }), 'spec.containers[0].readinessProbe.terminationGracePeriodSeconds', 'FieldValueInvalid', 'readinessProbes'],
  ['liveness probe grace 0', probe({ tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 0 }, 'livenessProbe'), 'spec.containers[0].livenessProbe.terminationGracePeriodSeconds', 'FieldValueInvalid', 'greater than 0'],
  ['liveness probe grace not an integer', probe({ tcpSocket: { port: 80 }, terminationGracePeriodSeconds: 'x' }, 'livenessProbe'), 'spec.containers[0].livenessProbe.terminationGracePeriodSeconds', 'FieldValueInvalid'],
  ['a probe on an init container', { initContainers: [{ name: 'i', image: 'x', readinessProbe: { tcpSocket: { port: 80 } } }], containers: [{ name: 'a', image: 'x' }] }, 'spec.initContainers[0].readinessProbe', 'FieldValueForbidden'],
  ['a bad init container', { initContainers: [{ name: 'i' }], containers: [{ name: 'a', image: 'x' }] }, 'spec.initContainers[0].image', 'FieldValueRequired'],
  ['initContainers not a list', { initContainers: {}, containers: [{ name: 'a', image: 'x' }] }, 'spec.initContainers', 'FieldValueInvalid'],
  ['restartPolicy', { ...base(), restartPolicy: 'Sometimes' }, 'spec.restartPolicy', 'FieldValueNotSupported', '"OnFailure"'],
  ['restartPolicy empty', { ...base(), restartPolicy: '' }, 'spec.restartPolicy', 'FieldValueRequired'],
  ['dnsPolicy', { ...base(), dnsPolicy: 'Mine' }, 'spec.dnsPolicy', 'FieldValueNotSupported'],
  ['terminationGracePeriodSeconds negative', { ...base(), terminationGracePeriodSeconds: -1 }, 'spec.terminationGracePeriodSeconds', 'FieldValueInvalid', 'greater than or equal to 0'],
  ['terminationGracePeriodSeconds not an integer', { ...base(), terminationGracePeriodSeconds: 0.5 }, 'spec.terminationGracePeriodSeconds', 'FieldValueInvalid', 'must be an integer'],
  ['activeDeadlineSeconds 0', { ...base(), activeDeadlineSeconds: 0 }, 'spec.activeDeadlineSeconds', 'FieldValueInvalid', 'between 1 and 2147483647'],
  ['activeDeadlineSeconds too large', { ...base(), activeDeadlineSeconds: 2147483648 }, 'spec.activeDeadlineSeconds', 'FieldValueInvalid'],
  ['nodeSelector bad key', { ...base(), nodeSelector: { 'a b': 'x' } }, 'spec.nodeSelector', 'FieldValueInvalid', 'name part'],
  ['nodeSelector bad value', { ...base(), nodeSelector: { a: 'x y' } }, 'spec.nodeSelector', 'FieldValueInvalid', 'a valid label'],
  ['nodeSelector not a map', { ...base(), nodeSelector: ['a'] }, 'spec.nodeSelector', 'FieldValueInvalid'],
  ['nodeName not a subdomain', { ...base(), nodeName: 'Node_1' }, 'spec.nodeName', 'FieldValueInvalid', 'RFC 1123 subdomain'],
  ['nodeName not a string', { ...base(), nodeName: 1 }, 'spec.nodeName', 'FieldValueInvalid', 'must be a string'],
  ['serviceAccountName', { ...base(), serviceAccountName: 'A' }, 'spec.serviceAccountName', 'FieldValueInvalid'],
  ['schedulerName', { ...base(), schedulerName: 'my scheduler' }, 'spec.schedulerName', 'FieldValueInvalid'],
  ['hostname', { ...base(), hostname: 'a.b' }, 'spec.hostname', 'FieldValueInvalid'],
  ['subdomain not a string', { ...base(), subdomain: 1 }, 'spec.subdomain', 'FieldValueInvalid'],
  ['tolerations not a list', { ...base(), tolerations: {} }, 'spec.tolerations', 'FieldValueInvalid'],
  ['toleration not an object', { ...base(), tolerations: ['x'] }, 'spec.tolerations[0]', 'FieldValueInvalid'],
  ['toleration key', { ...base(), tolerations: [{ key: '-k', operator: 'Exists' }] }, 'spec.tolerations[0].key', 'FieldValueInvalid'],
  ['toleration key not a string', { ...base(), tolerations: [{ key: 1, operator: 'Exists' }] }, 'spec.tolerations[0].key', 'FieldValueInvalid'],
  ['toleration without key needs Exists', { ...base(), tolerations: [{ value: 'v' }] }, 'spec.tolerations[0].operator', 'FieldValueInvalid', 'must be Exists when `key` is empty'],
  ['toleration operator', { ...base(), tolerations: [{ key: 'k', operator: 'In' }] }, 'spec.tolerations[0].operator', 'FieldValueNotSupported'],
  ['toleration Exists with a value', { ...base(), tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] }, 'spec.tolerations[0].value', 'FieldValueInvalid', 'must be empty'],
  ['toleration bad value', { ...base(), tolerations: [{ key: 'k', value: 'a b' }] }, 'spec.tolerations[0].value', 'FieldValueInvalid'],
  ['toleration value not a string', { ...base(), tolerations: [{ key: 'k', value: 1 }] }, 'spec.tolerations[0].value', 'FieldValueInvalid'],
  ['toleration effect', { ...base(), tolerations: [{ key: 'k', effect: 'Evict' }] }, 'spec.tolerations[0].effect', 'FieldValueNotSupported'],
  ['tolerationSeconds without NoExecute', { ...base(), tolerations: [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 1 }] }, 'spec.tolerations[0].effect', 'FieldValueInvalid', "must be 'NoExecute'"],
  ['tolerationSeconds not an integer', { ...base(), tolerations: [{ key: 'k', effect: 'NoExecute', tolerationSeconds: 'x' }] }, 'spec.tolerations[0].tolerationSeconds', 'FieldValueInvalid'],
]

for (const [what, spec, field, type, detail, count = 1] of BAD) {
  t.test(`bad: ${what}`, async (t) => {
    const errs = podErrors(spec)
    const hit = errs.find((e) => e.field === field)
    t.ok(hit, `names ${field}: ${JSON.stringify(errs)}`)
    t.equal(hit?.type, type, 'type')
    if (detail) t.match(hit?.detail, detail, 'detail')
    t.equal(errs.length, count, `only that: ${JSON.stringify(errs)}`)
  })
}

t.test('spec missing or not an object', async (t) => {
  t.match(podErrors(undefined as unknown as Spec), [{ field: 'spec', type: 'FieldValueRequired' }])
  t.match(podSpecErrors('x', 'spec'), [{ field: 'spec', type: 'FieldValueInvalid' }])
})

t.test('a pod template is checked under its own path, and may keep blanks around its image', async (t) => {
  const e = new Errs()
  validatePodSpec({ containers: [{ name: 'a', image: ' x ' }] }, 'spec.template.spec', e, { template: true })
  t.same(e.list, [])
  t.match(podSpecErrors({ containers: [{ name: 'a' }] }, 'spec.template.spec', { template: true }), [{ field: 'spec.template.spec.containers[0].image', type: 'FieldValueRequired' }])
  const t2 = new Errs()
  validatePodTemplateSpec({ metadata: { labels: { app: 'a b' }, annotations: { 'x y': '1' } }, spec: { containers: [{ name: 'a', image: 'x', ports: [{ containerPort: 0 }] }] } }, 'spec.template', t2)
  t.same(t2.list.map((x) => x.field), ['spec.template.metadata.labels', 'spec.template.metadata.annotations', 'spec.template.spec.containers[0].ports[0].containerPort'])
  const t3 = new Errs()
  validatePodTemplateSpec(undefined, 'spec.template', t3)
  t.match(t3.list, [{ field: 'spec.template', type: 'FieldValueRequired' }])
  const t4 = new Errs()
  validatePodTemplateSpec({ metadata: 'x', spec: base() }, 'spec.template', t4)
  t.match(t4.list, [{ field: 'spec.template.metadata', type: 'FieldValueInvalid' }])
  const t5 = new Errs()
  validatePodTemplateSpec([], 'spec.template', t5)
  t.match(t5.list, [{ field: 'spec.template', type: 'FieldValueInvalid' }])
  const t6 = new Errs()
  validatePodTemplateSpec({ spec: base() }, 'spec.template', t6)
  t.same(t6.list, [], 'metadata is optional')
})

t.test('several problems are all reported, in order', async (t) => {
  const errs = podErrors({ containers: [{ name: 'A', ports: [{ containerPort: 0 }] }], restartPolicy: 'x' })
  t.same(errs.map((e) => e.field), ['spec.containers[0].name', 'spec.containers[0].image', 'spec.containers[0].ports[0].containerPort', 'spec.restartPolicy'])
})

t.test('updates: images, activeDeadlineSeconds and added tolerations may change; nothing else', async (t) => {
  const old: Spec = { ...base(), activeDeadlineSeconds: 100, tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }] }
  const same = () => structuredClone(old)
  t.same(podErrors(same(), old), [], 'no change')
  const image = same()
  image.containers[0].image = 'busybox:1.37'
  t.same(podErrors(image, old), [], 'image')
  const shorter = { ...same(), activeDeadlineSeconds: 50 }
  t.same(podErrors(shorter, old), [], 'activeDeadlineSeconds shortened')
  t.match(podErrors({ ...same(), activeDeadlineSeconds: 200 }, old), [{ field: 'spec.activeDeadlineSeconds', type: 'FieldValueInvalid', detail: 'must be less than or equal to previous value' }])
  const unset = same() as Spec
  delete unset.activeDeadlineSeconds
  t.match(podErrors(unset, old), [{ field: 'spec.activeDeadlineSeconds', detail: 'must not update from a positive integer to nil value' }])
  const noDeadline = structuredClone(base())
  t.same(podErrors({ ...noDeadline, activeDeadlineSeconds: 10 }, noDeadline), [], 'activeDeadlineSeconds set for the first time')
  const added = same()
  added.tolerations.push({ key: 'new', operator: 'Exists' } as never)
  t.same(podErrors(added, old), [], 'a toleration added')
  const seconds = same()
  seconds.tolerations[0]!.tolerationSeconds = 10
  t.same(podErrors(seconds, old), [], 'tolerationSeconds changed')
  const removed = { ...same(), tolerations: [] }
  t.match(podErrors(removed, old), [{ field: 'spec.tolerations', type: 'FieldValueForbidden', detail: 'existing toleration can not be modified' }])
  const modified = same()
  modified.tolerations[0]!.key = 'other'
  t.match(podErrors(modified, old), [{ field: 'spec.tolerations', type: 'FieldValueForbidden' }])
  const noTolerations = structuredClone(base())
  t.same(podErrors({ ...noTolerations, tolerations: [{ operator: 'Exists' }] }, noTolerations), [], 'tolerations added where there were none')

  const cmd = same()
  cmd.containers[0].command = ['true']
  const errs = podErrors(cmd, old)
  t.equal(errs.length, 1)
  t.equal(errs[0]!.field, 'spec')
  t.equal(errs[0]!.type, 'FieldValueForbidden')
  t.ok(errs[0]!.detail.startsWith(UPDATABLE), errs[0]!.detail)
  t.match(errs[0]!.detail, /\n  changed: spec\.containers\[0\]\.command\[0\]$/)
  t.match(podErrors({ ...same(), nodeName: 'node-2' }, old), [{ field: 'spec', detail: /changed: spec\.nodeName$/ }], 'nodeName is not changed by update (binding does it)')
  t.match(podErrors({ ...same(), containers: [...same().containers, { name: 'b', image: 'x' }] }, old), [{ field: 'spec', detail: /changed: spec\.containers$/ }], 'a container added')
  const two = { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] }
  const twoNew = structuredClone(two)
  twoNew.containers[1]!.image = 'z'
  t.same(podErrors(twoNew, two), [], 'the second image')
  const emptyImage = structuredClone(two)
  emptyImage.containers[0]!.image = ''
  t.match(podErrors(emptyImage, two), [{ field: 'spec.containers[0].image', type: 'FieldValueRequired' }], 'an image may not be emptied')
  const init = { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }] }
  const initNew = structuredClone(init)
  initNew.initContainers[0]!.image = 'y'
  t.same(podErrors(initNew, init), [], 'an init container image')
  const wide = { ...structuredClone(base()), nodeSelector: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, 'v'])) }
  const wideNew = { ...structuredClone(base()), nodeSelector: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, 'w'])) }
  const w = podErrors(wideNew, wide)
  t.match(w[0]!.detail, /changed: spec\.nodeSelector\.k0, .*spec\.nodeSelector\.k9, and 2 more$/, 'a long list is cut at 10')
})

t.test('a status write or a no-op on a pod with odd old fields passes the update check', async (t) => {
  const e = new Errs()
  // old spec not an object (stored before validation was stricter): nothing to compare
  const { validatePodUpdate } = await import('../../src/api/validate/pod-update.ts')
  validatePodUpdate(pod(base()), { metadata: {}, spec: undefined }, e)
  t.same(e.list, [])
})

t.test('diffPaths names the first differing key or index', async (t) => {
  const out: string[] = []
  diffPaths({ a: 1, b: [1, 2], c: { d: 1 }, e: [1] }, { a: 1, b: [1, 3], c: { d: 2, x: 1 }, e: [1, 2] }, 's', out)
  t.same(out, ['s.b[1]', 's.c.d', 's.c.x', 's.e'])
  const none: string[] = []
  diffPaths({ a: { b: 1, c: 2 } }, { a: { c: 2, b: 1 } }, 's', none)
  t.same(none, [], 'key order does not matter')
})
