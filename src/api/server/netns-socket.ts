// A listening TCP socket bound inside another network namespace, so one
// `pontoon api` process can serve the root namespace's 127.0.0.1 and a lab's
// wire namespace at once. Node's listen(host) resolves the host asynchronously,
// after any setns has been undone, so the socket is made here with socket(2)
// and bind(2) while the thread is inside the namespace, then handed to Node as
// an fd.
import { ipToBytes, tryParseIp } from '../../net/address.ts'
import { inNetns } from '../../netns/index.ts'
import { rawLibc } from '../../sys/libc.ts'

const AF_INET = 2
const AF_INET6 = 10
const SOCK_STREAM = 1
const SOCK_DGRAM = 2
const SOCK_NONBLOCK = 0o4000
const SOCK_CLOEXEC = 0o2000000
const SOL_SOCKET = 1
const SO_REUSEADDR = 2
const IPPROTO_IPV6 = 41
const IPV6_V6ONLY = 26

export class NetnsSocketError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
  }
}

/** struct sockaddr_in (16 bytes, address at 4) or sockaddr_in6 (28 bytes, address at 8) for host:port. */
export function sockaddr(host: string, port: number): { family: number; buf: Buffer } {
  const addr = tryParseIp(host)
  if (!addr) throw new NetnsSocketError('EBADHOST', `a listener in a namespace needs an IP address, not "${host}"`)
  const v4 = addr.family === 4
  const family = v4 ? AF_INET : AF_INET6
  const b = Buffer.alloc(v4 ? 16 : 28)
  b.writeUInt16LE(family, 0)
  b.writeUInt16BE(port, 2)
  ipToBytes(addr).copy(b, v4 ? 4 : 8)
  return { family, buf: b }
}

/** A listening socket's fd, bound to host:port inside the namespace at nsPath. */
export function listenFdInNetns(nsPath: string, host: string, port: number): number {
  const s = rawLibc()
  const { family, buf } = sockaddr(host, port)
  return inNetns(nsPath, () => {
    const fd = s.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
    if (fd < 0) throw new NetnsSocketError('ESOCKET', `socket() failed in ${nsPath}: errno ${s.errno()}`)
    const one = Buffer.alloc(4)
    one.writeInt32LE(1)
    const fail = (what: string) => socketFailure(fd, 'ELISTEN', `${what} ${host}:${port} in ${nsPath}`)
    s.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4)
    if (family === AF_INET6) s.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4)
    if (s.bind(fd, buf, buf.length) !== 0) throw fail('bind')
    if (s.listen(fd, 511) !== 0) throw fail('listen')
    return fd
  })
}

/**
 * A non-blocking UDP socket bound to host:port in the current namespace, as
 * dgram would make it (IPv6 dual-stack), made here so its owner knows the fd
 * (the DNS server's batched reads use it; dgram adopts it with bind({ fd })).
 */
export function boundUdpFd(host: string, port: number): number {
  const s = rawLibc()
  const { family, buf } = sockaddr(host, port)
  const fd = s.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  if (fd < 0) throw new NetnsSocketError('ESOCKET', `socket() for UDP ${host}:${port} failed: errno ${s.errno()}`)
  if (s.bind(fd, buf, buf.length) !== 0) throw socketFailure(fd, 'EBIND', `bind UDP ${host}:${port}`)
  return fd
}

const ERRNO_CODES: Record<number, string> = { 13: 'EACCES', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL' }

/** The error for a failed bind/listen on fd (read before the close, which may set errno), the fd closed. */
function socketFailure(fd: number, fallback: string, what: string): NetnsSocketError {
  const s = rawLibc()
  const e = s.errno()
  s.close(fd)
  const code = ERRNO_CODES[e] ?? fallback
  return new NetnsSocketError(code, `${what} failed: ${code === fallback ? `errno ${e}` : code}`)
}
