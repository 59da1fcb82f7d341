import t from 'tap'
import { matchLabels, matchSelectorMap, parseLabelSelector } from '../../src/api/selectors/labels.ts'
import { matchFields, parseFieldSelector } from '../../src/api/selectors/fields.ts'
import { ApiError } from '../../src/api/errors.ts'
import type { KObject } from '../../src/api/types.ts'

const labels = { app: 'web', tier: 'front', 'example.com/team': 'blue' }

t.test('label selector operators', async (t) => {
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['tier in (front,back)', true],
    ['tier in (back)', false],
    ['tier notin (back, middle)', true],
    ['tier notin (front)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier in (front),example.com/team=blue', true],
    ['app=web,tier in (back)', false],
  ]
  for (const [sel, want] of cases) t.equal(matchLabels(parseLabelSelector(sel), labels), want, sel || '(empty)')
})

t.test('a bad label selector is a 400 naming the part', async (t) => {
  for (const bad of ['app=we b', 'in (x', 'a=,', '-bad=x']) {
    const e = (() => {
      try {
        parseLabelSelector(bad)
      } catch (err) {
        return err
      }
    })()
    t.ok(e instanceof ApiError, bad)
    t.equal((e as ApiError).status, 400, bad)
  }
})

t.test('field selectors', async (t) => {
  const pod = { metadata: { name: 'p', namespace: 'ns1' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } } as KObject
  t.ok(matchFields(parseFieldSelector('metadata.name=p', 'Pod'), pod))
  t.ok(matchFields(parseFieldSelector('spec.nodeName==n1,metadata.namespace=ns1', 'Pod'), pod))
  t.notOk(matchFields(parseFieldSelector('spec.nodeName!=n1', 'Pod'), pod))
  t.notOk(matchFields(parseFieldSelector('status.phase=Pending', 'Pod'), pod))
  t.ok(matchFields(parseFieldSelector('spec.nodeName=', 'Pod'), { metadata: { name: 'x' } } as KObject), 'absent field equals the empty string')
  t.throws(() => parseFieldSelector('spec.nodeName=n1', 'Service'), { code: 'ESELECTOR', message: /field label not supported: spec.nodeName/ })
})

/** The message of the 400 a selector is refused with. */
function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    if (e instanceof ApiError && e.status === 400 && e.code === 'ESELECTOR') return e.message
    throw e
  }
  throw new Error('accepted')
}

t.test('label selectors parse into requirements', async (t) => {
  t.same(parseLabelSelector(' a = b , c==d,e != f, g in (h, i), j notin(k),l, ! m '), [
    { op: 'eq', key: 'a', value: 'b' },
    { op: 'eq', key: 'c', value: 'd' },
    { op: 'neq', key: 'e', value: 'f' },
    { op: 'in', key: 'g', values: ['h', 'i'] },
    { op: 'notin', key: 'j', values: ['k'] },
    { op: 'exists', key: 'l' },
    { op: 'notexists', key: 'm' },
  ])
  t.same(parseLabelSelector('a='), [{ op: 'eq', key: 'a', value: '' }], 'an empty value is a value')
  t.same(parseLabelSelector('a in ()'), [{ op: 'in', key: 'a', values: [''] }])
  for (const empty of [undefined, '', '   ']) t.same(parseLabelSelector(empty), [], JSON.stringify(empty))
})

t.test('label keys: an optional DNS-subdomain prefix and a name of at most 63', async (t) => {
  const n63 = 'a'.repeat(61) + 'Z9'
  for (const key of ['a', 'Z', '9', 'ab', 'a.b-c_D', n63, 'example.com/x', 'k8s.io/name', 'kubernetes.io/x', 'a-1.b/c', 'x/' + n63]) {
    t.same(parseLabelSelector(key), [{ op: 'exists', key }], key)
  }
  for (const key of ['-a', 'a-', '_a', 'a.', n63 + 'b', 'Example.com/x', '/x', 'a/', 'a/b/c', '-x.com/y', 'x-.com/y', 'x..y/z', 'a*b']) {
    t.equal(refusal(() => parseLabelSelector(`${key}=v`)), `unable to parse requirement: invalid label key "${key}" in selector "${key}=v"`, key)
  }
})

t.test('label values: empty, or at most 63 starting and ending alphanumeric', async (t) => {
  const v63 = 'Z' + 'a-_.'.repeat(15) + 'b9'
  t.equal(v63.length, 63)
  for (const value of ['', 'a', '9', 'ab', 'a.b_c-D', v63]) t.same(parseLabelSelector(`k=${value}`), [{ op: 'eq', key: 'k', value }], value)
  for (const value of ['-a', 'a-', '.a', 'a_', v63 + 'c', 'a b', 'a/b']) {
    t.equal(refusal(() => parseLabelSelector(`k=${value}`)), `unable to parse requirement: invalid label value "${value}" in selector "k=${value}"`, value)
  }
  t.equal(refusal(() => parseLabelSelector('k in (a,-b)')), 'unable to parse requirement: invalid label value "-b" in selector "k in (a,-b)"')
})

