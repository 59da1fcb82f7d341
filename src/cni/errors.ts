// CNI error codes (spec 1.1, "Error" section). 100+ are ours.
export const ErrCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  LimitedConnectivity: 51,
  // pontoon's own
  Internal: 100,
  PoolExhausted: 101,
  AddressInUse: 102,
  Netlink: 103,
  Delegate: 104,
  Check: 105,
  InterfaceExists: 106,
} as const
export type ErrCodeValue = (typeof ErrCode)[keyof typeof ErrCode]

/** An error that is reported to the runtime as the spec's error JSON. */
export class CniError extends Error {
  readonly code: number
  readonly details: string
  constructor(code: number, msg: string, details = '', options?: { cause?: unknown }) {
    super(msg, options)
    this.name = 'CniError'
    this.code = code
    this.details = details
  }

  toJSON(cniVersion: string): Record<string, unknown> {
    const out: Record<string, unknown> = { cniVersion, code: this.code, msg: this.message }
    const details = this.details || causeText(this.cause)
    if (details) out.details = details
    return out
  }
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) return cause.message
  return cause === undefined ? '' : String(cause)
}

/** Wrap anything thrown into a CniError, keeping ones that already are. */
export function asCniError(err: unknown, fallback: number = ErrCode.Internal): CniError {
  if (err instanceof CniError) return err
  const msg = err instanceof Error ? err.message : String(err)
  return new CniError(fallback, msg, '', { cause: err })
}
