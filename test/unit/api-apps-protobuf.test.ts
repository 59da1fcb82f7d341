import t from 'tap'
import { decodeMessage } from '../../src/api/protobuf/decode.ts'
import { KINDS } from '../../src/api/protobuf/schemas.ts'

t.test('replicas is a pointer in Go: an explicit 0 in protobuf stays 0 (kubectl create deployment --replicas=0)', async (t) => {
  // Deployment{spec(2): DeploymentSpec{replicas(1): 0, minReadySeconds(5): 0}}
  t.same(decodeMessage(Buffer.from([0x12, 0x04, 0x08, 0x00, 0x28, 0x00]), KINDS.Deployment!), { spec: { replicas: 0 } }, 'a zero minReadySeconds is still "unset"')
  t.same(decodeMessage(Buffer.from([0x12, 0x02, 0x08, 0x03]), KINDS.ReplicaSet!), { spec: { replicas: 3 } })
  t.same(decodeMessage(Buffer.from([0x12, 0x02, 0x08, 0x00]), KINDS.ReplicaSet!), { spec: { replicas: 0 } })
  t.same(decodeMessage(Buffer.from([0x12, 0x00]), KINDS.Deployment!), { spec: {} }, 'left out: left out')
})
