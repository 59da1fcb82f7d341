// Errors of the VM harness. Each has a code, and a cause a person can act on.
export class VmError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
    this.name = 'VmError'
  }
}

/** The kernel or initramfs is not in the cache: scripts/setup.sh builds them. */
export class VmImageMissingError extends VmError {
  constructor(readonly path: string) {
    super('EVMIMAGE', `no VM image at ${path}: run scripts/setup.sh (or scripts/vm/build-image.sh)`)
  }
}

/** A request the harness refuses before it starts anything. */
export class VmInputError extends VmError {
  constructor(message: string) {
    super('EVMINPUT', message)
  }
}

/** The guest did not report the command's exit status. */
export class VmBootError extends VmError {
  constructor(message: string, readonly console: string) {
    super('EVMBOOT', message)
  }
}

export class VmTimeoutError extends VmError {
  constructor(readonly seconds: number, readonly console: string) {
    super('EVMTIMEOUT', `the guest did not finish within ${seconds} s`)
  }
}
