// The on-disk store: a torn final log line is ignored, compaction keeps the
// objects and the recent history, and versions carry on.
import t from 'tap'
import { appendFileSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DiskStore } from '../../src/api/store/disk.ts'
import { Store } from '../../src/api/store/store.ts'
import { tempDir } from '../fixtures/api/harness.ts'
import type { KObject } from '../../src/api/types.ts'

const svc = (name: string, v = '1'): KObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: { v } } })

function open(dir: string, history = 10): Store {
  const s = new Store({ historySize: history, disk: new DiskStore(dir) })
  s.load()
  return s
}

t.test('reload after writes, with a torn last line', async (t) => {
  const dir = tempDir(t, 'disk')
  let s = open(dir)
  s.put('services', svc('a'))
  s.put('services', svc('b'))
  s.put('services', svc('a', '2'))
  s.remove('services', svc('b'))
  s.close()
  appendFileSync(join(dir, 'events.jsonl'), '{"t":"A","rv":99,"r":"services","o":{"metadata":{"na') // a crash mid-append
  s = open(dir)
  t.equal(s.resourceVersion(), 4, 'the torn line is not counted')
  t.same([...s.list('services')].map((e) => [e.obj.metadata.name, e.obj.metadata.labels?.v, e.obj.metadata.resourceVersion]), [['a', '2', '3']])
  t.same(s.history.since(1)!.map((e) => [e.type, e.rv]), [['ADDED', 2], ['MODIFIED', 3], ['DELETED', 4]], 'history survives')
  s.close()
})

t.test('compaction: snapshot plus the last events, atomically replaced', async (t) => {
  const dir = tempDir(t, 'compact')
  let s = open(dir, 5)
  for (let i = 0; i < 50; i++) s.put('services', svc(`s${i % 7}`, String(i)))
  s.compact()
  s.put('services', svc('late'))
  s.close()
  const log = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n')
  t.equal(log.length, 6, 'the log holds the kept history and what came after')
  t.notOk(readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temp files left')
  s = open(dir, 5)
  t.equal(s.resourceVersion(), 51)
  t.equal(s.count('services'), 8)
  t.equal(s.get('services', 'default', 's0')!.obj.metadata.labels!.v, '49')
  t.same(s.history.since(46)!.map((e) => e.rv), [47, 48, 49, 50, 51], 'recent history kept across compaction and restart')
  t.equal(s.history.since(40), undefined, 'older is gone')
  s.close()
})
