/* eslint-disable @typescript-eslint/no-explicit-any */
// Hostile keys through every patch type: nothing reaches Object.prototype, no
// object's prototype is swapped, inherited names are not members, and no patch
// modifies (or shares structure with) its inputs.
import t from 'tap'
import { jsonPatch } from '../../src/api/patch/json-patch.ts'
import { mergePatch } from '../../src/api/patch/merge-patch.ts'
import { strategicMerge } from '../../src/api/patch/strategic-merge.ts'
import { SCHEMAS } from '../../src/api/patch/merge-keys.ts'
import { own, refuseProtoKey } from '../../src/api/patch/guard.ts'

const doc = () => ({ metadata: { name: 'a', labels: { app: 'web' } }, spec: { ports: [{ port: 80, name: 'http' }], finalizers: ['x'] } })

/** A JSON text parsed, so "__proto__" is an own key as a request body would have it. */
const body = (s: string) => JSON.parse(s) as Record<string, unknown>

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x)
    Object.freeze(v)
  }
  return v
}

function refusal(f: () => unknown): { status?: number; code?: string; message?: string } | 'no error' {
  try {
    f()
  } catch (e) {
    const err = e as { status?: number; code?: string; message?: string }
    return { status: err.status, code: err.code, message: err.message }
  }
  return 'no error'
}

const clean = (t: { equal(a: unknown, b: unknown, m: string): unknown }) => {
  const probe = {} as Record<string, unknown>
  t.equal(probe.namespace, undefined, 'Object.prototype has no namespace')
  t.equal(probe.polluted, undefined, 'Object.prototype has no polluted')
  t.equal((Object as unknown as Record<string, unknown>).polluted, undefined, 'Object has no polluted')
}

t.test('JSON patch: every pointer through __proto__ is refused with 422 EPATCHKEY', async (t) => {
  const cases: unknown[] = [
    [{ op: 'add', path: '/__proto__/namespace', value: 'x' }],
    [{ op: 'replace', path: '/__proto__', value: { polluted: 1 } }],
    [{ op: 'add', path: '/metadata/labels/__proto__', value: { polluted: 1 } }],
    [{ op: 'copy', from: '/__proto__', path: '/metadata/x' }],
    [{ op: 'move', from: '/metadata/__proto__', path: '/x' }],
    [{ op: 'test', path: '/__proto__', value: {} }],
    [{ op: 'remove', path: '/metadata/__proto__' }],
  ]
  for (const ops of cases) {
    const r = refusal(() => jsonPatch(doc(), ops))
    t.match(r, { status: 422, code: 'EPATCHKEY', message: /__proto__/ }, JSON.stringify(ops))
  }
  // A value carrying __proto__ as an own key (as JSON.parse makes it) is refused too.
  t.match(refusal(() => jsonPatch(doc(), body('[{"op":"add","path":"/spec/x","value":{"__proto__":{"polluted":1}}}]'))), { status: 422, code: 'EPATCHKEY' })
  t.match(refusal(() => jsonPatch(body('{"__proto__":{"polluted":1}}'), [])), { status: 422, code: 'EPATCHKEY' })
  clean(t)
})

t.test('JSON patch: inherited names are not members of the document', async (t) => {
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/constructor/polluted', value: 1 }])), { status: 422, code: 'EPATCH' })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/constructor/prototype/polluted', value: 1 }])), { status: 422 })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'replace', path: '/metadata/toString', value: 'x' }])), { status: 422 })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'remove', path: '/metadata/hasOwnProperty' }])), { status: 422 })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/constructor', path: '/x' }])), { status: 422, message: /"from" path "\/constructor" does not exist/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'move', from: '/metadata/valueOf', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/constructor', value: null }])), { status: 422 })
  // After a copy the copied subtree is just as strict.
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/metadata', path: '/m' }, { op: 'remove', path: '/m/toString' }])), { status: 422 })
  // Ordinary keys spelled like Object's members are plain data.
  t.same(jsonPatch(doc(), [{ op: 'add', path: '/metadata/labels/constructor', value: 'c' }, { op: 'add', path: '/metadata/labels/prototype', value: 'p' }]), {
    metadata: { name: 'a', labels: { app: 'web', constructor: 'c', prototype: 'p' } },
    spec: { ports: [{ port: 80, name: 'http' }], finalizers: ['x'] },
  })
  clean(t)
})

