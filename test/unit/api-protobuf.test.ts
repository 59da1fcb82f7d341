// The protobuf reader against bytes built here by a minimal encoder (the
// integration test feeds it what kubectl really sends).
import t from 'tap'
import { decodeK8sProtobuf } from '../../src/api/protobuf/decode.ts'

const varint = (n: number | bigint): Buffer => {
  let v = BigInt.asUintN(64, BigInt(n)); const out: number[] = []
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b) } while (v)
  return Buffer.from(out)
}
const key = (num: number, wire: number) => varint((num << 3) | wire)
const str = (num: number, s: string | Buffer) => { const b = Buffer.isBuffer(s) ? s : Buffer.from(s); return Buffer.concat([key(num, 2), varint(b.length), b]) }
const int = (num: number, n: number) => Buffer.concat([key(num, 0), varint(n)])
const msg = (num: number, ...parts: Buffer[]) => str(num, Buffer.concat(parts))
const envelope = (kind: string, raw: Buffer) => Buffer.concat([Buffer.from('k8s\0', 'binary'), msg(1, str(1, 'v1'), str(2, kind)), str(2, raw)])

t.test('a Service with maps, repeated ports, int-or-string and Go zero values', async (t) => {
  const meta = Buffer.concat([str(1, 'web'), str(2, ''), int(7, 0), msg(11, str(1, 'app'), str(2, 'web')), msg(11, str(1, 'tier'), str(2, 'fe'))])
  const port1 = Buffer.concat([str(1, 'http'), str(2, 'TCP'), int(3, 80), msg(4, int(1, 0), int(2, 8080)), int(5, 0)])
  const port2 = Buffer.concat([str(1, 'dns'), str(2, 'UDP'), int(3, 53), msg(4, int(1, 1), str(3, 'dns'))])
  const spec = Buffer.concat([msg(1, port1), msg(1, port2), msg(2, str(1, 'app'), str(2, 'web')), str(3, ''), str(4, 'NodePort'), str(7, ''), int(12, 0)])
  const raw = Buffer.concat([msg(1, meta), msg(2, spec), msg(99, str(1, 'ignored unknown field'))])
  const obj = decodeK8sProtobuf(envelope('Service', raw))
  t.same(obj, {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'web', labels: { app: 'web', tier: 'fe' } },
    spec: {
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' }],
      selector: { app: 'web' }, type: 'NodePort',
    },
  })
})

t.test('negative int32 values decode as two\'s complement', async (t) => {
  const raw = Buffer.concat([msg(1, str(1, 'x')), msg(2, msg(1, int(3, -1)))])
  t.equal((decodeK8sProtobuf(envelope('Service', raw)) as any).spec.ports[0].port, -1)
})

t.test('bad bodies are 400s that say what is wrong', async (t) => {
  t.throws(() => decodeK8sProtobuf(Buffer.from('{"kind":"Service"}')), { status: 400, message: /k8s\\0/ })
  t.throws(() => decodeK8sProtobuf(envelope('ConfigMap', Buffer.alloc(0))), { status: 400, message: /kind "ConfigMap" is not accepted/ })
  const truncated = envelope('Service', msg(1, str(1, 'web'))).subarray(0, -2)
  t.throws(() => decodeK8sProtobuf(truncated), { status: 400, message: /runs past the end|truncated/ })
  t.throws(() => decodeK8sProtobuf(envelope('Service', Buffer.concat([key(1, 0), varint(5)]))), { status: 400, message: /metadata: wire type 0/ })
})
