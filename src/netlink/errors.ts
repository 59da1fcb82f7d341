// Typed errors for the netlink layer. Callers branch on `code`, never on message text.
import { getSystemErrorName } from 'node:util'

function errnoName(errno: number): string {
  try { return getSystemErrorName(-Math.abs(errno)) } catch { return `ERRNO${errno}` }
}

/** The kernel (or the socket) refused an operation. `code` is the errno name, e.g. 'EEXIST'. */
export class NetlinkError extends Error {
  readonly code: string
  readonly errno: number
  readonly op: string
  /**
   * The request as the kernel echoed it in its error message, when it did (netlink
   * errors carry the failed request; ipset patches the failing restore line into it).
   */
  readonly echo?: Buffer
  constructor(op: string, errno: number, detail?: string, code = errnoName(errno), echo?: Buffer) {
    super(`netlink ${op}${detail ? ` (${detail})` : ''}: ${code}`)
    this.name = 'NetlinkError'
    this.op = op
    this.errno = errno
    this.code = code
    if (echo) this.echo = echo
  }
}

/**
 * A caller passed something we refuse to send: nothing was sent to the kernel.
 * `code` names the field, e.g. 'EINVAL_CIDR', 'EINVAL_NAME'.
 */
export class NetlinkInputError extends NetlinkError {
  readonly field: string
  /** why the value was refused, without the field and value */
  readonly reason: string
  constructor(op: string, field: string, value: unknown, why: string) {
    super(op, 22, `${field} ${JSON.stringify(value)}: ${why}`, `EINVAL_${field.toUpperCase()}`)
    this.name = 'NetlinkInputError'
    this.field = field
    this.reason = why
  }
}

/** The kernel never answered within the deadline. Nothing is known about whether the request took effect. */
export class NetlinkTimeoutError extends NetlinkError {
  readonly timeoutMs: number
  constructor(op: string, timeoutMs: number) {
    super(op, 110, `no answer within ${timeoutMs} ms`, 'ETIMEDOUT')
    this.name = 'NetlinkTimeoutError'
    this.timeoutMs = timeoutMs
  }
}
