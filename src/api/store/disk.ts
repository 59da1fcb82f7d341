// Objects on disk: a snapshot plus an append-only event log.
//
// Why not one file per object: a lab or a benchmark creates 20,000 objects in a
// burst, and a temp+fsync+rename per object costs milliseconds each. Here a
// change is one write(2) of one line (it survives a crash of this process at
// once), the log is fdatasync'ed in batches, and compaction writes the
// snapshot and the trimmed log atomically (temp file, fsync, rename, fsync dir).
// A torn last line (power loss mid-append) is ignored at load.
// The log also keeps the last events after compaction, so a watcher can resume
// from its resourceVersion across a restart.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { KObject } from '../types.ts'
import type { EventType, StoreEvent } from './event.ts'

const SNAPSHOT = 'objects.jsonl'
const LOG = 'events.jsonl'

export interface LoadedEvent {
  type: EventType
  rv: number
  resource: string
  obj: KObject
  json: string
}

export interface Loaded {
  /** resourceVersion the snapshot was taken at */
  snapshotRv: number
  objects: { resource: string; obj: KObject; json: string }[]
  events: LoadedEvent[]
}

const typeCode: Record<EventType, string> = { ADDED: 'A', MODIFIED: 'M', DELETED: 'D' }
const codeType: Record<string, EventType> = { A: 'ADDED', M: 'MODIFIED', D: 'DELETED' }

export const eventLine = (ev: { type: EventType; rv: number; resource: string; json: string }): string =>
  `{"t":"${typeCode[ev.type]}","rv":${ev.rv},"r":"${ev.resource}","o":${ev.json}}\n`

function lines(path: string): string[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8').split('\n')
}

function writeAtomic(dir: string, name: string, chunks: Iterable<string>): void {
  const tmp = join(dir, `.${name}.tmp`)
  const fd = openSync(tmp, 'w', 0o600)
  try {
    let buf = ''
    for (const c of chunks) {
      buf += c
      if (buf.length > 1 << 20) {
        writeSync(fd, buf)
        buf = ''
      }
    }
    if (buf) writeSync(fd, buf)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, join(dir, name))
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

export class DiskStore {
  private fd: number | undefined
  private dirty = false
  private timer: NodeJS.Timeout | undefined
  /** lines appended since the last compaction */
  logLines = 0

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  load(): Loaded {
    const out: Loaded = { snapshotRv: 0, objects: [], events: [] }
    const snap = lines(join(this.dir, SNAPSHOT))
    for (let i = 0; i < snap.length; i++) {
      const line = snap[i]!
      if (!line) continue
      const rec = JSON.parse(line) as { rv?: number; r?: string; o?: KObject }
      if (i === 0) out.snapshotRv = rec.rv ?? 0
      else if (rec.r && rec.o) out.objects.push({ resource: rec.r, obj: rec.o, json: JSON.stringify(rec.o) })
    }
    const log = lines(join(this.dir, LOG))
    for (const line of log) {
      if (!line) continue
      let rec: { t: string; rv: number; r: string; o: KObject }
      try {
        rec = JSON.parse(line)
      } catch {
        break // a torn final append: everything before it is whole
      }
      const type = codeType[rec.t]
      if (!type) break
      out.events.push({ type, rv: rec.rv, resource: rec.r, obj: rec.o, json: JSON.stringify(rec.o) })
      this.logLines++
    }
    return out
  }

  open(): void {
    this.fd = openSync(join(this.dir, LOG), 'a', 0o600)
    // Batch the fsyncs: one per 100 ms at most, whatever the write rate.
    this.timer = setInterval(() => this.flush(), 100)
    this.timer.unref()
  }

  /** Lines not yet written: a burst becomes one write(2) on the next turn of the event loop. */
  private pending: string[] = []

  append(ev: StoreEvent): void {
    if (this.fd === undefined) return
    if (this.pending.length === 0) setImmediate(() => this.write())
    this.pending.push(eventLine(ev))
    this.logLines++
  }

  /** Hand the pending lines to the kernel (no fsync): called before a write is acknowledged, so a crash of this process loses nothing acknowledged. */
  write(): void {
    if (this.fd === undefined || this.pending.length === 0) return
    writeSync(this.fd, this.pending.join(''))
    this.pending = []
    this.dirty = true
  }

  flush(): void {
    this.write()
    if (this.fd !== undefined && this.dirty) {
      fdatasyncSync(this.fd)
      this.dirty = false
    }
  }

  /** Write the snapshot at `rv` and a log holding only `keep` (events at or before rv, kept for watch resume). */
  compact(rv: number, objects: Iterable<{ resource: string; json: string }>, keep: StoreEvent[]): void {
    const snapLines = function* () {
      yield `{"rv":${rv}}\n`
      for (const o of objects) yield `{"r":"${o.resource}","o":${o.json}}\n`
    }
    writeAtomic(this.dir, SNAPSHOT, snapLines())
    this.pending = []
    if (this.fd !== undefined) closeSync(this.fd)
    writeAtomic(this.dir, LOG, keep.map(eventLine))
    this.fd = openSync(join(this.dir, LOG), 'a', 0o600)
    this.logLines = keep.length
    this.dirty = false
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    this.flush()
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}
