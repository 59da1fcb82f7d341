import t from 'tap'
import { matchLabels, parseLabelSelector } from '../../src/api/selectors/labels.ts'
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
