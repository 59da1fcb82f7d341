// The on-disk store: a torn tail is cut off, compaction keeps the objects and
// the recent history, versions carry on and never repeat, and a change is
// acknowledged and watched only once durable; a failed write leaves no trace.
import t from 'tap'
import { appendFileSync, fdatasync, fdatasyncSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DiskStore, DiskWriteError, type DiskIo } from '../../src/api/store/disk.ts'
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

t.test('a torn tail is cut off at load: what is written after it survives the next restart', async (t) => {
  const dir = tempDir(t, 'torn')
  const log = join(dir, 'events.jsonl')
  let s = open(dir)
  s.put('services', svc('a'))
  s.put('services', svc('b'))
  s.close()
  const whole = readFileSync(log).length
  appendFileSync(log, '{"t":"A","rv":3,"r":"services","o":{"metadata":{"na') // a crash mid-append
  s = open(dir)
  t.equal(statSync(log).size, whole, 'the log is cut back to its last whole line')
  t.equal(s.resourceVersion(), 2)
  s.put('services', svc('c'))
  s.put('services', svc('a', '2'))
  s.close()
  s = open(dir)
  t.same([...s.list('services')].map((e) => [e.obj.metadata.name, e.obj.metadata.labels?.v, e.obj.metadata.resourceVersion]).sort(), [['a', '2', '4'], ['b', '1', '2'], ['c', '1', '3']], 'nothing written after the tear is lost')
  t.equal(s.resourceVersion(), 4)
  s.put('services', svc('d'))
  t.equal(s.get('services', 'default', 'd')!.obj.metadata.resourceVersion, '5', 'versions carry on, never repeating')
  s.close()
  // a last line whose newline never made it is torn too: the next append must start a line of its own
  const full = readFileSync(log, 'utf8')
  writeFileSync(log, full.slice(0, -1))
  s = open(dir)
  t.equal(s.resourceVersion(), 4, 'the line without its newline is not counted')
  s.put('services', svc('e'))
  s.close()
  s = open(dir)
  t.equal(s.get('services', 'default', 'e')!.obj.metadata.resourceVersion, '5')
  t.equal(s.count('services'), 4)
  s.close()
})

t.test('a crash mid-compaction (new snapshot, old log) loses nothing and versions do not go back', async (t) => {
  const dir = tempDir(t, 'compact-crash')
  let s = open(dir, 4)
  for (let i = 0; i < 12; i++) s.put('services', svc(`s${i % 5}`, String(i)))
  s.remove('services', svc('s4'))
  const oldLog = readFileSync(join(dir, 'events.jsonl'))
  s.compact()
  s.close()
  // the crash struck between the snapshot's rename and the log's
  writeFileSync(join(dir, 'events.jsonl'), oldLog)
  writeFileSync(join(dir, '.events.jsonl.tmp'), '{"t":"A","rv":1')
  s = open(dir, 4)
  t.equal(s.resourceVersion(), 13)
  t.same([...s.list('services')].map((e) => [e.obj.metadata.name, e.obj.metadata.labels?.v]).sort(), [['s0', '10'], ['s1', '11'], ['s2', '7'], ['s3', '8']])
  t.same(s.history.since(10)!.map((e) => [e.type, e.rv]), [['MODIFIED', 11], ['MODIFIED', 12], ['DELETED', 13]], 'the history is whole')
  s.put('services', svc('late'))
  t.equal(s.get('services', 'default', 'late')!.obj.metadata.resourceVersion, '14')
  s.close()
  s = open(dir, 4)
  t.equal(s.resourceVersion(), 14)
  t.equal(s.count('services'), 5)
  s.close()
})

/** An fdatasync that waits until the test lets it go, and fails when told to. */
function heldSync() {
  const held: { fd: number; cb: (err: Error | null) => void }[] = []
  let failNext: Error | undefined
  const io: Partial<DiskIo> = {
    fdatasync: (fd, cb) => void held.push({ fd, cb }),
    fdatasyncSync: (fd) => fdatasyncSync(fd),
  }
  return {
    io,
    held,
    failNext: (e: Error) => (failNext = e),
    release() {
      for (const h of held.splice(0)) {
        if (failNext) {
          const e = failNext
          failNext = undefined
          h.cb(e)
        } else fdatasync(h.fd, h.cb)
      }
    },
  }
}

const until = async (f: () => boolean, what: string) => {
  const end = Date.now() + 10_000
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setImmediate(r))
  }
}

