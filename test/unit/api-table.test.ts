import t from 'tap'
import { humanAge, table, wantsTable } from '../../src/api/table.ts'
import type { KObject } from '../../src/api/types.ts'

t.test('kubectl table negotiation', async (t) => {
  t.ok(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'))
  t.notOk(wantsTable('application/json'))
  t.notOk(wantsTable(undefined))
})

t.test('service rows', async (t) => {
  const svc: KObject = {
    metadata: { name: 'web', creationTimestamp: new Date(Date.now() - 90_000).toISOString() },
    spec: { type: 'NodePort', clusterIP: '10.96.0.9', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], selector: { app: 'web' } },
  }
  const tb = table('Service', [svc], '7', 'Metadata') as { columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[]; object: { kind: string } }[] }
  t.same(tb.columnDefinitions.map((c) => c.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector'])
  t.equal(tb.columnDefinitions.find((c) => c.name === 'Selector')!.priority, 1, 'selector only with -o wide')
  t.same(tb.rows[0]!.cells, ['web', 'NodePort', '10.96.0.9', '<none>', '80:30080/TCP,53/UDP', '90s', 'app=web'])
  t.equal(tb.rows[0]!.object.kind, 'PartialObjectMetadata')
})

t.test('ages as kubectl prints them', async (t) => {
  const now = Date.parse('2030-01-10T00:00:00Z')
  const ago = (s: number) => new Date(now - s * 1000).toISOString()
  t.equal(humanAge(ago(5), now), '5s')
  t.equal(humanAge(ago(150), now), '2m30s')
  t.equal(humanAge(ago(3600), now), '60m')
  t.equal(humanAge(ago(5 * 3600 + 60), now), '5h1m')
  t.equal(humanAge(ago(3 * 86400), now), '3d')
  t.equal(humanAge(undefined, now), '<unknown>')
})
