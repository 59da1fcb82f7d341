import t from 'tap'
import { validateObject } from '../../src/api/validate/index.ts'
import { byName } from '../../src/api/resources.ts'
import { applyDefaults } from '../../src/api/defaults.ts'
import type { KObject } from '../../src/api/types.ts'
import { podTemplateHash, safeEncode, fnv1a32, sameTemplate, withoutHash } from '../../src/api/controllers/pod-template-hash.ts'
import { isEmptySelector, requirementsOf, selectorString, selects } from '../../src/api/selectors/label-selector.ts'
import { canonical } from '../../src/api/canonical-json.ts'

const deployment = (f: (d: any) => void = () => {}): KObject => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const d: any = { // eslint-disable-line @typescript-eslint/no-explicit-any
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  }
  f(d)
  return d
}
const errs = (kind: 'deployments' | 'replicasets', o: KObject, old?: KObject) => validateObject(byName(kind), o, old).map((e) => `${e.field}: ${e.type}${'detail' in e && e.detail ? `: ${e.detail}` : ''}`)

t.test('a good Deployment and ReplicaSet pass', async (t) => {
  t.same(errs('deployments', deployment()), [])
  const rs = deployment((d) => { d.kind = 'ReplicaSet'; delete d.spec.strategy; d.spec.minReadySeconds = 5 })
  t.same(errs('replicasets', rs), [])
})