t.test('acknowledged means durable: a group fdatasync first, then watchers and the answer', async (t) => {
  const dir = tempDir(t, 'durable')
  const sync = heldSync()
  const s = new Store({ historySize: 10, disk: new DiskStore(dir, sync.io) })
  s.load()
  const watched: string[] = []
  const accepted: string[] = []
  s.watch('services', (ev) => watched.push(`${ev.type} ${ev.obj.metadata.name}`))
  s.subscribe('services', (ev) => accepted.push(`${ev.type} ${ev.obj.metadata.name}`))
  s.put('services', svc('a'))
  s.put('services', svc('b'))
  let answered = false
  const acked = s.persist().then(() => (answered = true))
  s.put('services', svc('c'))
  t.same(accepted, ['ADDED a', 'ADDED b', 'ADDED c'], 'controllers hear of accepted changes at once')
  await until(() => sync.held.length === 1, 'the fdatasync')
  t.same(watched, [], 'no watcher hears of a change before it is durable')
  t.notOk(answered, 'no answer before the fdatasync')
  t.equal(s.resourceVersion(), 0, 'clients see the durable version')
  t.equal(s.durableGet('services', 'default', 'a'), undefined, 'a client read shows durable state only')
  t.same(s.listAt('services', 'default', 0), [], 'and so does a list')
  t.ok(s.get('services', 'default', 'a'), 'the API’s own checks see the accepted change')
  t.equal(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').length, 3, 'each change was written before it was applied')
  sync.release()
  await acked
  t.same(watched, ['ADDED a', 'ADDED b', 'ADDED c'], 'one fdatasync covered the three writes that came together')
  t.equal(sync.held.length, 0, 'and no second one was needed')
  t.equal(s.resourceVersion(), 3)
  s.close()
})

t.test('a failed fdatasync: memory, watchers and disk agree the change never happened', async (t) => {
  const dir = tempDir(t, 'fsync-fail')
  const sync = heldSync()
  let s = new Store({ historySize: 10, disk: new DiskStore(dir, sync.io) })
  s.load()
  s.put('services', svc('kept'))
  const p0 = s.persist()
  await until(() => sync.held.length === 1, 'the first fdatasync')
  sync.release()
  await p0
  const watched: string[] = []
  const accepted: string[] = []
  s.watch('services', (ev) => watched.push(`${ev.type} ${ev.obj.metadata.name}`))
  s.subscribe('services', (ev) => accepted.push(`${ev.undo ? 'undo ' : ''}${ev.type} ${ev.obj.metadata.name} ${ev.obj.metadata.labels?.v}`))
  s.put('services', svc('lost'))
  s.put('services', svc('kept', '2'))
  const failed = s.persist()
  await until(() => sync.held.length === 1, 'the failing fdatasync')
  sync.failNext(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
  sync.release()
  const err = await failed.then(() => undefined, (e: unknown) => e as DiskWriteError)
  t.ok(err instanceof DiskWriteError, 'the waiting client gets the error')
  t.equal(err?.code, 'EDISKWRITE')
  t.match(err?.message, /fdatasync of the event log failed: EIO/)
  t.equal(s.get('services', 'default', 'lost'), undefined, 'the new object is not in memory')
  t.equal(s.get('services', 'default', 'kept')!.obj.metadata.labels!.v, '1', 'the changed one is back as it was')
  t.same(watched, [], 'no watcher saw either')
  t.same(accepted, ['ADDED lost 1', 'MODIFIED kept 2', 'undo MODIFIED kept 1', 'undo DELETED lost 1'], 'controllers are told, newest first')
  t.equal(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').length, 1, 'the log is cut back')
  s.put('services', svc('after'))
  const p1 = s.persist()
  await until(() => sync.held.length === 1, 'the next fdatasync')
  sync.release()
  await p1
  t.same(watched, ['ADDED after'])
  t.equal(s.get('services', 'default', 'after')!.obj.metadata.resourceVersion, '4', 'the undone versions are not reused')
  s.close()
  s = open(dir)
  t.same([...s.list('services')].map((e) => e.obj.metadata.name).sort(), ['after', 'kept'], 'after a restart it is not there either')
  t.equal(s.get('services', 'default', 'kept')!.obj.metadata.labels!.v, '1')
  s.close()
})

t.test('a failed write (ENOSPC) refuses the change before memory changes', async (t) => {
  const dir = tempDir(t, 'write-fail')
  let full = false
  const s = new Store({ historySize: 10, disk: new DiskStore(dir, {
    // a partial write, then no space: what a full filesystem does to a long line
    write: (fd, buf, off, len) => {
      if (!full) return writeSync(fd, buf, off, len)
      if (len > 10) return writeSync(fd, buf, off, 10)
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
    },
  }) })
  s.load()
  s.put('services', svc('a'))
  await s.persist()
  const size = statSync(join(dir, 'events.jsonl')).size
  const accepted: string[] = []
  s.subscribe('services', (ev) => accepted.push(ev.obj.metadata.name!))
  full = true
  t.throws(() => s.put('services', svc('b')), { code: 'EDISKWRITE', message: /write of the event log failed: ENOSPC/ })
  t.equal(s.get('services', 'default', 'b'), undefined)
  t.same(accepted, [], 'nobody heard of it')
  t.equal(statSync(join(dir, 'events.jsonl')).size, size, 'the partial line is cut off')
  full = false
  s.put('services', svc('c'))
  t.equal(s.get('services', 'default', 'c')!.obj.metadata.resourceVersion, '2')
  s.close()
  const r = open(dir)
  t.same([...r.list('services')].map((e) => e.obj.metadata.name).sort(), ['a', 'c'])
  r.close()
})