t.test('set and comparison forms: spacing allowed, and nothing around them', async (t) => {
  t.same(parseLabelSelector('a  in   (x)'), [{ op: 'in', key: 'a', values: ['x'] }])
  t.same(parseLabelSelector('a\tnotin\t(x)'), [{ op: 'notin', key: 'a', values: ['x'] }])
  for (const sel of ['a b in (x)', 'a in (x) y', 'a b=c', 'a b!=c', 'a=b=c']) {
    t.match(refusal(() => parseLabelSelector(sel)), /^unable to parse requirement: invalid label (key|value) "/, sel)
  }
})

t.test('commas inside a value set do not split requirements; an empty requirement is refused', async (t) => {
  t.same(parseLabelSelector('a in (x,y),b'), [{ op: 'in', key: 'a', values: ['x', 'y'] }, { op: 'exists', key: 'b' }])
  for (const sel of ['a,,b', 'a,', ',a', ' , ']) {
    t.equal(refusal(() => parseLabelSelector(sel)), `unable to parse requirement: empty requirement in selector "${sel}"`, sel)
  }
})

t.test('matching without labels at all', async (t) => {
  const cases: [string, boolean][] = [['a', false], ['!a', true], ['a!=x', true], ['a=x', false], ['a=', false], ['a in (x)', false], ['a notin (x)', true], ['', true]]
  for (const [sel, want] of cases) t.equal(matchLabels(parseLabelSelector(sel), undefined), want, sel)
  t.equal(matchLabels(parseLabelSelector('a='), { a: '' }), true, 'an empty label value matches an empty value')
  t.equal(matchLabels(parseLabelSelector('a in (x,y)'), { a: 'y' }), true)
  t.equal(matchLabels(parseLabelSelector('a notin (x,y)'), { a: 'y' }), false)
  t.equal(matchLabels(parseLabelSelector('a!=x,b'), { a: 'y' }), false, 'every requirement must hold')
})

t.test('Service-style selector maps', async (t) => {
  t.equal(matchSelectorMap({}, { app: 'web' }), false, 'an empty selector selects nothing')
  t.equal(matchSelectorMap({ app: 'web' }, labels), true)
  t.equal(matchSelectorMap({ app: 'web', tier: 'front' }, labels), true)
  t.equal(matchSelectorMap({ app: 'web', tier: 'back' }, labels), false)
  t.equal(matchSelectorMap({ tier: 'back', app: 'web' }, labels), false)
  t.equal(matchSelectorMap({ app: 'web' }, undefined), false)
})

t.test('field selectors parse into requirements', async (t) => {
  t.same(parseFieldSelector(' metadata.name = a b , metadata.namespace==x,spec.nodeName!=', 'Pod'), [
    { field: 'metadata.name', op: 'eq', value: 'a b' },
    { field: 'metadata.namespace', op: 'eq', value: 'x' },
    { field: 'spec.nodeName', op: 'neq', value: '' },
  ])
  for (const empty of [undefined, '', '  ']) t.same(parseFieldSelector(empty, 'Pod'), [], JSON.stringify(empty))
  for (const sel of ['metadata.name', '=x', 'metadata.name=x,', 'a b=c']) {
    const raw = sel.split(',').find((p) => !/^\s*[^!=\s]+\s*(==|=|!=)/.test(p))!
    t.equal(refusal(() => parseFieldSelector(sel, 'Pod')), `invalid selector: '${sel}'; can't understand '${raw}'`, sel)
  }
})

t.test('each kind supports its own fields, as kube-apiserver does', async (t) => {
  const fields: Record<string, string[]> = {
    Pod: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    Node: ['spec.unschedulable'],
    Namespace: ['status.phase'],
    Service: ['spec.clusterIP', 'spec.type'],
    Endpoints: [],
    EndpointSlice: ['addressType'],
    Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion',
      'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
    ConfigMap: [],
  }
  const all = [...new Set(Object.values(fields).flat())]
  for (const [kind, own] of Object.entries(fields)) {
    for (const f of ['metadata.name', 'metadata.namespace', ...own]) {
      t.same(parseFieldSelector(`${f}=v`, kind), [{ field: f, op: 'eq', value: 'v' }], `${kind} ${f}`)
    }
    for (const f of all.filter((x) => !own.includes(x))) {
      t.equal(refusal(() => parseFieldSelector(`${f}=v`, kind)), `field label not supported: ${f}`, `${kind} refuses ${f}`)
    }
  }
})

t.test('field values: nested paths, non-strings as text, missing as empty', async (t) => {
  const node = { metadata: { name: 'n1' }, spec: { unschedulable: true } } as unknown as KObject
  t.ok(matchFields(parseFieldSelector('spec.unschedulable=true', 'Node'), node))
  t.notOk(matchFields(parseFieldSelector('spec.unschedulable=false', 'Node'), node))
  const pod = { metadata: { name: 'p' }, spec: { hostNetwork: false, nodeName: null }, status: 'odd' } as unknown as KObject
  t.ok(matchFields(parseFieldSelector('spec.hostNetwork=false', 'Pod'), pod))
  t.ok(matchFields(parseFieldSelector('spec.nodeName=', 'Pod'), pod), 'null is empty')
  t.ok(matchFields(parseFieldSelector('status.phase=', 'Pod'), pod), 'a path through a non-object is empty')
  t.ok(matchFields(parseFieldSelector('spec.nodeName=', 'Pod'), { metadata: { name: 'p' }, spec: null } as unknown as KObject), 'a path through null is empty')
  t.ok(matchFields(parseFieldSelector('spec.nodeName=', 'Pod'), { metadata: { name: 'p' }, spec: {} } as unknown as KObject), 'a missing last part is empty')
  t.notOk(matchFields(parseFieldSelector('status.phase!=', 'Pod'), pod))
  t.ok(matchFields(parseFieldSelector('metadata.name!=q,metadata.name=p', 'Pod'), pod))
  t.notOk(matchFields(parseFieldSelector('metadata.name=p,metadata.name!=p', 'Pod'), pod), 'every requirement must hold')
  t.ok(matchFields([], pod), 'no requirement matches everything')
})