t.test('JSON patch: strict pointers and operations', async (t) => {
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/spec/ports/01', value: 1 }])), { status: 422, message: /leading zero/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/spec/ports/01', path: '/x' }])), { status: 422, message: /leading zero/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/spec/ports/1', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/spec/ports/x', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', from: '/spec/ports/0/port/x', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: 'spec', value: 1 }])), { status: 422, message: /operation 0: "spec" is not a JSON pointer/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: '_get', path: '/spec' }])), { status: 400, code: 'EPATCH', message: /unknown operation "_get"/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/a/b', value: 1 }])), { status: 422, code: 'EPATCH', message: /operation 0: .*path "\/a\/b"/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/x' }])), { status: 422, message: /value/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'copy', path: '/x' }])), { status: 400, message: /"copy" needs "from"/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'move', path: '/x', from: 1 }])), { status: 400, message: /"move" needs "from"/ })
  t.match(refusal(() => jsonPatch(doc(), [7])), { status: 400, message: /operation 0 needs "op" and "path"/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: 5 }])), { status: 400 })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'add', path: '/x', value: 1 }, { op: 'test', path: '/x', value: 2 }])), { status: 422, message: 'JSON patch operation 1: testing value /x failed' })
  t.match(refusal(() => jsonPatch(doc(), { op: 'add' })), { status: 400, message: /list of operations/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/nope', value: 1 }])), { status: 422, message: 'JSON patch operation 0: path "/nope" does not exist' })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/spec' }])), { status: 422, message: 'JSON patch operation 0: "test" needs "value"' })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/spec/ports', value: [{ port: 80 }] }])), { status: 422, message: /testing value/ }, 'lists compare element by element')
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/spec/ports', value: [{ port: 80, name: 'http' }, 1] }])), { status: 422, message: /testing value/ }, 'lists compare by length')
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/metadata', value: { name: 'a', labels: { app: 'web' }, x: 1 } }])), { status: 422, message: /testing value/ }, 'maps compare by key count')
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/metadata', value: { name: 'a', other: { app: 'web' } } }])), { status: 422, message: /testing value/ }, 'maps compare by keys')
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/metadata', value: [] }])), { status: 422, message: /testing value/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/spec/ports', value: {} }])), { status: 422, message: /testing value/ })
  t.match(refusal(() => jsonPatch(doc(), [{ op: 'test', path: '/metadata/name', value: 'b' }])), { status: 422, message: /testing value/ })
  // pointer escapes, the root, move, array end
  t.same(jsonPatch({ a: 1 }, [{ op: 'add', path: '/b~1c', value: 2 }, { op: 'add', path: '/d~0e', value: 3 }]), { a: 1, 'b/c': 2, 'd~e': 3 })
  t.same(jsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { z: 1 } }]), { z: 1 })
  t.same((jsonPatch(doc(), [{ op: 'move', from: '/spec/ports/0', path: '/spec/first' }, { op: 'add', path: '/spec/finalizers/-', value: 'y' }]) as any).spec, { ports: [], finalizers: ['x', 'y'], first: { port: 80, name: 'http' } })
  t.same((jsonPatch(doc(), [{ op: 'test', path: '/spec/ports/0', value: { name: 'http', port: 80 } }, { op: 'copy', from: '/spec/ports/0/port', path: '/spec/p' }]) as any).spec.p, 80)
  t.same(jsonPatch(doc(), []), doc(), 'an empty patch changes nothing')
  // test: equal lists and maps pass, key order does not matter
  t.same((jsonPatch(doc(), [{ op: 'test', path: '/spec/ports', value: [{ name: 'http', port: 80 }] }, { op: 'test', path: '/metadata', value: { labels: { app: 'web' }, name: 'a' } }, { op: 'test', path: '', value: doc() }]) as any).metadata.name, 'a')
  // escaped names and array elements as "from"
  t.same(jsonPatch({ 'b/c': 1, 'd~e': 2, l: [5, 6] }, [{ op: 'copy', from: '/b~1c', path: '/x' }, { op: 'copy', from: '/d~0e', path: '/y' }, { op: 'copy', from: '/l/1', path: '/z' }, { op: 'move', from: '/l/0', path: '/w' }]), { 'b/c': 1, 'd~e': 2, l: [6], x: 1, y: 2, z: 6, w: 5 })
  t.match(refusal(() => jsonPatch({ l: [5] }, [{ op: 'copy', from: '/l/1', path: '/x' }])), { status: 422, message: /does not exist/ }, 'one past the end is not an element')
  t.match(refusal(() => jsonPatch({ l: [5] }, [{ op: 'copy', from: '/l/0x', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch({ l: [5] }, [{ op: 'copy', from: '/l/x0', path: '/x' }])), { status: 422, message: /does not exist/ })
  t.match(refusal(() => jsonPatch({ l: [5] }, [{ op: 'copy', from: '', path: '/x' }])), 'no error', 'the root can be copied')
  t.match(refusal(() => jsonPatch({ a: { '10': 1 } }, [{ op: 'copy', from: '/a/10', path: '/x' }])), 'no error', 'a map key of digits is not an index')
  t.match(refusal(() => jsonPatch({ a: 1 }, [{ op: 'add', path: '/a10', value: 1 }])), 'no error', 'a name with a 0 inside is not an index')
})

t.test('JSON patch never modifies its inputs, nor shares structure with them', async (t) => {
  const d = deepFreeze(doc())
  const value = deepFreeze({ deep: { list: [1] } })
  const ops = deepFreeze([
    { op: 'add', path: '/spec/extra', value },
    { op: 'add', path: '/spec/extra/deep/list/-', value: 2 },
    { op: 'remove', path: '/metadata/labels/app' },
    { op: 'replace', path: '/spec/ports/0/port', value: 81 },
    { op: 'move', from: '/spec/finalizers', path: '/metadata/finalizers' },
  ])
  const out = jsonPatch(d, ops) as ReturnType<typeof doc> & { spec: { extra: typeof value }; metadata: { finalizers: string[] } }
  t.same(out.spec.extra, { deep: { list: [1, 2] } })
  t.same(out.metadata, { name: 'a', labels: {}, finalizers: ['x'] })
  t.same(out.spec.ports, [{ port: 81, name: 'http' }])
  t.same(value, { deep: { list: [1] } }, 'the op value is untouched')
  t.same(d, doc(), 'the document is untouched')
  t.equal(Object.getPrototypeOf(out), Object.prototype, 'the result is made of ordinary objects')
  t.equal(Object.getPrototypeOf(out.spec.ports[0]), Object.prototype)
})

t.test('merge patch: __proto__ refused, inherited names are fields, inputs untouched', async (t) => {
  t.match(refusal(() => mergePatch(doc(), body('{"__proto__":{"namespace":"x"}}'))), { status: 422, code: 'EPATCHKEY', message: 'merge patch: the key "__proto__" is not allowed' })
  t.match(refusal(() => mergePatch(doc(), body('{"metadata":{"labels":{"__proto__":{"polluted":1}}}}'))), { status: 422, code: 'EPATCHKEY' })
  const viaCtor = mergePatch(doc(), { constructor: { prototype: { polluted: 1 } }, metadata: { toString: 'x' } }) as Record<string, unknown>
  t.same(viaCtor.constructor, { prototype: { polluted: 1 } }, '"constructor" is an ordinary field')
  t.equal((viaCtor.metadata as Record<string, unknown>).toString, 'x')
  clean(t)

  const d = deepFreeze(doc())
  const p = deepFreeze({ metadata: { labels: { app: null, tier: 'db' } }, spec: { finalizers: ['y'], extra: { a: [1] } } })
  const out = mergePatch(d, p) as { metadata: { labels: Record<string, string> }; spec: { finalizers: string[]; extra: { a: number[] }; ports: unknown[] } }
  t.same(out, { metadata: { name: 'a', labels: { tier: 'db' } }, spec: { ports: [{ port: 80, name: 'http' }], finalizers: ['y'], extra: { a: [1] } } })
  out.spec.extra.a.push(2)
  out.spec.finalizers.push('z')
  ;(out.spec.ports[0] as { port: number }).port = 1
  t.same(p.spec, { finalizers: ['y'], extra: { a: [1] } }, 'the result shares no lists with the patch')
  t.same(d, doc(), 'nor with the target')
  t.same(mergePatch({ a: 1 }, 'x'), 'x', 'a non-object patch replaces')
  t.same(mergePatch([1], { a: 1 }), { a: 1 }, 'an object patch over a list starts from {}')
  t.same(mergePatch({ a: { b: 1 } }, { a: { c: null } }), { a: { b: 1 } })
})

t.test('strategic merge: __proto__ refused anywhere, inherited names are fields, inputs untouched', async (t) => {
  const S = SCHEMAS.Service!
  const bad = [
    '{"__proto__":{"namespace":"x"}}',
    '{"metadata":{"labels":{"__proto__":{"polluted":1}}}}',
    '{"spec":{"ports":[{"port":9,"__proto__":{"polluted":1}}]}}',
    '{"spec":{"ports":[{"$patch":"replace"},{"port":1,"__proto__":{"polluted":1}}]}}',
    '{"spec":{"$patch":"replace","__proto__":{"polluted":1}}}',
    '{"spec":{"$deleteFromPrimitiveList/__proto__":["x"]}}',
    '{"spec":{"other":[{"__proto__":{"polluted":1}}]}}',
  ]
  for (const b of bad) t.match(refusal(() => strategicMerge(doc(), body(b), S)), { status: 422, code: 'EPATCHKEY', message: 'strategic merge patch: the key "__proto__" is not allowed' }, b)
  const out = strategicMerge(doc(), { constructor: { x: 1 }, metadata: { labels: { toString: 'l' } }, spec: { ports: [{ port: 80, constructor: 'c' }] } }, S) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(out.constructor, { x: 1 })
  t.same(out.metadata.labels, { app: 'web', toString: 'l' })
  t.same(out.spec.ports, [{ port: 80, name: 'http', constructor: 'c' }])
  // a merge key named like an inherited member matches only own values
  const hasOwn = strategicMerge({ l: [{ k: 'a' }, { v: 1 }] }, { l: [{ toString: 'x', v: 2 }] }, { l: { key: 'toString' } }) as { l: unknown[] }
  t.same(hasOwn.l, [{ k: 'a' }, { v: 1 }, { toString: 'x', v: 2 }], 'an element without the key is not matched through Object.prototype')
  // a path named like an inherited member is not a schema rule
  t.same(strategicMerge({ constructor: [1] }, { constructor: [2] }, {}), { constructor: [2] })
  t.same(strategicMerge({ toString: [1, 2] }, { toString: [3] }, {}), { toString: [3] }, 'schema lookups see only own rules')
  clean(t)

  const d = deepFreeze(doc())
  const p = deepFreeze({
    metadata: { finalizers: ['f'], labels: { app: null } },
    spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443, name: 'https' }], finalizers: [['nested']], extra: { a: [1] } },
  })
  const merged = strategicMerge(d, p, { ...S, 'spec.finalizers': {} }) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  t.same(merged.spec.ports, [{ port: 80, name: 'http', targetPort: 8080 }, { port: 443, name: 'https' }])
  t.same(merged.spec.finalizers, ['x', ['nested']])
  t.same(merged.metadata, { name: 'a', labels: {}, finalizers: ['f'] })
  merged.spec.ports[1].port = 1
  merged.spec.finalizers[1].push('more')
  merged.spec.extra.a.push(2)
  merged.metadata.finalizers.push('g')
  t.same(p.spec.ports[1], { port: 443, name: 'https' }, 'the result shares no elements with the patch')
  t.same(p.spec.finalizers, [['nested']])
  t.same(p.spec.extra, { a: [1] })
  t.same(d, doc(), 'nor with the original')
  t.same(strategicMerge(d, 'x', S), 'x', 'a non-object patch replaces')
  t.same(strategicMerge(d, { $patch: 'delete' }, S), {}, '$patch delete at the top leaves an empty object')
})

t.test('the guard helpers', async (t) => {
  t.equal(own({ a: 1 }, 'a'), 1)
  t.equal(own({}, 'toString'), undefined)
  t.equal(own({}, 'constructor'), undefined)
  t.doesNotThrow(() => refuseProtoKey('constructor', 'x'))
  t.doesNotThrow(() => refuseProtoKey('prototype', 'x'))
  t.throws(() => refuseProtoKey('__proto__', 'here'), { code: 'EPATCHKEY', status: 422, reason: 'Invalid', message: 'here: the key "__proto__" is not allowed' })
})
