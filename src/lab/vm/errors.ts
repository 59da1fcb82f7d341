// Errors of the lab in a VM: each has a code and says what to do.
export class LabVmError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabVmError'
    this.code = code
  }
}
