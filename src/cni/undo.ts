// An undo stack for ADD: each step that changes the system pushes its inverse,
// and a failure unwinds them newest-first, so a failed ADD leaves nothing behind.
export class Undo {
  private readonly steps: Array<{ what: string; fn: () => Promise<unknown> | unknown }> = []

  push(what: string, fn: () => Promise<unknown> | unknown): void {
    this.steps.push({ what, fn })
  }

  /** Run every inverse, newest first; returns what failed (undo keeps going past failures). */
  async unwind(): Promise<string[]> {
    const failed: string[] = []
    while (this.steps.length) {
      const s = this.steps.pop()!
      try { await s.fn() } catch (e) { failed.push(`${s.what}: ${(e as Error).message}`) }
    }
    return failed
  }

  /** Success: forget the inverses. */
  commit(): void {
    this.steps.length = 0
  }
}
