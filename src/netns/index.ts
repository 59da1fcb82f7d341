// Entering a network namespace without exec: setns(2) on the main thread, do a
// synchronous thing (create a socket, write a sysctl), setns back. setns is
// per-thread, so nothing may be awaited between the two calls; the callback is
// therefore synchronous by type and checked at run time.
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { CLONE_NEWNET, setns } from '../sys/libc.ts'

export class NetnsError extends Error {
  readonly code: string
  readonly path: string
  constructor(code: string, path: string, message: string) {
    super(message)
    this.name = 'NetnsError'
    this.code = code
    this.path = path
  }
}

/** Open a namespace file (e.g. /run/netns/x, /proc/<pid>/ns/net) read-only; the caller closes it. */
export function openNetnsFd(path: string): number {
  try {
    return openSync(path, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
    throw new NetnsError(code === 'ENOENT' ? 'ENONETNS' : code, path, `cannot open netns ${path}: ${code}`)
  }
}

/**
 * Run fn with the current thread inside the namespace at `path` (or the one the
 * open fd refers to), then return to the original namespace, whatever fn did.
 * With path undefined, fn runs where we are.
 */
export function inNetns<T>(path: string | number | undefined, fn: () => T): T {
  if (path === undefined) return fn()
  const self = openSync('/proc/thread-self/ns/net', 'r')
  const target = typeof path === 'number' ? path : openNetnsFd(path)
  try {
    try {
      setns(target, CLONE_NEWNET)
    } catch (e) {
      throw new NetnsError('ESETNS', String(path), `cannot enter netns ${path}: ${(e as Error).message}`)
    }
    try {
      const out = fn()
      if (out instanceof Promise) throw new NetnsError('EASYNC', String(path), 'inNetns callback must be synchronous')
      return out
    } finally {
      // Failing to return would leave the rest of the process in the wrong
      // namespace: there is no safe way to continue.
      try { setns(self, CLONE_NEWNET) } catch (e) {
        process.stderr.write(`pontoon: cannot return to the original netns: ${(e as Error).message}\n`)
        process.abort()
      }
    }
  } finally {
    closeSync(self)
    if (typeof path !== 'number') closeSync(target)
  }
}

function sysctlPath(key: string): string {
  // Keys are relative to /proc/sys, slash- or dot-separated: net/ipv4/ip_forward or net.ipv4.ip_forward.
  // Interface names may contain dots, so only dots in a dotted key are separators.
  if (!/^[A-Za-z0-9_./-]+$/.test(key) || key.includes('..')) throw new NetnsError('EINVAL_KEY', key, `bad sysctl key ${JSON.stringify(key)}`)
  const rel = key.includes('/') ? key : key.replace(/\./g, '/')
  return `/proc/sys/${rel.replace(/^\/+/, '')}`
}

/**
 * Write a sysctl in a namespace. /proc/sys/net resolves against the namespace
 * of the thread that opens the file, so the open happens inside inNetns.
 */
export function writeSysctl(nsPath: string | undefined, key: string, value: string): void {
  const p = sysctlPath(key)
  inNetns(nsPath, () => {
    try { writeFileSync(p, value) } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
      throw new NetnsError(code, p, `cannot write ${p}=${value}${nsPath ? ` in ${nsPath}` : ''}: ${code}`)
    }
  })
}

export function readSysctl(nsPath: string | undefined, key: string): string {
  const p = sysctlPath(key)
  return inNetns(nsPath, () => {
    try { return readFileSync(p, 'utf8').trim() } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO'
      throw new NetnsError(code, p, `cannot read ${p}${nsPath ? ` in ${nsPath}` : ''}: ${code}`)
    }
  })
}
