// Objects on disk: a snapshot plus an append-only event log.
//
// Why not one file per object: a lab or a benchmark creates 20,000 objects in a
// burst, and a temp+fsync+rename per object costs milliseconds each. Here a
// change is one write(2) of one line, made before the change is applied in
// memory (so a full disk refuses the change instead of losing it later), and
// the log is fdatasync'ed in groups: every write that arrives while one
// fdatasync runs goes into the next (see Store). Compaction writes the snapshot
// and the trimmed log atomically (temp file, fsync, rename, fsync dir).
// A torn tail (a crash mid-append, or power loss before the fdatasync) is cut
// off at load, so the next append starts on a line of its own.
// The log also keeps the last events after compaction, so a watcher can resume
// from its resourceVersion across a restart.
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { KObject } from '../types.ts'
import type { EventType, StoreEvent } from './event.ts'

const SNAPSHOT = 'objects.jsonl'
const LOG = 'events.jsonl'
const NL = 0x0a

/** The log could not take a change: nothing of it is kept, in memory or on disk. */
export class DiskWriteError extends Error {
  readonly code = 'EDISKWRITE'
  readonly op: string
  constructor(op: string, cause: unknown) {
    super(`the change was not stored: ${op} of the event log failed: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'DiskWriteError'
    this.op = op
  }
}

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
  /** bytes cut off the end of the log: a torn last append */
  tornBytes: number
}

/** The file operations the store needs to survive failing; tests replace them to inject faults. */
export interface DiskIo {
  write(fd: number, buf: Buffer, off: number, len: number): number
  fdatasync(fd: number, cb: (err: Error | null) => void): void
  fdatasyncSync(fd: number): void
}

const realIo: DiskIo = {
  write: (fd, buf, off, len) => writeSync(fd, buf, off, len),
  fdatasync: (fd, cb) => fdatasync(fd, cb),
  fdatasyncSync: (fd) => fdatasyncSync(fd),
}

const typeCode: Record<EventType, string> = { ADDED: 'A', MODIFIED: 'M', DELETED: 'D' }
const codeType: Record<string, EventType> = { A: 'ADDED', M: 'MODIFIED', D: 'DELETED' }

export const eventLine = (ev: { type: EventType; rv: number; resource: string; json: string }): string =>
  `{"t":"${typeCode[ev.type]}","rv":${ev.rv},"r":"${ev.resource}","o":${ev.json}}\n`

function writeAll(io: DiskIo, fd: number, buf: Buffer): void {
  let off = 0
  while (off < buf.length) off += io.write(fd, buf, off, buf.length - off)
}

function fsyncDir(dir: string): void {
  const dfd = openSync(dir, 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

function writeAtomic(dir: string, name: string, chunks: Iterable<string>): void {
  const tmp = join(dir, `.${name}.tmp`)
  try {
    const fd = openSync(tmp, 'w', 0o600)
    try {
      let buf = ''
      for (const c of chunks) {
        buf += c
        if (buf.length > 1 << 20) {
          writeAll(realIo, fd, Buffer.from(buf))
          buf = ''
        }
      }
      if (buf) writeAll(realIo, fd, Buffer.from(buf))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, join(dir, name))
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
  fsyncDir(dir)
}

export class DiskStore {
  private fd: number | undefined
  private readonly io: DiskIo
  /** bytes in the log file, and how many of them an fdatasync has covered */
  private size = 0
  private syncedSize = 0
  private syncedLines = 0
  /** lines in the log since the last compaction */
  logLines = 0

  constructor(
    readonly dir: string,
    io: Partial<DiskIo> = {},
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    this.io = { ...realIo, ...io }
  }

  load(): Loaded {
    const out: Loaded = { snapshotRv: 0, objects: [], events: [], tornBytes: 0 }
    const snapPath = join(this.dir, SNAPSHOT)
    const snap = existsSync(snapPath) ? readFileSync(snapPath, 'utf8').split('\n') : []
    for (let i = 0; i < snap.length; i++) {
      const line = snap[i]!
      if (!line) continue
      const rec = JSON.parse(line) as { rv?: number; r?: string; o?: KObject }
      if (i === 0) out.snapshotRv = rec.rv ?? 0
      else if (rec.r && rec.o) out.objects.push({ resource: rec.r, obj: rec.o, json: JSON.stringify(rec.o) })
    }
    const logPath = join(this.dir, LOG)
    const log = existsSync(logPath) ? readFileSync(logPath) : Buffer.alloc(0)
    // Only whole lines count: one that does not parse, or lacks its newline, was
    // never fully written, and neither was anything after it.
    let good = 0
    while (good < log.length) {
      const end = log.indexOf(NL, good)
      if (end < 0) break
      let rec: { t?: string; rv?: number; r?: string; o?: KObject } | undefined
      try {
        rec = JSON.parse(log.toString('utf8', good, end))
      } catch {
        rec = undefined
      }
      const type = rec && codeType[rec.t ?? '']
      if (!rec || !type || typeof rec.rv !== 'number' || typeof rec.r !== 'string' || !rec.o) break
      out.events.push({ type, rv: rec.rv, resource: rec.r, obj: rec.o, json: JSON.stringify(rec.o) })
      good = end + 1
    }
    if (good < log.length) {
      // Cut the torn tail off now, or the next append would be glued to it and lost with it at the next load.
      out.tornBytes = log.length - good
      const fd = openSync(logPath, 'r+')
      try {
        ftruncateSync(fd, good)
        fdatasyncSync(fd)
      } finally {
        closeSync(fd)
      }
    }
    this.size = this.syncedSize = good
    this.logLines = this.syncedLines = out.events.length
    return out
  }

  open(): void {
    this.fd = openSync(join(this.dir, LOG), 'a', 0o600)
  }

  /** Append one event with one write(2). On failure the file is cut back to where it was and DiskWriteError is thrown. */
  append(ev: StoreEvent): void {
    if (this.fd === undefined) return
    const buf = Buffer.from(eventLine(ev))
    try {
      writeAll(this.io, this.fd, buf)
    } catch (e) {
      try {
        ftruncateSync(this.fd, this.size)
      } catch {
        // the next load cuts a partial line off anyway
      }
      throw new DiskWriteError('write', e)
    }
    this.size += buf.length
    this.logLines++
  }

  /** True when some appended bytes are not yet covered by an fdatasync. */
  unsynced(): boolean {
    return this.size > this.syncedSize
  }

  /** fdatasync everything appended so far, off the event loop; appends may go on meanwhile (they wait for the next sync). */
  sync(done: (err: DiskWriteError | undefined) => void): void {
    const fd = this.fd
    if (fd === undefined) return done(undefined)
    const size = this.size
    const lines = this.logLines
    this.io.fdatasync(fd, (err) => {
      if (err) return done(new DiskWriteError('fdatasync', err))
      if (this.fd === fd) {
        this.syncedSize = Math.max(this.syncedSize, size)
        this.syncedLines = Math.max(this.syncedLines, lines)
      }
      done(undefined)
    })
  }

  /** fdatasync everything appended so far, blocking; throws DiskWriteError. */
  syncNow(): void {
    if (this.fd === undefined) return
    try {
      this.io.fdatasyncSync(this.fd)
    } catch (e) {
      throw new DiskWriteError('fdatasync', e)
    }
    this.syncedSize = this.size
    this.syncedLines = this.logLines
  }

  /**
   * After a failed fdatasync the unsynced tail may or may not reach the disk:
   * cut it off so disk and memory agree again. Throws when even that fails.
   */
  discardUnsynced(): void {
    if (this.fd === undefined) return
    ftruncateSync(this.fd, this.syncedSize)
    this.io.fdatasyncSync(this.fd)
    this.size = this.syncedSize
    this.logLines = this.syncedLines
  }

  /**
   * Write the snapshot at `rv` and a log holding only `keep` (events at or
   * before rv, kept for watch resume). Called only with nothing unsynced. A
   * crash between the two renames leaves the new snapshot beside the old log,
   * whose events are all at or before rv: a load gives the same state.
   * On failure the old files stay in use.
   */
  compact(rv: number, objects: Iterable<{ resource: string; json: string }>, keep: StoreEvent[]): void {
    const snapLines = function* () {
      yield `{"rv":${rv}}\n`
      for (const o of objects) yield `{"r":"${o.resource}","o":${o.json}}\n`
    }
    writeAtomic(this.dir, SNAPSHOT, snapLines())
    const lines = keep.map(eventLine)
    writeAtomic(this.dir, LOG, lines)
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = openSync(join(this.dir, LOG), 'a', 0o600)
    this.size = this.syncedSize = lines.reduce((n, l) => n + Buffer.byteLength(l), 0)
    this.logLines = this.syncedLines = keep.length
  }

  /** fdatasync what is left and close; throws DiskWriteError when the last sync fails. */
  close(): void {
    const fd = this.fd
    if (fd === undefined) return
    this.fd = undefined
    try {
      if (this.size > this.syncedSize) this.io.fdatasyncSync(fd)
      this.syncedSize = this.size
    } catch (e) {
      throw new DiskWriteError('fdatasync', e)
    } finally {
      closeSync(fd)
    }
  }
}
