import t from 'tap'
import { ContainerConfigError, expand, fieldValue, launchSpec, NO_COMMAND_MESSAGE, type PodFacts } from '../../src/lab/kubelet/container-env.ts'

const facts: PodFacts = {
  name: 'web-1', namespace: 'app', uid: 'u-1', nodeName: 'node-2', labels: { app: 'web' }, annotations: { note: 'n' },
  podIP: '10.244.1.5', podIPs: ['10.244.1.5', 'fd00::5'], hostIP: '172.18.0.12',
}

t.test('$(VAR) expansion as Kubernetes does it', async (t) => {
  const m = (n: string) => ({ A: 'x', B: 'y', EMPTY: '' } as Record<string, string>)[n]
  t.equal(expand('$(A)-$(B)', m), 'x-y')
  t.equal(expand('$(MISSING)', m), '$(MISSING)', 'unknown names stay as written')
  t.equal(expand('$$(A)', m), '$(A)', '$$ escapes')
  t.equal(expand('a$$b', m), 'a$b')
  t.equal(expand('$(EMPTY)!', m), '!', 'a defined empty value replaces')
  t.equal(expand('$(A', m), '$(A', 'no closing paren: kept')
  t.equal(expand('$()', m), '$()', 'empty name kept')
  t.equal(expand('cost $5', m), 'cost $5', 'a lone $ is literal')
  t.equal(expand('end$', m), 'end$', 'a trailing $ is literal')
  t.equal(expand('', m), '')
  t.equal(expand('$(A)$(A)', m), 'xx')
})

t.test('fieldRef paths of the downward API', async (t) => {
  t.equal(fieldValue(facts, 'metadata.name'), 'web-1')
  t.equal(fieldValue(facts, 'metadata.namespace'), 'app')
  t.equal(fieldValue(facts, 'metadata.uid'), 'u-1')
  t.equal(fieldValue(facts, 'spec.nodeName'), 'node-2')
  t.equal(fieldValue(facts, 'spec.serviceAccountName'), 'default')
  t.equal(fieldValue({ ...facts, serviceAccountName: 'sa' }, 'spec.serviceAccountName'), 'sa')
  t.equal(fieldValue(facts, 'status.podIP'), '10.244.1.5')
  t.equal(fieldValue(facts, 'status.podIPs'), '10.244.1.5,fd00::5')
  t.equal(fieldValue(facts, 'status.hostIP'), '172.18.0.12')
  t.equal(fieldValue(facts, "metadata.labels['app']"), 'web')
  t.equal(fieldValue(facts, "metadata.annotations['note']"), 'n')
  t.equal(fieldValue(facts, "metadata.labels['none']"), '')
  t.throws(() => fieldValue(facts, 'spec.containers'), { code: 'EFIELD_PATH', reason: 'CreateContainerConfigError', message: 'fieldRef "spec.containers" is not supported' })
})

t.test('the environment: lab base, Services, then the container, which wins', async (t) => {
  const services = [{ name: 'WEB_SERVICE_HOST', value: '10.96.0.9' }, { name: 'POD_NAME', value: 'from-a-service' }, { name: 'OVERRIDE', value: 'svc' }]
  const s = launchSpec(facts, {
    name: 'c', command: ['run', '$(GREETING)'], args: ['--host=$(WEB_SERVICE_HOST)', '$(NOPE)'],
    env: [
      { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'GREETING', value: 'hi $(ME) $(WEB_SERVICE_HOST)' },
      { name: 'LATER', value: '$(AFTER)' },
      { name: 'AFTER', value: 'a' },
      { name: 'OVERRIDE', value: 'mine' },
      { name: 'BLANK' },
      'junk', { value: 'no name' },
    ],
  }, services, '/opt/pontoon/bin')
  t.same(s.argv, ['run', 'hi web-1 10.96.0.9', '--host=10.96.0.9', '$(NOPE)'])
  t.equal(s.env.PATH, '/opt/pontoon/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
  t.equal(s.env.HOSTNAME, 'web-1')
  t.equal(s.env.POD_NAMESPACE, 'app')
  t.equal(s.env.POD_IP, '10.244.1.5')
  t.equal(s.env.POD_NAME, 'from-a-service', 'a Service variable is set after the base (kubelet adds it after the image env)')
  t.equal(s.env.WEB_SERVICE_HOST, '10.96.0.9')
  t.equal(s.env.ME, 'web-1')
  t.equal(s.env.GREETING, 'hi web-1 10.96.0.9')
  t.equal(s.env.LATER, '$(AFTER)', 'only earlier variables expand')
  t.equal(s.env.OVERRIDE, 'mine', "the container's own env wins over a Service's")
  t.equal(s.env.BLANK, '')
  t.notOk('undefined' in s.env)
  t.same(Object.keys(s.env).slice(0, 5), ['PATH', 'HOSTNAME', 'POD_NAME', 'POD_NAMESPACE', 'POD_IP'])
  t.equal(launchSpec(facts, { name: 'c', command: ['x'] }, [], '').env.PATH, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'no launcher dir: the system PATH')
  t.same(launchSpec(facts, { name: 'c', command: ['x'], env: 'nope' }, [], '').argv, ['x'])
})

t.test('what cannot run says why, with the waiting reason', async (t) => {
  for (const c of [{ name: 'c' }, { name: 'c', command: [] }, { name: 'c', args: ['only', 'args'] }, { name: 'c', command: null }]) {
    t.throws(() => launchSpec(facts, c, [], ''), new ContainerConfigError('ENOCOMMAND', 'CreateContainerError', NO_COMMAND_MESSAGE))
  }
  t.throws(() => launchSpec(facts, { name: 'c', command: 'sh' }, [], ''), { code: 'ENOCOMMAND', message: 'command must be a list of strings' })
  t.throws(() => launchSpec(facts, { name: 'c', command: ['sh', 1] }, [], ''), { code: 'ENOCOMMAND' })
  t.throws(() => launchSpec(facts, { name: 'c', command: ['sh'], args: 'x' }, [], ''), { message: 'args must be a list of strings' })
  t.throws(() => launchSpec(facts, { name: 'c', command: ['sh'], env: [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, [], ''),
    { code: 'EENV_SOURCE', reason: 'CreateContainerConfigError', message: 'env S: secretKeyRef is not supported by the lab kubelet (only fieldRef)' })
  t.throws(() => launchSpec(facts, { name: 'c', command: ['sh'], env: [{ name: 'S', valueFrom: { fieldRef: { fieldPath: 'bogus' } } }] }, [], ''), { code: 'EFIELD_PATH' })
  t.throws(() => launchSpec(facts, { name: 'c', command: ['sh'], env: [{ name: 'S', valueFrom: {} }] }, [], ''), { code: 'EENV_SOURCE', message: /valueFrom is not supported/ })
})
