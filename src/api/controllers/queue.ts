// A deduplicating work queue drained on the next turn of the event loop, so a
// controller never writes from inside the store's event dispatch and a burst of
// events for one key costs one sync.
export class WorkQueue {
  private readonly keys = new Set<string>()
  private scheduled = false
  private stopped = false
  constructor(private readonly work: (key: string) => void, private readonly onError: (key: string, e: unknown) => void) {}

  add(key: string): void {
    if (this.stopped) return
    this.keys.add(key)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => this.drain())
    }
  }

  private drain(): void {
    this.scheduled = false
    const keys = [...this.keys]
    this.keys.clear()
    for (const k of keys) {
      if (this.stopped) return
      try {
        this.work(k)
      } catch (e) {
        this.onError(k, e)
      }
    }
  }

  stop(): void {
    this.stopped = true
    this.keys.clear()
  }
}
