// The body shape check: depth and hostile keys, found iteratively before any
// recursive code walks the value.
import t from 'tap'
import { checkBodyShape, MAX_DEPTH } from '../../src/api/server/body-shape.ts'
import { parseJson } from '../../src/api/server/body.ts'

const nest = (n: number, open = '[', close = ']') => open.repeat(n) + close.repeat(n)

t.test('depth: up to the limit passes, one more is a 400 EDEPTH naming where', async (t) => {
  t.equal(MAX_DEPTH, 100)
  t.doesNotThrow(() => parseJson(nest(MAX_DEPTH)))
  t.throws(() => parseJson(nest(MAX_DEPTH + 1)), { code: 'EDEPTH', status: 400, reason: 'BadRequest', message: /nests deeper than 100 levels \(at 0(\.0){99}\)/ })
  const deepObj = '{"a":'.repeat(MAX_DEPTH + 1) + '1' + '}'.repeat(MAX_DEPTH + 1)
  t.throws(() => parseJson(deepObj), { code: 'EDEPTH' })
  t.throws(() => checkBodyShape({ a: { b: [{}] } }, 3), { code: 'EDEPTH', message: 'the request body nests deeper than 3 levels (at a.b.0)' })
  t.doesNotThrow(() => checkBodyShape({ a: { b: [1] } }, 3))
  t.throws(() => checkBodyShape({}, 0), { message: /\(at \(root\)\)/ })
  t.doesNotThrow(() => checkBodyShape('text', 0), 'a scalar has no depth')
  // A million levels: refused without a stack overflow.
  t.throws(() => parseJson(nest(1_000_000)), { code: 'EDEPTH' })
})

t.test('__proto__ is refused anywhere, with its path; other names pass', async (t) => {
  t.throws(() => parseJson('{"__proto__":{"namespace":"x"}}'), { code: 'EBADKEY', status: 400, message: 'the request body holds the key "__proto__" (at __proto__); no object may carry it' })
  t.throws(() => parseJson('{"metadata":{"labels":{"__proto__":"x"}}}'), { code: 'EBADKEY', message: /at metadata\.labels\.__proto__/ })
  t.throws(() => parseJson('[{"op":"add","path":"/x","value":[{"__proto__":1}]}]'), { code: 'EBADKEY', message: /at 0\.value\.0\.__proto__/ })
  t.doesNotThrow(() => parseJson('{"constructor":{"prototype":{"x":1}},"toString":1}'))
  t.same(parseJson('{"a":[1,{"b":null}]}'), { a: [1, { b: null }] })
  t.throws(() => parseJson('{"a":'), { code: 'EJSON', status: 400 })
})