t.test('each rule, with kube-apiserver\'s field and message', async (t) => {
  const cases: [string, (d: any) => void, string[]][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['no spec', (d) => delete d.spec, ['spec: FieldValueRequired']],
    ['replicas -1', (d) => (d.spec.replicas = -1), ['spec.replicas: FieldValueInvalid: must be greater than or equal to 0']],
    ['replicas 1.5', (d) => (d.spec.replicas = 1.5), ['spec.replicas: FieldValueInvalid: must be an integer']],
    ['replicas over the bound', (d) => (d.spec.replicas = 1001), ['spec.replicas: FieldValueInvalid: must be no more than 1000 (pontoon api bounds the Pods one controller makes)']],
    ['replicas at the bound', (d) => (d.spec.replicas = 1000), []],
    ['replicas 0', (d) => (d.spec.replicas = 0), []],
    ['minReadySeconds', (d) => (d.spec.minReadySeconds = -1), ['spec.minReadySeconds: FieldValueInvalid: must be greater than or equal to 0']],
    ['revisionHistoryLimit', (d) => (d.spec.revisionHistoryLimit = -2), ['spec.revisionHistoryLimit: FieldValueInvalid: must be greater than or equal to 0']],
    ['progressDeadlineSeconds <= minReadySeconds', (d) => { d.spec.progressDeadlineSeconds = 5; d.spec.minReadySeconds = 5 }, ['spec.progressDeadlineSeconds: FieldValueInvalid: must be greater than minReadySeconds']],
    ['progressDeadlineSeconds 0', (d) => (d.spec.progressDeadlineSeconds = 0), ['spec.progressDeadlineSeconds: FieldValueInvalid: must be greater than minReadySeconds']],
    ['progressDeadlineSeconds 1', (d) => (d.spec.progressDeadlineSeconds = 1), []],
    ['paused', (d) => (d.spec.paused = 'yes'), ['spec.paused: FieldValueInvalid: must be a boolean']],
    ['no strategy', (d) => delete d.spec.strategy, ['spec.strategy: FieldValueRequired']],
    ['strategy type', (d) => (d.spec.strategy.type = 'Blue'), ['spec.strategy.type: FieldValueNotSupported: supported values: "Recreate", "RollingUpdate"']],
    ['Recreate with rollingUpdate', (d) => (d.spec.strategy.type = 'Recreate'), ["spec.strategy.rollingUpdate: FieldValueForbidden: may not be specified when strategy `type` is 'Recreate'"]],
    ['Recreate', (d) => (d.spec.strategy = { type: 'Recreate' }), []],
    ['Recreate, null rollingUpdate', (d) => (d.spec.strategy = { type: 'Recreate', rollingUpdate: null }), []],
    ['no rollingUpdate', (d) => delete d.spec.strategy.rollingUpdate, ['spec.strategy.rollingUpdate: FieldValueRequired: this should be defaulted and never be nil']],
    ['both zero', (d) => (d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: '0%' }), ['spec.strategy.rollingUpdate.maxUnavailable: FieldValueInvalid: may not be 0 when `maxSurge` is 0']],
    ['surge zero only', (d) => (d.spec.strategy.rollingUpdate = { maxSurge: 0, maxUnavailable: 1 }), []],
    ['unavailable zero only', (d) => (d.spec.strategy.rollingUpdate = { maxSurge: '1%', maxUnavailable: 0 }), []],
    ['negative surge', (d) => (d.spec.strategy.rollingUpdate.maxSurge = -1), ['spec.strategy.rollingUpdate.maxSurge: FieldValueInvalid: must be greater than or equal to 0']],
    ['bad percent', (d) => (d.spec.strategy.rollingUpdate.maxUnavailable = '5'), ["spec.strategy.rollingUpdate.maxUnavailable: FieldValueInvalid: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"]],
    ['not int or string', (d) => (d.spec.strategy.rollingUpdate.maxSurge = true), ['spec.strategy.rollingUpdate.maxSurge: FieldValueInvalid: must be an integer or a percent string']],
    ['over 100%', (d) => (d.spec.strategy.rollingUpdate.maxUnavailable = '101%'), ['spec.strategy.rollingUpdate.maxUnavailable: FieldValueInvalid: must not be greater than 100%']],
    ['100%', (d) => (d.spec.strategy.rollingUpdate.maxUnavailable = '100%'), []],
    ['surge over 100% is fine', (d) => (d.spec.strategy.rollingUpdate.maxSurge = '300%'), []],
    ['no selector', (d) => delete d.spec.selector, ['spec.selector: FieldValueRequired']],
    ['null selector', (d) => (d.spec.selector = null), ['spec.selector: FieldValueRequired']],
    ['empty selector', (d) => (d.spec.selector = {}), ['spec.selector: FieldValueInvalid: empty selector is invalid for deployment']],
    ['selector not an object', (d) => (d.spec.selector = 'app=web'), ['spec.selector: FieldValueInvalid: must be an object']],
    ['selector mismatch', (d) => (d.spec.template.metadata.labels = { app: 'other' }), ['spec.template.metadata.labels: FieldValueInvalid: `selector` does not match template `labels`']],
    ['template without labels', (d) => delete d.spec.template.metadata, ['spec.template.metadata.labels: FieldValueInvalid: `selector` does not match template `labels`']],
    ['bad label', (d) => (d.spec.template.metadata.labels = { app: 'web', 'bad key!': 'x' }), [/^spec\.template\.metadata\.labels: FieldValueInvalid: name part must consist/ as unknown as string]],
    ['bad annotation', (d) => (d.spec.template.metadata.annotations = { a: 5 }), ['spec.template.metadata.annotations[a]: FieldValueInvalid: must be a string']],
    ['no template', (d) => delete d.spec.template, ['spec.template: FieldValueRequired']],
    ['template spec errors move under spec.template', (d) => (d.spec.template.spec.containers[0].image = ''), ['spec.template.spec.containers[0].image: FieldValueRequired']],
    ['no template spec', (d) => delete d.spec.template.spec, ['spec.template.spec: FieldValueRequired']],
    ['restartPolicy', (d) => (d.spec.template.spec.restartPolicy = 'OnFailure'), ['spec.template.spec.restartPolicy: FieldValueNotSupported: supported values: "Always"']],
    ['restartPolicy Always', (d) => (d.spec.template.spec.restartPolicy = 'Always'), []],
    ['activeDeadlineSeconds', (d) => (d.spec.template.spec.activeDeadlineSeconds = 5), ['spec.template.spec.activeDeadlineSeconds: FieldValueForbidden: activeDeadlineSeconds in ReplicaSet is not Supported']],
    ['expressions', (d) => { d.spec.selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'x'] }, { key: 'tier', operator: 'DoesNotExist' }] } }, []],
    ['expressions not a list', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: {} }), ['spec.selector.matchExpressions: FieldValueInvalid: must be a list']],
    ['expression not an object', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: ['x'] }), ['spec.selector.matchExpressions[0]: FieldValueInvalid: must be an object']],
    ['In without values', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'a', operator: 'In' }] }), ["spec.selector.matchExpressions[0].values: FieldValueRequired: must be specified when `operator` is 'In' or 'NotIn'"]],
    ['NotIn with empty values', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }), ["spec.selector.matchExpressions[0].values: FieldValueRequired: must be specified when `operator` is 'In' or 'NotIn'"]],
    ['Exists with values', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] }), ["spec.selector.matchExpressions[0].values: FieldValueForbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"]],
    ['bad operator', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Near' }] }), ['spec.selector.matchExpressions[0].operator: FieldValueInvalid: not a valid selector operator (one of In, NotIn, Exists, DoesNotExist)']],
    ['no key', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ operator: 'Exists' }] }), ['spec.selector.matchExpressions[0].key: FieldValueRequired']],
    ['bad key', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: '-x', operator: 'DoesNotExist' }] }), [/^spec\.selector\.matchExpressions\[0\]\.key: FieldValueInvalid: name part must consist/ as unknown as string]],
    ['values not strings', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'In', values: [1] }] }), ['spec.selector.matchExpressions[0].values: FieldValueInvalid: must be a list of strings']],
    ['values not a list', (d) => (d.spec.selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'app', operator: 'Exists', values: 'x' }] }), ['spec.selector.matchExpressions[0].values: FieldValueInvalid: must be a list of strings']],
    ['bad matchLabels', (d) => (d.spec.selector = { matchLabels: { app: 7 } }), ['spec.selector.matchLabels[app]: FieldValueInvalid: must be a string', 'spec.selector: FieldValueInvalid: empty selector is invalid for deployment']],
  ]
  for (const [what, f, want] of cases) {
    const got = errs('deployments', deployment(f))
    if (want.some((w) => (w as unknown) instanceof RegExp)) {
      t.equal(got.length, want.length, `${what}: ${got.join(' | ')}`)
      want.forEach((w, i) => t.match(got[i], w, what))
    } else t.same(got, want, what)
  }
})

