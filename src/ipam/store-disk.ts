// host-local's on-disk store, byte for byte, so that this plugin and the
// reference host-local can share one data dir:
//   <dataDir>/<network>/            directory, 0755
//   <dataDir>/<network>/lock        empty; flock(LOCK_EX) on it guards every change
//   <dataDir>/<network>/<ip>        one per reservation, created O_EXCL: "<id>\r\n<ifname>"
//   <dataDir>/<network>/last_reserved_ip.<rangeSet>   the last address handed out, no newline
// File modes are those of the host-local we interoperate with (Debian's 1.1.1).
import {
  accessSync, closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { CniError, ErrCode } from '../cni/errors.ts'
import { LOCK_EX, LOCK_UN, LockTimeoutError, flock, flockWithin } from '../sys/libc.ts'
import { type Addr, formatIp, tryParseIp } from '../net/address.ts'
import { type Reservation, type Store, formatRecord, parseRecord } from './store.ts'

const LAST_PREFIX = 'last_reserved_ip.'
const FILE_MODE = 0o644
const LOCK_MODE = 0o750
/** host-local waits forever; a pod operation that cannot get the lock in this long fails and is retried by the runtime */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000

/** PONTOON_IPAM_LOCK_TIMEOUT_MS of the process doing the work (the plugin, or the resident server), in ms */
export function lockTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.PONTOON_IPAM_LOCK_TIMEOUT_MS)
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_LOCK_TIMEOUT_MS
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code
}

export class DiskStore implements Store {
  readonly dir: string
  private lockFd: number

  /** Opens (creating if needed) the network's directory and its lock file. */
  constructor(dataDir: string, network: string, private readonly lockTimeoutMs = lockTimeoutFromEnv()) {
    this.dir = join(dataDir, network)
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 })
      this.lockFd = openSync(join(this.dir, 'lock'), constants.O_CREAT | constants.O_RDONLY, LOCK_MODE)
    } catch (e) {
      throw this.ioError('open', e)
    }
  }

  private ioError(what: string, e: unknown): CniError {
    const msg = e instanceof Error ? e.message : String(e)
    return new CniError(ErrCode.IoFailure, `ipam store ${this.dir}: ${what}: ${msg}`, '', { cause: e })
  }

  lock(): void {
    try {
      flockWithin(this.lockFd, LOCK_EX, this.lockTimeoutMs)
    } catch (e) {
      if (e instanceof LockTimeoutError) {
        throw new CniError(ErrCode.TryAgainLater, `ipam store ${this.dir}: ${join(this.dir, 'lock')} is locked by another process; gave up after ${e.waitedMs} ms`,
          'another IPAM operation on this network holds the lock; try again', { cause: e })
      }
      throw this.ioError('lock', e)
    }
  }

  unlock(): void {
    flock(this.lockFd, LOCK_UN)
  }

  close(): void {
    if (this.lockFd < 0) return
    closeSync(this.lockFd)
    this.lockFd = -1
  }

  probe(): void {
    try {
      accessSync(this.dir, constants.W_OK)
    } catch (e) {
      throw this.ioError('not writable', e)
    }
  }

  reserve(id: string, ifname: string, addr: Addr, rangeSet: number): boolean {
    const ip = formatIp(addr)
    const path = join(this.dir, ip)
    let fd: number
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, FILE_MODE)
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false
      throw this.ioError(`reserve ${ip}`, e)
    }
    try {
      writeSync(fd, formatRecord(id, ifname))
      closeSync(fd)
    } catch (e) {
      try { closeSync(fd) } catch { /* already closed */ }
      try { unlinkSync(path) } catch { /* best effort: the reservation must not survive half-written */ }
      throw this.ioError(`reserve ${ip}`, e)
    }
    this.writeLast(rangeSet, ip)
    return true
  }

  // host-local rewrites this file in place; a rename means a reader never sees it empty.
  private writeLast(rangeSet: number, ip: string): void {
    const path = join(this.dir, LAST_PREFIX + rangeSet)
    const tmp = join(this.dir, `.${LAST_PREFIX}${rangeSet}.${process.pid}.tmp`)
    try {
      writeFileSync(tmp, ip, { mode: FILE_MODE })
      renameSync(tmp, path)
    } catch (e) {
      try { unlinkSync(tmp) } catch { /* nothing to clean */ }
      throw this.ioError(`record last reserved ${ip}`, e)
    }
  }

  lastReserved(rangeSet: number): Addr | undefined {
    try {
      return tryParseIp(readFileSync(join(this.dir, LAST_PREFIX + rangeSet), 'utf8').trim())
    } catch {
      // Losing round-robin once is harmless; host-local shrugs the same way.
      return undefined
    }
  }

  release(addr: Addr): boolean {
    try {
      unlinkSync(join(this.dir, formatIp(addr)))
      return true
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false
      throw this.ioError(`release ${formatIp(addr)}`, e)
    }
  }

  list(): Reservation[] {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch (e) {
      throw this.ioError('list', e)
    }
    const out: Reservation[] = []
    for (const name of names) {
      const addr = tryParseIp(name)
      if (!addr) continue
      let content: string
      try {
        content = readFileSync(join(this.dir, name), 'utf8')
      } catch {
        continue // released (or turned into a directory) under our feet
      }
      out.push({ addr, ...parseRecord(content) })
    }
    return out
  }
}
