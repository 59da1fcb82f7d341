import t from 'tap'
import { strategicMerge } from '../../src/api/patch/strategic-merge.ts'
import { SCHEMAS } from '../../src/api/patch/merge-keys.ts'
import { mergePatch } from '../../src/api/patch/merge-patch.ts'
import { jsonPatch } from '../../src/api/patch/json-patch.ts'

const svc = {
  metadata: { name: 's', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    selector: { app: 'web' },
    ports: [
      { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
    ],
  },
}

t.test('strategic merge: ports merge by port, null deletes, $patch delete removes an element', async (t) => {
  const out = strategicMerge(svc, {
    metadata: { labels: { b: null, c: '3' } },
    spec: {
      '$setElementOrder/ports': [{ port: 80 }, { port: 8081 }],
      ports: [{ port: 80, targetPort: 9090 }, { port: 8081, name: 'alt' }, { $patch: 'delete', port: 443 }],
    },
  }, SCHEMAS.Service!) as typeof svc
  t.same(out.metadata.labels, { a: '1', c: '3' })
  t.same(out.spec.ports, [
    { name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' },
    { port: 8081, name: 'alt' },
  ])
  t.same(svc.spec.ports.length, 2, 'the input is not modified')
})

t.test('strategic merge: untagged lists are replaced, $patch replace on a map, $retainKeys, primitive list merge and delete', async (t) => {
  const pod = {
    metadata: { name: 'p', finalizers: ['a', 'b'] },
    spec: {
      containers: [{ name: 'c', image: 'i:1', ports: [{ containerPort: 80, name: 'http' }], args: ['x', 'y'] }],
      nodeSelector: { zone: 'a', disk: 'ssd' },
      strategy: { type: 'R', rollingUpdate: { max: 1 } },
    },
  }
  const out = strategicMerge(pod, {
    metadata: { finalizers: ['c'], '$deleteFromPrimitiveList/finalizers': ['a'] },
    spec: {
      containers: [{ name: 'c', image: 'i:2', args: ['z'], ports: [{ containerPort: 81, name: 'alt' }] }],
      nodeSelector: { $patch: 'replace', zone: 'b' },
      strategy: { $retainKeys: ['type'], type: 'Recreate' },
    },
  }, SCHEMAS.Pod!) as any
  t.same(out.metadata.finalizers, ['b', 'c'])
  t.same(out.spec.containers[0].image, 'i:2')
  t.same(out.spec.containers[0].args, ['z'], 'untagged list replaced')
  t.same(out.spec.containers[0].ports, [{ containerPort: 80, name: 'http' }, { containerPort: 81, name: 'alt' }], 'ports merged by containerPort')
  t.same(out.spec.nodeSelector, { zone: 'b' })
  t.same(out.spec.strategy, { type: 'Recreate' })
})

t.test('strategic merge: an element with $patch replace replaces the whole list', async (t) => {
  const out = strategicMerge(svc, { spec: { ports: [{ $patch: 'replace' }, { port: 1, name: 'one' }] } }, SCHEMAS.Service!) as typeof svc
  t.same(out.spec.ports, [{ port: 1, name: 'one' }])
})

t.test('JSON merge patch (RFC 7386)', async (t) => {
  t.same(mergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } }), { a: 'z', c: { d: 'e' } })
  t.same(mergePatch({ a: [1, 2] }, { a: [3] }), { a: [3] }, 'lists replaced')
  t.same(mergePatch({ a: 1 }, { b: { c: null } }), { a: 1, b: {} })
})

t.test('JSON patch (RFC 6902)', async (t) => {
  const doc = { spec: { ports: [{ port: 80 }], type: 'ClusterIP' } }
  const out = jsonPatch(doc, [
    { op: 'add', path: '/spec/ports/-', value: { port: 81 } },
    { op: 'replace', path: '/spec/type', value: 'NodePort' },
    { op: 'test', path: '/spec/ports/0/port', value: 80 },
    { op: 'copy', from: '/spec/type', path: '/spec/was' },
    { op: 'remove', path: '/spec/ports/0' },
  ])
  t.same(out, { spec: { ports: [{ port: 81 }], type: 'NodePort', was: 'NodePort' } })
  t.same(doc.spec.ports, [{ port: 80 }], 'input untouched')
  const status = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      return (e as { status?: number }).status
    }
    return 'no error'
  }
  t.equal(status(() => jsonPatch(doc, [{ op: 'test', path: '/spec/type', value: 'x' }])), 422)
  t.equal(status(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])), 422)
  t.equal(status(() => jsonPatch(doc, { op: 'add' })), 400)
})