t.test('ReplicaSet rules: the same selector, template and replicas; no strategy', async (t) => {
  const rs = (f: (d: any) => void) => deployment((d) => { d.kind = 'ReplicaSet'; delete d.spec.strategy; f(d) }) // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(errs('replicasets', rs((d) => (d.spec.replicas = -1))), ['spec.replicas: FieldValueInvalid: must be greater than or equal to 0'])
  t.same(errs('replicasets', rs((d) => (d.spec.minReadySeconds = -1))), ['spec.minReadySeconds: FieldValueInvalid: must be greater than or equal to 0'])
  t.same(errs('replicasets', rs((d) => (d.spec.selector = {}))), ['spec.selector: FieldValueInvalid: empty selector is invalid for deployment'])
  t.same(errs('replicasets', rs((d) => delete d.spec)), ['spec: FieldValueRequired'])
  t.same(errs('replicasets', rs((d) => (d.spec.template.metadata.labels = {}))), ['spec.template.metadata.labels: FieldValueInvalid: `selector` does not match template `labels`'])
})

t.test('the selector is immutable; other updates pass', async (t) => {
  const old = deployment()
  t.same(errs('deployments', deployment((d) => (d.spec.replicas = 5)), old), [])
  t.same(errs('deployments', deployment((d) => (d.spec.selector = { matchLabels: { app: 'web' } })), old), [], 'an equal selector is no change')
  t.same(errs('deployments', deployment((d) => { d.spec.selector = { matchLabels: { app: 'z' } }; d.spec.template.metadata.labels = { app: 'z' } }), old), ['spec.selector: FieldValueInvalid: field is immutable'])
  const rsOld = deployment((d) => { d.kind = 'ReplicaSet'; delete d.spec.strategy })
  t.same(errs('replicasets', deployment((d) => { d.kind = 'ReplicaSet'; delete d.spec.strategy; d.spec.selector.matchLabels.x = 'y'; d.spec.template.metadata.labels.x = 'y' }), rsOld), ['spec.selector: FieldValueInvalid: field is immutable'])
})

t.test('defaults: replicas, strategy, history, deadline, pod defaults in the template', async (t) => {
  const d: KObject = { metadata: {}, spec: { template: { spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] } } } }
  applyDefaults('Deployment', d)
  t.match(d.spec, { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, template: { spec: { restartPolicy: 'Always', containers: [{ ports: [{ protocol: 'TCP' }] }] } } })
  t.same(d.status, {})
  const r: KObject = { metadata: {}, spec: { replicas: 0, strategy: { type: 'Recreate' } } }
  applyDefaults('Deployment', r)
  t.same(r.spec!.strategy, { type: 'Recreate' }, 'Recreate gets no rollingUpdate')
  t.equal(r.spec!.replicas, 0)
  const rs: KObject = { metadata: {}, spec: {} }
  applyDefaults('ReplicaSet', rs)
  t.same(rs.spec, { replicas: 1 }, 'a ReplicaSet has no strategy, history or deadline')
  const none: KObject = { metadata: {} }
  applyDefaults('Deployment', none)
  t.same(none, { metadata: {} })
})

