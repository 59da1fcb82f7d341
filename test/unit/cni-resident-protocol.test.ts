import t from 'tap'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/cni/resident/protocol.ts'

t.test('a request survives the wire, binary stdin included', async (t) => {
  const stdin = Buffer.from('{"cniVersion":"1.1.0"}\n\u00e9\u0000x')
  const wire = encodeRequest({ env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b=c;D=e' }, stdin, netns: '4:4026531840' })!
  const back = decodeRequest(wire)
  t.same(back.env, { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=b=c;D=e' })
  t.equal(back.netns, '4:4026531840')
  t.ok(back.stdin.equals(stdin))
})

t.test('values that cannot travel on one line make the caller work locally', async (t) => {
  t.equal(encodeRequest({ env: { CNI_ARGS: 'a\nb' }, stdin: Buffer.alloc(0), netns: 'x' }), undefined)
})

t.test('malformed requests are refused with a reason', async (t) => {
  t.throws(() => decodeRequest(Buffer.from('hello\n')), { code: 'ERESIDENTPROTO', message: /does not start/ })
  t.throws(() => decodeRequest(Buffer.from('pontoon-cni/1\nnetns:1:2\nstdin:10\nshort')), { message: /does not match/ })
  t.throws(() => decodeRequest(Buffer.from('pontoon-cni/1\nnetns:1:2\n')), { message: /ends inside its header/ })
  t.throws(() => decodeRequest(Buffer.from('pontoon-cni/1\nbogus:1\nstdin:0\n')), { message: /unknown request line/ })
})

t.test('answers', async (t) => {
  t.same(decodeResponse(Buffer.from(encodeResponse({ kind: 'done', code: 1, stdout: '{"code":7}\n' }))), { kind: 'done', code: 1, stdout: '{"code":7}\n' })
  t.same(decodeResponse(Buffer.from(encodeResponse({ kind: 'fallback', reason: 'other\nnetns' }))), { kind: 'fallback', reason: 'other netns' })
  t.throws(() => decodeResponse(Buffer.from('done:x\n')), { code: 'ERESIDENTPROTO' })
  t.throws(() => decodeResponse(Buffer.from('')), { code: 'ERESIDENTPROTO' })
})
