// Errors of `pontoon install` / `pontoon uninstall`. Each has a code and a cause a
// person can act on; every one is raised before the first write (the plan is
// checked whole against what is on disk first), so a refusal leaves nothing behind.
export class InstallError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
    this.name = 'InstallError'
  }
}

/** A flag or argument the installer refuses (relative path, unsafe unit argument...). */
export class InstallInputError extends InstallError {
  constructor(message: string) {
    super('EINSTALLINPUT', message)
  }
}

/** The source tree (dist/bin) lacks something the install needs. */
export class InstallSourceError extends InstallError {
  constructor(message: string) {
    super('EINSTALLSOURCE', message)
  }
}

/** A path the install would write holds something that is not pontoon's. */
export class InstallConflictError extends InstallError {
  constructor(readonly path: string, cause: string) {
    super('EINSTALLCONFLICT', `${path}: ${cause}; pontoon leaves it alone: move it away and run again`)
  }
}
