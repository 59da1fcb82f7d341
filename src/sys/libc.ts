// The few libc calls Node does not expose: setns(2) to enter a network namespace
// on the current thread, and flock(2), which interoperates with host-local's lock.
// koffi is loaded lazily so that commands which need neither (VERSION) do not pay for it.
import { createRequire } from 'node:module'

export const CLONE_NEWNET = 0x40000000
export const LOCK_SH = 1
export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8

interface Libc {
  setns(fd: number, nstype: number): number
  flock(fd: number, op: number): number
  errno(): number
}

let libc: Libc | undefined

function load(): Libc {
  if (libc) return libc
  const require = createRequire(import.meta.url)
  const koffi = require('koffi') as typeof import('koffi')
  const lib = koffi.load('libc.so.6')
  const setns = lib.func('int setns(int fd, int nstype)')
  const flock = lib.func('int flock(int fd, int op)')
  libc = {
    setns: (fd, t) => setns(fd, t) as number,
    flock: (fd, op) => flock(fd, op) as number,
    errno: () => koffi.errno() as number,
  }
  return libc
}

export class SyscallError extends Error {
  readonly code: string
  readonly errno: number
  constructor(call: string, errno: number, what: string) {
    super(`${call}(${what}) failed: errno ${errno}`)
    this.name = 'SyscallError'
    this.errno = errno
    this.code = `E${call.toUpperCase()}`
  }
}

export function setns(fd: number, nstype = CLONE_NEWNET): void {
  const c = load()
  if (c.setns(fd, nstype) !== 0) throw new SyscallError('setns', c.errno(), String(fd))
}

export function flock(fd: number, op: number): void {
  const c = load()
  // EINTR is retried; everything else is the caller's problem.
  for (;;) {
    if (c.flock(fd, op) === 0) return
    const e = c.errno()
    if (e !== 4) throw new SyscallError('flock', e, String(fd))
  }
}
