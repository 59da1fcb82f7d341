import t from 'tap'
import { ListSplitter } from '../../src/cluster/list-splitter.ts'

function split(text: string, chunkSize: number) {
  const items: unknown[] = []
  const s = new ListSplitter((txt) => items.push(JSON.parse(txt)))
  for (let i = 0; i < text.length; i += chunkSize) s.push(text.slice(i, i + chunkSize))
  return { items, top: s.top, complete: s.complete }
}

const list = {
  kind: 'ServiceList', apiVersion: 'v1',
  metadata: { resourceVersion: '42', continue: 'tok"en}' },
  items: [
    { metadata: { name: 'a', annotations: { x: 'braces } ] [ { and "quotes" \\ and \\"escapes' } }, spec: { ports: [{ port: 80 }] } },
    { metadata: { name: 'b' }, spec: { ports: [] }, 'items': [1, 2] },
    { metadata: { name: 'ü-ñ' }, n: null, f: false, x: -1.5e3 },
  ],
}

t.test('items and top-level fields come out whatever the chunking', async (t) => {
  for (const text of [JSON.stringify(list), JSON.stringify(list, null, 2)]) {
    for (const size of [1, 2, 3, 7, 64, 100_000]) {
      const r = split(text, size)
      t.same(r.items, list.items, `items, chunk ${size}`)
      t.same(r.top, { kind: 'ServiceList', apiVersion: 'v1', metadata: list.metadata }, `top, chunk ${size}`)
      t.equal(r.complete, true)
    }
  }
})

t.test('items before metadata, and an empty list', async (t) => {
  const r = split('{"items":[{"a":1}],"metadata":{"resourceVersion":"7"}}', 5)
  t.same(r.items, [{ a: 1 }])
  t.same(r.top.metadata, { resourceVersion: '7' })
  const e = split('{"kind":"NodeList","metadata":{"resourceVersion":"1"},"items":[]}', 4)
  t.same(e.items, [])
  t.same(e.top.metadata, { resourceVersion: '1' })
})

t.test('a truncated answer is not complete', async (t) => {
  const text = JSON.stringify(list)
  const r = split(text.slice(0, text.length - 10), 16)
  t.equal(r.complete, false)
  t.equal(r.items.length, 2)
})

t.test('strings with escapes and quotes cut at every place by the chunking', async (t) => {
  // Backslash runs of every parity right before quotes, at chunk edges of every size.
  const tricky = ['\\', '\\\\', '\\"', '\\\\"', '"', '\\\\\\"}', '\\u0022', 'x\\', ']', '}', '{', '[', ',']
  let seed = 3
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n)
  const str = () => Array.from({ length: rand(6) }, () => tricky[rand(tricky.length)]).join('')
  for (let round = 0; round < 40; round++) {
    const items = Array.from({ length: 1 + rand(4) }, (_, i) => ({ metadata: { name: `n${i}${str()}`, labels: { [str()]: str() } }, v: [str(), { [str()]: [str()] }] }))
    const doc = { kind: 'L', metadata: { resourceVersion: str(), continue: str() }, items, tail: str() }
    const text = JSON.stringify(doc)
    for (const size of [1, 2, 3, 5, 8, 13]) {
      const r = split(text, size)
      t.same(r.items, items, `round ${round}, chunk ${size}: items`)
      t.same(r.top, { kind: 'L', metadata: doc.metadata, tail: doc.tail }, `round ${round}, chunk ${size}: top`)
      t.equal(r.complete, true)
    }
  }
})
