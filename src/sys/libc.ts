// The few libc calls Node does not expose: setns(2) to enter a network namespace
// on the current thread, flock(2), which interoperates with host-local's lock, and
// socket/bind/listen to open a listener while inside another netns, and
// recvmmsg/sendmmsg for the DNS server's batched UDP (src/dns/udp-batch.ts).
// koffi is loaded lazily so that commands which need neither (VERSION) do not pay for it.
import { createRequire } from 'node:module'
import { constants } from 'node:os'

export const CLONE_NEWNET = 0x40000000
export const LOCK_SH = 1
export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8

interface Libc {
  setns(fd: number, nstype: number): number
  flock(fd: number, op: number): number
  socket(domain: number, type: number, proto: number): number
  bind(fd: number, addr: Buffer, len: number): number
  listen(fd: number, backlog: number): number
  setsockopt(fd: number, level: number, name: number, val: Buffer, len: number): number
  close(fd: number): number
  mallocTrim(pad: number): number
  /** vec: the absolute address of the first struct mmsghdr (the structs point into the same native memory) */
  recvmmsg(fd: number, vec: bigint, vlen: number, flags: number): number
  sendmmsg(fd: number, vec: bigint, vlen: number, flags: number): number
  /** native memory that never moves, kept as long as `ptr` is referenced: its address and a Buffer over it */
  alloc(bytes: number): { ptr: unknown; base: bigint; view: Buffer }
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
  const socket = lib.func('int socket(int domain, int type, int protocol)')
  const bind = lib.func('int bind(int fd, const void *addr, uint32_t len)')
  const listen = lib.func('int listen(int fd, int backlog)')
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)')
  const close = lib.func('int close(int fd)')
  const mallocTrim = lib.func('int malloc_trim(size_t pad)')
  const recvmmsg = lib.func('int recvmmsg(int fd, uint64_t vec, unsigned int vlen, int flags, void *timeout)')
  const sendmmsg = lib.func('int sendmmsg(int fd, uint64_t vec, unsigned int vlen, int flags)')
  libc = {
    setns: (fd, t) => setns(fd, t) as number,
    flock: (fd, op) => flock(fd, op) as number,
    socket: (d, t, p) => socket(d, t, p) as number,
    bind: (fd, a, l) => bind(fd, a, l) as number,
    listen: (fd, b) => listen(fd, b) as number,
    setsockopt: (fd, l, n, v, len) => setsockopt(fd, l, n, v, len) as number,
    close: (fd) => close(fd) as number,
    mallocTrim: (pad) => mallocTrim(pad) as number,
    recvmmsg: (fd, vec, vlen, flags) => recvmmsg(fd, vec, vlen, flags, null) as number,
    sendmmsg: (fd, vec, vlen, flags) => sendmmsg(fd, vec, vlen, flags) as number,
    alloc: (bytes) => {
      const ptr = koffi.alloc('uint8_t', bytes)
      return { ptr, base: koffi.address(ptr), view: Buffer.from(koffi.view(ptr, bytes)) }
    },
    errno: () => koffi.errno() as number,
  }
  return libc
}

/**
 * Give freed C heap back to the kernel. A native library that parsed a large
 * input (libnftables and a full ruleset) frees it into glibc's arenas, which keep
 * the pages: the process's RSS would stay at its peak for good.
 */
export function releaseFreedMemory(): void {
  load().mallocTrim(0)
}

/** The raw calls, for the socket(2)-level code that needs them (a listener made inside a netns). */
export function rawLibc(): Libc {
  return load()
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
    if (e !== constants.errno.EINTR) throw new SyscallError('flock', e, String(fd))
  }
}

export class LockTimeoutError extends Error {
  readonly code = 'ELOCKTIMEOUT'
  constructor(readonly waitedMs: number) {
    super(`lock still held by another process after ${waitedMs} ms`)
    this.name = 'LockTimeoutError'
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/**
 * flock(op) that gives up after timeoutMs. A blocking flock cannot be cancelled,
 * so this polls with LOCK_NB, sleeping 1 ms at first and up to 50 ms between
 * tries. It blocks the calling thread: call it off the main thread in a server.
 */
export function flockWithin(fd: number, op: number, timeoutMs: number): void {
  const start = performance.now()
  let pause = 1
  for (;;) {
    try {
      flock(fd, op | LOCK_NB)
      return
    } catch (e) {
      if ((e as SyscallError).errno !== constants.errno.EWOULDBLOCK) throw e
    }
    const left = timeoutMs - (performance.now() - start)
    if (left <= 0) throw new LockTimeoutError(timeoutMs)
    Atomics.wait(sleeper, 0, 0, Math.min(pause, left))
    pause = Math.min(50, pause * 2)
  }
}