t.test('pod-template-hash: FNV-1a of the template through the safe alphabet', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5)
  t.equal(fnv1a32('a'), 0xe40c292c)
  t.equal(fnv1a32('foobar'), 0xbf9cf968)
  t.equal(safeEncode('0123456789'), '456789bcdf')
  const tmpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } }
  const h = podTemplateHash(tmpl)
  t.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/)
  t.equal(podTemplateHash({ spec: tmpl.spec, metadata: tmpl.metadata }), h, 'key order does not matter')
  t.equal(podTemplateHash({ ...tmpl, metadata: { labels: { app: 'web', 'pod-template-hash': 'zzz' } } }), h, 'its own label does not count')
  t.not(podTemplateHash(tmpl, 1), h, 'the collision count changes it')
  t.equal(podTemplateHash(tmpl, 0), h)
  t.not(podTemplateHash({ ...tmpl, spec: { containers: [{ name: 'c', image: 'y' }] } }), h)
  t.ok(sameTemplate(tmpl, { metadata: { creationTimestamp: null, labels: { app: 'web', 'pod-template-hash': h } }, spec: { containers: [{ name: 'c', image: 'x', resources: {}, env: [] }] } }), 'nulls and empty maps and lists mean nothing')
  t.notOk(sameTemplate(tmpl, { ...tmpl, spec: { containers: [{ name: 'c', image: 'x', args: ['a'] }] } }))
  t.same(withoutHash({ metadata: { labels: { 'pod-template-hash': 'x' } } }), {}, 'a label map left empty goes')
  t.same(withoutHash({ metadata: { labels: { a: 'b', 'pod-template-hash': 'x' } }, spec: { list: [1, null] } }), { metadata: { labels: { a: 'b' } }, spec: { list: [1, null] } })
  t.equal(withoutHash(null), null)
  t.equal(withoutHash('x'), 'x')
})

t.test('label selectors: requirements, matching, kube\'s string form', async (t) => {
  const sel = { matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'z', operator: 'NotIn', values: ['y', 'x'] }, { key: 'c', operator: 'In', values: ['3', '1'] }, { key: 'd', operator: 'Exists' }, { key: 'e', operator: 'DoesNotExist' }, { key: 'f', operator: 'Near' }, 'junk', { operator: 'Exists' }] }
  t.equal(selectorString(sel), 'a=1,b=2,c in (1,3),d,!e,z notin (x,y)')
  t.equal(requirementsOf(sel).length, 6)
  t.ok(selects(sel, { a: '1', b: '2', c: '1', d: '', z: 'w' }))
  t.notOk(selects(sel, { a: '1', b: '2', c: '1', d: '', e: 'x' }))
  t.notOk(selects(sel, { a: '1', b: '2', c: '1', d: '', z: 'x' }))
  t.notOk(selects(sel, { a: '1', b: '2', c: '2', d: '' }))
  t.notOk(selects(sel, { a: '1', b: '2', c: '1' }))
  t.notOk(selects(sel, { a: '2', b: '2', c: '1', d: '' }))
  t.ok(isEmptySelector({}))
  t.ok(isEmptySelector(undefined))
  t.ok(isEmptySelector({ matchLabels: { a: 5 } }))
  t.notOk(isEmptySelector({ matchLabels: { a: 'b' } }))
  t.ok(selects({}, { any: 'thing' }), 'empty selects everything')
  t.same(requirementsOf({ matchExpressions: [{ key: 'k', operator: 'In', values: ['a', 3] }] }), [{ op: 'in', key: 'k', values: ['a'] }])
  t.same(requirementsOf({ matchExpressions: [{ key: 'k', operator: 'In' }] }), [{ op: 'in', key: 'k', values: [] }])
  t.equal(selectorString({ matchLabels: { b: '1', a: '1' } }), 'a=1,b=1')
  t.equal(selectorString(undefined), '')
})

t.test('canonical JSON sorts keys and drops undefined', async (t) => {
  t.equal(canonical({ b: 1, a: [{ d: 2, c: undefined }, null] }), '{"a":[{"d":2},null],"b":1}')
  t.equal(canonical(undefined), 'null')
  t.equal(canonical('x'), '"x"')
})
